"""Sign-in with each provider; every path ends in one session family with the level it proved."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import orjson

from api.identity import accounts, otp, sessions
from api.identity.deps import IdentityDeps
from api.identity.sessions import SessionStart, TokenPair
from api.kit.codes import normalize_mobile
from api.kit.errors import InvalidInput, ProviderError
from api.models import AssuranceLevel, AuthMethod, BindingProvider, Person, SessionChannel
from api.platforms.province_sso import ProvinceIdentity, pkce_pair

_SSO_STATE_TTL_SECONDS = 600


@dataclass(frozen=True)
class SignedIn:
    person: Person
    tokens: TokenPair
    created: bool


def require_mobile(raw: str, path: str = "phone") -> str:
    phone = normalize_mobile(raw)
    if phone is None:
        raise InvalidInput("not a mainland mobile number", path=[path], code="INVALID_PHONE")
    return phone


async def request_sms_code(deps: IdentityDeps, raw_phone: str, ip: str) -> otp.CodeSent:
    return await otp.send_code(deps, require_mobile(raw_phone), ip)


async def start_session(deps: IdentityDeps, person: Person, start: SessionStart) -> TokenPair:
    level = accounts.session_level(person, start.level)
    return await sessions.start_for_person(
        deps, person.id, SessionStart(start.method, level, start.channel, start.device_name, start.ip)
    )


async def with_sms(
    deps: IdentityDeps, raw_phone: str, code: str, *, channel: SessionChannel, device: str, ip: str
) -> SignedIn:
    phone = require_mobile(raw_phone)
    await otp.consume_code(deps, phone, code)
    before = await accounts.person_by_binding(BindingProvider.APP, phone)
    person = await accounts.find_or_create(deps, BindingProvider.APP, phone, mobile=phone)
    tokens = await start_session(deps, person, SessionStart(AuthMethod.SMS, AssuranceLevel.L0, channel, device, ip))
    return SignedIn(person, tokens, created=before is None and person.assurance_level == AssuranceLevel.L0)


async def with_wechat(deps: IdentityDeps, code: str, *, device: str, ip: str) -> SignedIn:
    session = await deps.wechat.code_to_session(code)
    before = await accounts.person_by_binding(BindingProvider.WECHAT, session.openid)
    person = await accounts.find_or_create(deps, BindingProvider.WECHAT, session.openid, union_id=session.unionid)
    tokens = await start_session(
        deps, person, SessionStart(AuthMethod.WECHAT, AssuranceLevel.L0, SessionChannel.WECHAT_MP, device, ip)
    )
    return SignedIn(person, tokens, created=before is None)


async def with_alipay(deps: IdentityDeps, auth_code: str, *, device: str, ip: str) -> SignedIn:
    token = await deps.alipay.oauth_token(auth_code)
    before = await accounts.person_by_binding(BindingProvider.ALIPAY, token.user_id)
    person = await accounts.find_or_create(deps, BindingProvider.ALIPAY, token.user_id, union_id=token.open_id)
    tokens = await start_session(
        deps, person, SessionStart(AuthMethod.ALIPAY, AssuranceLevel.L0, SessionChannel.ALIPAY_MP, device, ip)
    )
    return SignedIn(person, tokens, created=before is None)


@dataclass(frozen=True)
class SsoStart:
    authorization_url: str
    state: str


async def start_province(deps: IdentityDeps) -> SsoStart:
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier, challenge = pkce_pair()
    await deps.redis.set(
        f"sso:{state}", orjson.dumps({"verifier": verifier, "nonce": nonce}), ex=_SSO_STATE_TTL_SECONDS
    )
    url = await deps.province_sso.authorization_url(state=state, nonce=nonce, code_challenge=challenge)
    return SsoStart(url, state)


async def exchange_province(deps: IdentityDeps, code: str, state: str) -> ProvinceIdentity:
    # GETDEL makes the state single-use: a replayed callback finds nothing.
    raw = await deps.redis.getdel(f"sso:{state}")
    if raw is None:
        raise InvalidInput("unknown or expired sign-in state; start again", path=["state"], code="SSO_STATE_INVALID")
    pending = orjson.loads(raw)
    try:
        return await deps.province_sso.exchange_code(
            code=code, code_verifier=pending["verifier"], nonce=pending["nonce"]
        )
    except ProviderError as exc:
        raise InvalidInput(exc.message, path=["code"], code=exc.code) from exc
