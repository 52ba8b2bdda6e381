"""Sessions: one family per sign-in on a device, rotating opaque refresh tokens stored hashed.

Reuse of a spent refresh token is treated as theft: the whole family is revoked, and its access tokens stop
working at once through a short-lived revocation mark in Redis (checked on every request).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from api.identity.deps import IdentityDeps
from api.identity.tokens import AccessClaims
from api.kit.errors import NotFound, Unauthenticated
from api.kit.ids import new_id, opaque_token, sha256_hex
from api.models import (
    AgentAuthorization,
    AssuranceLevel,
    AuthMethod,
    Operator,
    Session,
    SessionChannel,
)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    session_id: uuid.UUID
    claims: AccessClaims  # what the access token says, so that callers need not verify what they just issued


@dataclass(frozen=True)
class SessionStart:
    method: AuthMethod
    level: AssuranceLevel
    channel: SessionChannel
    device_name: str
    ip: str


def revoked_key(family_id: uuid.UUID) -> str:
    """The mark that stops the access tokens of a revoked family (present while any of them could be alive)."""
    return f"sess:revoked:{family_id}"


async def is_revoked(deps: IdentityDeps, family_id: uuid.UUID) -> bool:
    return bool(await deps.redis.exists(revoked_key(family_id)))


async def _mark_revoked(deps: IdentityDeps, family_ids: list[uuid.UUID]) -> None:
    ttl = int(deps.tokens.ttl.total_seconds()) + 60
    async with deps.redis.pipeline(transaction=False) as pipe:
        for family_id in family_ids:
            pipe.set(revoked_key(family_id), b"1", ex=ttl)
        await pipe.execute()


def _claims_for(
    row: Session, *, roles: tuple[str, ...], department_id: uuid.UUID | None, expires_at: datetime
) -> AccessClaims:
    subject = row.person_id or row.operator_id
    assert subject is not None
    return AccessClaims(
        subject=subject,
        kind="citizen" if row.person_id else "operator",
        family_id=row.family_id,
        level=int(row.assurance_level),
        expires_at=expires_at,
        acting_as_enterprise_id=row.acting_as_enterprise_id,
        agent_authorization_id=row.agent_authorization_id,
        roles=roles,
        department_id=department_id,
    )


def _pair(
    deps: IdentityDeps,
    row: Session,
    refresh_token: str,
    *,
    roles: tuple[str, ...] = (),
    department_id: uuid.UUID | None = None,
) -> TokenPair:
    expires_at = deps.tokens.expiry_from_now()
    claims = _claims_for(row, roles=roles, department_id=department_id, expires_at=expires_at)
    return TokenPair(deps.tokens.issue(claims), expires_at, refresh_token, row.expires_at, row.family_id, claims)


def _new_row(
    deps: IdentityDeps, *, family_id: uuid.UUID, template: Session | None = None, **fields: object
) -> tuple[Session, str]:
    refresh_token = opaque_token()
    base: dict[str, object] = {}
    if template is not None:
        base = {
            name: getattr(template, name)
            for name in (
                "person_id",
                "operator_id",
                "acting_as_enterprise_id",
                "agent_authorization_id",
                "auth_method",
                "assurance_level",
                "channel",
                "device_name",
                "ip",
                "expires_at",
            )
        }
    base.update(fields)
    # created_at from the injectable clock: it is the "last refreshed" time devices are listed with.
    row = Session(
        id=new_id(),
        family_id=family_id,
        refresh_token_hash=sha256_hex(refresh_token),
        created_at=deps.clock.now(),
        **base,
    )
    return row, refresh_token


async def start_for_person(deps: IdentityDeps, person_id: uuid.UUID, start: SessionStart) -> TokenPair:
    row, refresh_token = _new_row(
        deps,
        family_id=new_id(),
        person_id=person_id,
        auth_method=start.method,
        assurance_level=start.level,
        channel=start.channel,
        device_name=start.device_name[:128],
        ip=start.ip,
        expires_at=deps.clock.now() + timedelta(days=deps.auth.refresh_ttl_days),
    )
    await row.save()
    return _pair(deps, row, refresh_token)


async def start_for_operator(deps: IdentityDeps, operator: Operator, start: SessionStart) -> TokenPair:
    # Operator sessions are short: a console left open overnight must sign in again.
    row, refresh_token = _new_row(
        deps,
        family_id=new_id(),
        operator_id=operator.id,
        auth_method=start.method,
        assurance_level=AssuranceLevel.L0,
        channel=SessionChannel.OPERATOR_CONSOLE,
        device_name=start.device_name[:128],
        ip=start.ip,
        expires_at=deps.clock.now() + timedelta(hours=12),
    )
    await row.save()
    return _pair(deps, row, refresh_token, roles=tuple(operator.roles), department_id=operator.department_id)


async def rotate(deps: IdentityDeps, current: Session, **changes: object) -> TokenPair:
    """Replace `current` by a new row of the same family (refresh, or a change of acting enterprise)."""
    roles: tuple[str, ...] = ()
    department_id: uuid.UUID | None = None
    if current.operator_id:
        operator = await Operator.get_or_none(id=current.operator_id)
        if operator is None or operator.disabled_at is not None:
            raise Unauthenticated("operator account disabled")
        roles, department_id = tuple(operator.roles), operator.department_id
    async with in_transaction():
        row, refresh_token = _new_row(deps, family_id=current.family_id, template=current, **changes)
        await row.save()
        # Conditional update: of two concurrent rotations of one token exactly one wins, on every database.
        won = await Session.filter(id=current.id, replaced_by_id=None, revoked_at=None).update(replaced_by_id=row.id)
        if not won:
            raise _ReuseDetected
    return _pair(deps, row, refresh_token, roles=roles, department_id=department_id)


class _ReuseDetected(Exception):
    pass


async def refresh(deps: IdentityDeps, refresh_token: str) -> TokenPair:
    now = deps.clock.now()
    current = await Session.get_or_none(refresh_token_hash=sha256_hex(refresh_token))
    if current is None:
        raise Unauthenticated("unknown refresh token", code="INVALID_REFRESH_TOKEN")
    if current.revoked_at is not None:
        raise Unauthenticated("this session was signed out", code="SESSION_REVOKED")
    if current.replaced_by_id is not None:
        await revoke_family(deps, current.family_id)
        raise Unauthenticated("refresh token reused: the session was revoked", code="REFRESH_TOKEN_REUSED")
    if current.expires_at <= now:
        raise Unauthenticated("session expired", code="SESSION_EXPIRED")
    changes: dict[str, object] = {}
    if current.agent_authorization_id and not await _authorization_still_valid(current.agent_authorization_id, now):
        changes = {"acting_as_enterprise_id": None, "agent_authorization_id": None}
    try:
        return await rotate(deps, current, **changes)
    except _ReuseDetected:
        await revoke_family(deps, current.family_id)
        raise Unauthenticated("refresh token reused: the session was revoked", code="REFRESH_TOKEN_REUSED") from None


async def _authorization_still_valid(authorization_id: uuid.UUID, now: datetime) -> bool:
    return await AgentAuthorization.filter(
        id=authorization_id, revoked_at=None, valid_from__lte=now, valid_to__gt=now
    ).exists()


async def revoke_family(deps: IdentityDeps, family_id: uuid.UUID) -> None:
    await Session.filter(family_id=family_id, revoked_at=None).update(revoked_at=deps.clock.now())
    await _mark_revoked(deps, [family_id])


async def current_row(family_id: uuid.UUID) -> Session:
    row = await Session.filter(family_id=family_id, replaced_by_id=None, revoked_at=None).first()
    if row is None:
        raise Unauthenticated("session ended", code="SESSION_REVOKED")
    return row


async def list_active(deps: IdentityDeps, person_id: uuid.UUID) -> list[Session]:
    """One row per device: the live head of each family."""
    return await Session.filter(
        person_id=person_id, replaced_by_id=None, revoked_at=None, expires_at__gt=deps.clock.now()
    ).order_by("-created_at")


async def revoke_own(deps: IdentityDeps, person_id: uuid.UUID, family_id: uuid.UUID) -> None:
    if not await Session.filter(person_id=person_id, family_id=family_id).exists():
        raise NotFound("no such session", path=["sessionId"])
    await revoke_family(deps, family_id)
