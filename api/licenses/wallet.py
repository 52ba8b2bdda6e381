"""The holder's side of the wallet: which licences a caller holds, their use records, and access to one licence.

A licence is the caller's when it is held by the caller's person, or by an enterprise the caller acts for: as its
legal representative (matched by ID hash, as identity does) or through the session's acting enterprise backed by
a live 经办人 authorization. Every check reads the rows, so a revoked authorization takes effect at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from tortoise.expressions import Q

from api.identity.tokens import AccessClaims
from api.kit.clock import Clock, shanghai_date
from api.kit.errors import Forbidden, NotFound
from api.kit.pagination import Page, clamp_first, encode_cursor, moment_id_after
from api.models import (
    AgentAuthorization,
    ELicense,
    Enterprise,
    LicenseStatus,
    LicenseUse,
    Operator,
    Organization,
    Person,
    VerifierApp,
)


def expires_in_days(licence: ELicense, today: date) -> int | None:
    """Whole days from `today` (Asia/Shanghai) to the last valid day; negative once past, None when open-ended."""
    return None if licence.valid_to is None else (licence.valid_to - today).days


async def acts_for_enterprise(claims: AccessClaims, enterprise_id: uuid.UUID, now: datetime) -> bool:
    if claims.acting_as_enterprise_id == enterprise_id:
        if claims.agent_authorization_id is None:
            return True  # the session was rotated to act as the legal representative
        row = await AgentAuthorization.get_or_none(id=claims.agent_authorization_id)
        if row is not None and row.revoked_at is None and row.valid_from <= now < row.valid_to:
            return True
    enterprise = await Enterprise.get_or_none(id=enterprise_id)
    if enterprise is None:
        return False
    person = await Person.get_or_none(id=claims.subject)
    return bool(person and person.id_number_hash and person.id_number_hash == enterprise.legal_rep_id_hash)


@dataclass(frozen=True)
class Holders:
    person_id: uuid.UUID
    enterprise_id: uuid.UUID | None  # the acting enterprise, when the session acts for one

    def q(self) -> Q:
        found = Q(holder_person_id=self.person_id)
        return found | Q(holder_enterprise_id=self.enterprise_id) if self.enterprise_id else found


async def holders_of(claims: AccessClaims, now: datetime) -> Holders:
    acting = claims.acting_as_enterprise_id
    if acting is not None and not await acts_for_enterprise(claims, acting, now):
        acting = None
    return Holders(claims.subject, acting)


async def owned_licence(claims: AccessClaims, licence_id: uuid.UUID, now: datetime, *, field: str) -> ELicense:
    """The licence if the caller holds it; someone else's is reported exactly like a missing one."""
    licence = await ELicense.get_or_none(id=licence_id)
    if licence is not None:
        if licence.holder_person_id is not None and licence.holder_person_id == claims.subject:
            return licence
        if licence.holder_enterprise_id is not None and await acts_for_enterprise(
            claims, licence.holder_enterprise_id, now
        ):
            return licence
    raise NotFound("no such licence in your wallet", path=[field], code="LICENSE_NOT_FOUND")


def _page(rows: Sequence[ELicense] | Sequence[LicenseUse], first: int) -> tuple[list[str], bool]:
    shown = rows[:first]
    cursors = [encode_cursor([row.created_at.isoformat(), str(row.id)]) for row in shown]
    return cursors, len(rows) > first


async def licences(q: Q, first: int | None, after: str | None) -> Page[ELicense]:
    n = clamp_first(first)
    rows = await ELicense.filter(q & moment_id_after(after, "created_at")).order_by("-created_at", "-id").limit(n + 1)
    cursors, more = _page(rows, n)
    return Page(rows[:n], cursors, more)


async def my_licences(
    claims: AccessClaims, now: datetime, first: int | None, after: str | None, status: LicenseStatus | None
) -> Page[ELicense]:
    q = Q(holder_person_id=claims.subject)
    if status is not None:
        q &= Q(status=status)
    return await licences(q, first, after)


async def enterprise_licences(
    claims: AccessClaims, enterprise_id: uuid.UUID, now: datetime, first: int | None, after: str | None
) -> Page[ELicense]:
    if not await acts_for_enterprise(claims, enterprise_id, now):
        raise Forbidden("you do not act for this enterprise", code="NOT_ACTING_FOR_ENTERPRISE")
    return await licences(Q(holder_enterprise_id=enterprise_id), first, after)


@dataclass(frozen=True)
class UseRecord:
    use: LicenseUse
    licence: ELicense
    verifier_kind: str  # HOLDER, VERIFIER_APP or OPERATOR
    verifier_name: str


async def describe_uses(rows: Sequence[LicenseUse]) -> list[UseRecord]:
    """Who did it, in words the holder understands: the app's name, or the operator's department."""
    licences_by_id = {r.id: r for r in await ELicense.filter(id__in={u.elicense_id for u in rows})}
    apps = {
        a.id: a.name for a in await VerifierApp.filter(id__in={u.verifier_app_id for u in rows if u.verifier_app_id})
    }
    orgs = {
        o.id: o.name for o in await Organization.filter(id__in={u.verifier_org_id for u in rows if u.verifier_org_id})
    }
    operator_ids = {u.actor_operator_id for u in rows if u.actor_operator_id}
    operators = {o.id: o.name for o in await Operator.filter(id__in=operator_ids)} if operator_ids else {}
    records = []
    for use in rows:
        if use.verifier_app_id is not None:
            kind, name = "VERIFIER_APP", apps.get(use.verifier_app_id, "")
        elif use.actor_operator_id is not None:
            org = orgs.get(use.verifier_org_id) if use.verifier_org_id else None
            kind, name = "OPERATOR", org or operators.get(use.actor_operator_id, "政务服务工作人员")
        else:
            kind, name = "HOLDER", "本人"
        records.append(UseRecord(use, licences_by_id[use.elicense_id], kind, name))
    return records


async def my_uses(claims: AccessClaims, now: datetime, first: int | None, after: str | None) -> Page[UseRecord]:
    holders = await holders_of(claims, now)
    ids = await ELicense.filter(holders.q()).values_list("id", flat=True)
    n = clamp_first(first)
    rows = (
        await LicenseUse.filter(Q(elicense_id__in=list(ids)) & moment_id_after(after, "created_at"))
        .order_by("-created_at", "-id")
        .limit(n + 1)
    )
    cursors, more = _page(rows, n)
    return Page(await describe_uses(rows[:n]), cursors, more)


def today(clock: Clock) -> date:
    return shanghai_date(clock.now())
