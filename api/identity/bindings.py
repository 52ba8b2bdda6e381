"""Explicit, authenticated binding of a WeChat or Alipay identity to the caller's account.

Only a session that proved a verified phone or a higher-level identity may bind (a bare WeChat session must not
be able to pull an Alipay identity into itself and vice versa). When the identity already has a bare account of
its own (nothing but that one binding, level L0), that account is merged into the caller's and its sessions end;
any richer account is refused, since joining two real accounts needs a person at a window.
"""

from __future__ import annotations

import uuid

from tortoise.transactions import in_transaction

from api.identity import sessions
from api.identity.deps import IdentityDeps
from api.identity.tokens import AccessClaims
from api.kit.errors import Conflict, Forbidden
from api.models import AssuranceLevel, AuthMethod, BindingProvider, IdentityBinding, Person, Session

_STRONG_METHODS = {AuthMethod.SMS, AuthMethod.PROVINCE_SSO}


async def _require_strong_session(claims: AccessClaims) -> None:
    row = await sessions.current_row(claims.family_id)
    if row.auth_method not in _STRONG_METHODS and claims.level < AssuranceLevel.L1:
        raise Forbidden(
            "sign in with your phone or the provincial identity platform before binding",
            code="BIND_NEEDS_STRONG_SIGN_IN",
        )


async def bind_wechat(deps: IdentityDeps, claims: AccessClaims, code: str) -> Person:
    await _require_strong_session(claims)
    session = await deps.wechat.code_to_session(code)
    return await _bind(deps, claims.subject, BindingProvider.WECHAT, session.openid, session.unionid)


async def bind_alipay(deps: IdentityDeps, claims: AccessClaims, auth_code: str) -> Person:
    await _require_strong_session(claims)
    token = await deps.alipay.oauth_token(auth_code)
    return await _bind(deps, claims.subject, BindingProvider.ALIPAY, token.user_id, token.open_id)


async def _bind(
    deps: IdentityDeps, person_id: uuid.UUID, provider: BindingProvider, subject_id: str, union_id: str | None
) -> Person:
    person = await Person.get(id=person_id)
    existing = await IdentityBinding.get_or_none(provider=provider, subject_id=subject_id)
    if existing is not None and existing.person_id == person_id:  # type: ignore[attr-defined]
        return person
    own = await IdentityBinding.filter(person_id=person_id, provider=provider).exists()
    if own:
        raise Conflict(f"your account already has a {provider.value} identity", code="PROVIDER_ALREADY_BOUND")
    merged_families: list[uuid.UUID] = []
    async with in_transaction():
        if existing is None:
            await IdentityBinding.create(
                person_id=person_id,
                provider=provider,
                subject_id=subject_id,
                union_id=union_id,
                linked_at=deps.clock.now(),
            )
        else:
            other_id: uuid.UUID = existing.person_id  # type: ignore[attr-defined]
            if not await _is_bare(other_id):
                raise Conflict("this identity belongs to another account", code="IDENTITY_ALREADY_BOUND")
            existing.person_id = person_id
            existing.linked_at = deps.clock.now()
            await existing.save(update_fields=["person_id", "linked_at"])
            await Person.filter(id=other_id).update(merged_into_id=person_id)
            rows = (
                await Session.filter(person_id=other_id, revoked_at=None).distinct().values_list("family_id", flat=True)
            )
            merged_families = [uuid.UUID(str(family_id)) for family_id in rows]
    for family_id in merged_families:
        await sessions.revoke_family(deps, family_id)
    return person


async def _is_bare(person_id: uuid.UUID) -> bool:
    other = await Person.get(id=person_id)
    bindings = await IdentityBinding.filter(person_id=person_id).count()
    return (
        bindings == 1
        and other.assurance_level == AssuranceLevel.L0
        and other.mobile is None
        and other.id_number_hash is None
    )
