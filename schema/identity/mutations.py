"""Identity mutations: sign-in with every provider, sessions, bindings, agents, operator sign-in."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import strawberry

from api.identity import agents, bindings, operators, profile, sessions, signin, trust
from api.identity.tokens import AccessClaims
from api.kit.errors import AppError, InvalidInput, NotFound
from api.kit.ids import parse_uuid
from api.models import SessionChannel as ChannelRow
from schema.access import CitizenOnly, Public, SignedIn
from schema.context import Info
from schema.errors import (
    AnyError,
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    OtpRejectedError,
    ProviderFailedError,
    RateLimitedError,
    to_error,
)
from schema.identity import inputs
from schema.identity.types import AgentAuthorization, AuthPayload, Me, OperatorAuthPayload

T = TypeVar("T")


@strawberry.type(description="A code was sent by SMS.")
class SmsCodeSent:
    expires_in_seconds: int
    resend_after_seconds: int


@strawberry.type(description="Open `authorizationUrl` in a browser; the platform redirects back with code and state.")
class ProvinceSignInStarted:
    authorization_url: str
    state: str


@strawberry.type
class SignedOut:
    sessions_ended: int


@strawberry.type
class SessionRevoked:
    session_id: strawberry.ID


RequestSmsCodeResult = Annotated[
    SmsCodeSent | InvalidInputError | RateLimitedError | ProviderFailedError, strawberry.union("RequestSmsCodeResult")
]
SignInWithSmsResult = Annotated[
    AuthPayload | InvalidInputError | OtpRejectedError, strawberry.union("SignInWithSmsResult")
]
SignInWithWechatResult = Annotated[AuthPayload | ProviderFailedError, strawberry.union("SignInWithWechatResult")]
SignInWithAlipayResult = Annotated[AuthPayload | ProviderFailedError, strawberry.union("SignInWithAlipayResult")]
StartProvinceSignInResult = Annotated[
    ProvinceSignInStarted | ProviderFailedError, strawberry.union("StartProvinceSignInResult")
]
CompleteProvinceSignInResult = Annotated[
    AuthPayload | InvalidInputError | ConflictError | AuthenticationError | ProviderFailedError,
    strawberry.union("CompleteProvinceSignInResult"),
]
RefreshSessionResult = Annotated[
    AuthPayload | OperatorAuthPayload | AuthenticationError, strawberry.union("RefreshSessionResult")
]
SignOutResult = Annotated[SignedOut | AuthenticationError, strawberry.union("SignOutResult")]
RevokeSessionResult = Annotated[SessionRevoked | NotFoundError, strawberry.union("RevokeSessionResult")]
BindWechatResult = Annotated[
    Me | ConflictError | ForbiddenError | ProviderFailedError | AuthenticationError,
    strawberry.union("BindWechatResult"),
]
BindAlipayResult = Annotated[
    Me | ConflictError | ForbiddenError | ProviderFailedError | AuthenticationError,
    strawberry.union("BindAlipayResult"),
]
GrantAgentResult = Annotated[
    AgentAuthorization | InvalidInputError | NotFoundError | ForbiddenError, strawberry.union("GrantAgentResult")
]
GrantFamilyProxyResult = Annotated[
    AgentAuthorization | InvalidInputError | NotFoundError | ForbiddenError, strawberry.union("GrantFamilyProxyResult")
]
RevokeAgentResult = Annotated[
    AgentAuthorization | NotFoundError | ForbiddenError, strawberry.union("RevokeAgentResult")
]
ActAsResult = Annotated[
    AuthPayload | NotFoundError | ForbiddenError | AuthenticationError, strawberry.union("ActAsResult")
]
OperatorSignInResult = Annotated[
    OperatorAuthPayload | AuthenticationError | RateLimitedError, strawberry.union("OperatorSignInResult")
]


async def _guard(call: Callable[[], Awaitable[T]]) -> T | AnyError:
    try:
        return await call()
    except AppError as exc:
        return to_error(exc)


def _claims(info: Info) -> AccessClaims:
    claims = info.context.principal.claims
    assert claims is not None  # the field's permission class guarantees it
    return claims


def _uuid(value: str | None, field: str) -> uuid.UUID:
    parsed = parse_uuid(value or "")
    if parsed is None:
        raise InvalidInput("not a valid id", path=[field], code="INVALID_ID")
    return parsed


async def _auth_payload(info: Info, signed: signin.SignedIn) -> AuthPayload:
    return AuthPayload.build(info, signed.person, signed.tokens, new_account=signed.created)


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(permission_classes=[Public], description="Send a six-digit sign-in code by SMS.")
    async def request_sms_code(self, info: Info, input: inputs.RequestSmsCodeInput) -> RequestSmsCodeResult:
        ctx = info.context

        async def run() -> SmsCodeSent:
            sent = await signin.request_sms_code(ctx.identity, input.phone, ctx.principal.ip)
            return SmsCodeSent(
                expires_in_seconds=sent.expires_in_seconds, resend_after_seconds=sent.resend_after_seconds
            )

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[Public], description="Sign in (or register) with a phone and its SMS code."
    )
    async def sign_in_with_sms(self, info: Info, input: inputs.SignInWithSmsInput) -> SignInWithSmsResult:
        ctx = info.context

        async def run() -> AuthPayload:
            signed = await signin.with_sms(
                ctx.identity,
                input.phone,
                input.code,
                channel=ChannelRow(input.channel.value),
                device=input.device_name or ctx.device_name,
                ip=ctx.principal.ip,
            )
            return await _auth_payload(info, signed)

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=[Public], description="Sign in from the WeChat mini-program.")
    async def sign_in_with_wechat(self, info: Info, input: inputs.SignInWithWechatInput) -> SignInWithWechatResult:
        ctx = info.context

        async def run() -> AuthPayload:
            signed = await signin.with_wechat(
                ctx.identity, input.code, device=input.device_name or ctx.device_name, ip=ctx.principal.ip
            )
            return await _auth_payload(info, signed)

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=[Public], description="Sign in from the Alipay mini-program.")
    async def sign_in_with_alipay(self, info: Info, input: inputs.SignInWithAlipayInput) -> SignInWithAlipayResult:
        ctx = info.context

        async def run() -> AuthPayload:
            signed = await signin.with_alipay(
                ctx.identity, input.auth_code, device=input.device_name or ctx.device_name, ip=ctx.principal.ip
            )
            return await _auth_payload(info, signed)

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[Public], description="Begin signing in with the provincial identity platform."
    )
    async def start_province_sign_in(
        self, info: Info, input: inputs.StartProvinceSignInInput
    ) -> StartProvinceSignInResult:
        async def run() -> ProvinceSignInStarted:
            started = await signin.start_province(info.context.identity)
            return ProvinceSignInStarted(authorization_url=started.authorization_url, state=started.state)

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=[Public], description="Finish the provincial sign-in (trust transfer).")
    async def complete_province_sign_in(
        self, info: Info, input: inputs.CompleteProvinceSignInInput
    ) -> CompleteProvinceSignInResult:
        ctx = info.context

        async def run() -> AuthPayload:
            link: uuid.UUID | None = None
            if input.link_to_current_account:
                claims = ctx.principal.claims
                if claims is None or claims.kind != "citizen":
                    raise InvalidInput(
                        "sign in first to link an identity", path=["linkToCurrentAccount"], code="NOT_SIGNED_IN"
                    )
                link = claims.subject
            signed = await trust.complete_province(
                ctx.identity,
                input.code,
                input.state,
                link_person_id=link,
                channel=ChannelRow(input.channel.value),
                device=input.device_name or ctx.device_name,
                ip=ctx.principal.ip,
            )
            return await _auth_payload(info, signed)

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=[Public], description="Swap a refresh token for new tokens (rotation).")
    async def refresh_session(self, info: Info, input: inputs.RefreshSessionInput) -> RefreshSessionResult:
        deps = info.context.identity

        async def run() -> AuthPayload | OperatorAuthPayload:
            tokens = await sessions.refresh(deps, input.refresh_token)
            claims = tokens.claims
            if claims.kind == "operator":
                return OperatorAuthPayload.build(await profile.operator(claims.subject), tokens)
            return AuthPayload.build(info, await profile.person(claims.subject), tokens)

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[SignedIn], description="End this session, or every session of the account."
    )
    async def sign_out(self, info: Info, input: inputs.SignOutInput) -> SignOutResult:
        deps, claims = info.context.identity, _claims(info)

        async def run() -> SignedOut:
            families = [claims.family_id]
            if input.all_devices and claims.kind == "citizen":
                families = [row.family_id for row in await sessions.list_active(deps, claims.subject)]
            for family_id in set(families) | {claims.family_id}:
                await sessions.revoke_family(deps, family_id)
            return SignedOut(sessions_ended=len(set(families) | {claims.family_id}))

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=[CitizenOnly], description="Sign out one of your devices.")
    async def revoke_session(self, info: Info, input: inputs.RevokeSessionInput) -> RevokeSessionResult:
        deps, claims = info.context.identity, _claims(info)

        async def run() -> SessionRevoked:
            family_id = parse_uuid(input.session_id)
            if family_id is None:
                raise NotFound("no such session", path=["sessionId"])
            await sessions.revoke_own(deps, claims.subject, family_id)
            return SessionRevoked(session_id=input.session_id)

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=[CitizenOnly], description="Link your WeChat identity to this account.")
    async def bind_wechat(self, info: Info, input: inputs.BindWechatInput) -> BindWechatResult:
        deps, claims = info.context.identity, _claims(info)

        async def run() -> Me:
            return Me.from_row(info, await bindings.bind_wechat(deps, claims, input.code))

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=[CitizenOnly], description="Link your Alipay identity to this account.")
    async def bind_alipay(self, info: Info, input: inputs.BindAlipayInput) -> BindAlipayResult:
        deps, claims = info.context.identity, _claims(info)

        async def run() -> Me:
            return Me.from_row(info, await bindings.bind_alipay(deps, claims, input.auth_code))

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[CitizenOnly], description="Legal representative: authorise an agent (经办人)."
    )
    async def grant_agent(self, info: Info, input: inputs.GrantAgentInput) -> GrantAgentResult:
        deps, claims = info.context.identity, _claims(info)

        async def run() -> AgentAuthorization:
            phone = signin.require_mobile(input.agent_phone, "agentPhone")
            grant = agents.Grant(phone, input.valid_to, input.all_services, input.service_codes, input.note, "")
            row = await agents.grant_agent(deps, claims, _uuid(input.enterprise_id, "enterpriseId"), grant)
            return AgentAuthorization.from_row(row)

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[CitizenOnly], description="Authorise a relative to act for you (亲友代办)."
    )
    async def grant_family_proxy(self, info: Info, input: inputs.GrantFamilyProxyInput) -> GrantFamilyProxyResult:
        deps, claims = info.context.identity, _claims(info)

        async def run() -> AgentAuthorization:
            phone = signin.require_mobile(input.agent_phone, "agentPhone")
            grant = agents.Grant(
                phone, input.valid_to, input.all_services, input.service_codes, input.relationship, input.consent_text
            )
            return AgentAuthorization.from_row(await agents.grant_family_proxy(deps, claims, grant))

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=[CitizenOnly], description="Withdraw an authorization you granted.")
    async def revoke_agent(self, info: Info, input: inputs.RevokeAgentInput) -> RevokeAgentResult:
        deps, claims = info.context.identity, _claims(info)

        async def run() -> AgentAuthorization:
            authorization_id = parse_uuid(input.authorization_id)
            if authorization_id is None:
                raise NotFound("no such authorization", path=["authorizationId"])
            return AgentAuthorization.from_row(await agents.revoke(deps, claims, authorization_id))

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[CitizenOnly], description="Act for an enterprise (new tokens), or for yourself."
    )
    async def act_as(self, info: Info, input: inputs.ActAsInput) -> ActAsResult:
        deps, claims = info.context.identity, _claims(info)

        async def run() -> AuthPayload:
            enterprise_id = None
            if input.enterprise_id is not None:
                enterprise_id = parse_uuid(input.enterprise_id)
                if enterprise_id is None:
                    raise NotFound("no such enterprise", path=["enterpriseId"])
            tokens = await agents.act_as(deps, claims, enterprise_id)
            return AuthPayload.build(info, await profile.person(claims.subject), tokens)

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=[Public], description="Operator sign-in: password and TOTP code.")
    async def operator_sign_in(self, info: Info, input: inputs.OperatorSignInInput) -> OperatorSignInResult:
        ctx = info.context

        async def run() -> OperatorAuthPayload:
            tokens = await operators.sign_in(
                ctx.identity,
                input.username,
                input.password,
                input.totp_code,
                device=input.device_name or ctx.device_name,
                ip=ctx.principal.ip,
            )
            claims = tokens.claims
            return OperatorAuthPayload.build(await profile.operator(claims.subject), tokens)

        return await _guard(run)  # type: ignore[return-value]
