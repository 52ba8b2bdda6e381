"""Read side of identity for the API: the caller's person, bindings, enterprises and operator account."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from api.identity.deps import IdentityDeps
from api.kit.errors import Unauthenticated
from api.kit.pii import mask_id_number
from api.models import AgentAuthorization, AgentKind, Enterprise, IdentityBinding, Operator, Person, PrincipalType


async def person(person_id: uuid.UUID) -> Person:
    row = await Person.get_or_none(id=person_id)
    if row is None or row.merged_into_id is not None:
        raise Unauthenticated("this account no longer exists", code="ACCOUNT_GONE")
    return row


def masked_id_number(deps: IdentityDeps, row: Person) -> str | None:
    if not row.id_number_encrypted:
        return None
    return mask_id_number(deps.pii.decrypt(row.id_number_encrypted))


async def bindings_of(person_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[IdentityBinding]]:
    grouped: dict[uuid.UUID, list[IdentityBinding]] = {pid: [] for pid in person_ids}
    for row in await IdentityBinding.filter(person_id__in=person_ids).order_by("linked_at"):
        grouped[row.person_id].append(row)  # type: ignore[attr-defined]
    return grouped


async def enterprises_by_id(ids: list[uuid.UUID]) -> dict[uuid.UUID, Enterprise]:
    return {row.id: row for row in await Enterprise.filter(id__in=ids)}


@dataclass(frozen=True)
class Membership:
    enterprise: Enterprise
    role: str  # LEGAL_REPRESENTATIVE | AGENT
    authorization: AgentAuthorization | None


async def enterprises_of(deps: IdentityDeps, person_id: uuid.UUID) -> list[Membership]:
    """The enterprises the person may act for: as legal representative, or through a live 经办人 grant."""
    me = await person(person_id)
    now = deps.clock.now()
    memberships: list[Membership] = []
    if me.id_number_hash:
        for row in await Enterprise.filter(legal_rep_id_hash=me.id_number_hash).order_by("name"):
            memberships.append(Membership(row, "LEGAL_REPRESENTATIVE", None))
    grants = await AgentAuthorization.filter(
        agent_person_id=person_id,
        kind=AgentKind.STAFF,
        principal_type=PrincipalType.ENTERPRISE,
        revoked_at=None,
        valid_from__lte=now,
        valid_to__gt=now,
    )
    by_id = await enterprises_by_id([grant.principal_id for grant in grants])
    memberships += [Membership(by_id[g.principal_id], "AGENT", g) for g in grants if g.principal_id in by_id]
    return memberships


async def operator(operator_id: uuid.UUID) -> Operator:
    row = await Operator.get_or_none(id=operator_id)
    if row is None or row.disabled_at is not None:
        # The token outlived the account: the caller must sign in again (which then fails).
        raise Unauthenticated("operator account not found or disabled")
    return row
