"""Who an application is for, and whether the caller may apply for them (domain.md §6.3, architecture §3c).

- SELF: the signed-in resident.
- ENTERPRISE: an enterprise the session acts for (as its legal representative, or through a live 经办人
  authorization that covers the item).
- PRINCIPAL: a resident who authorized the caller (亲友代办 or guardianship) with a live authorization covering
  the item; the case is the principal's, the caller is recorded as the agent.

The acting session's assurance level must reach the item's minimum. Every refusal is a typed error and changes
nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from api.applications.materials import Wallet
from api.identity.tokens import AccessClaims
from api.kit.errors import Forbidden, InvalidInput, NotFound
from api.kit.pii import PiiCipher
from api.licenses import wallet as wallet_service
from api.models import (
    AgentAuthorization,
    AgentKind,
    Enterprise,
    Person,
    PrincipalType,
    ServiceItem,
)

PERSON_TYPE = "1"  # 服务对象 自然人
PERSON_ID_TYPE = "111"  # 居民身份证 (GA/T 2000.156)
USCC_ID_TYPE = "001"  # 统一社会信用代码


class ApplicantKind(StrEnum):
    SELF = "SELF"
    ENTERPRISE = "ENTERPRISE"
    PRINCIPAL = "PRINCIPAL"


@dataclass(frozen=True)
class ApplicantChoice:
    kind: ApplicantKind = ApplicantKind.SELF
    enterprise_id: uuid.UUID | None = None
    principal_person_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Applicant:
    applicant_type: str
    person_id: uuid.UUID | None
    enterprise_id: uuid.UUID | None
    name: str
    id_type: str
    id_no_hash: str
    agent_person_id: uuid.UUID | None
    legal_rep_name: str
    contact_name: str
    contact_mobile: str
    region_code: str
    submitter_name: str

    @property
    def wallet(self) -> Wallet:
        return Wallet(self.person_id if self.enterprise_id is None else None, self.enterprise_id)


def _live(row: AgentAuthorization, now: datetime) -> bool:
    return row.revoked_at is None and row.valid_from <= now < row.valid_to


def _covers(row: AgentAuthorization, task_code: str) -> bool:
    return row.scope_all or task_code in row.scope_service_codes


def check_level(claims: AccessClaims, item: ServiceItem) -> None:
    if claims.level < item.min_assurance_level:
        raise Forbidden(
            f"this service needs assurance level L{item.min_assurance_level}; verify your identity further first",
            code="ASSURANCE_TOO_LOW",
        )


def _serves(item: ServiceItem, person: bool) -> bool:
    if not item.server_types:
        return True
    return (PERSON_TYPE in item.server_types) if person else any(t != PERSON_TYPE for t in item.server_types)


async def _enterprise(
    claims: AccessClaims, enterprise_id: uuid.UUID | None, item: ServiceItem, now: datetime, pii: PiiCipher
) -> tuple[Enterprise, uuid.UUID | None]:
    if enterprise_id is None:
        raise InvalidInput("name the enterprise you apply for", path=["applicant", "enterpriseId"], code="REQUIRED")
    if not await wallet_service.acts_for_enterprise(claims, enterprise_id, now):
        raise Forbidden("you do not act for this enterprise", code="NOT_ACTING_FOR_ENTERPRISE")
    enterprise = await Enterprise.get(id=enterprise_id)
    agent: uuid.UUID | None = None
    if claims.acting_as_enterprise_id == enterprise_id and claims.agent_authorization_id is not None:
        row = await AgentAuthorization.get_or_none(id=claims.agent_authorization_id)
        if row is None or not _live(row, now) or not _covers(row, item.task_code):
            raise Forbidden("your authorization does not cover this service", code="AGENT_OUT_OF_SCOPE")
        agent = claims.subject  # a 经办人, not the legal representative
    return enterprise, agent


async def _principal(claims: AccessClaims, principal_id: uuid.UUID | None, item: ServiceItem, now: datetime) -> Person:
    if principal_id is None:
        raise InvalidInput("name the person you apply for", path=["applicant", "principalPersonId"], code="REQUIRED")
    rows = await AgentAuthorization.filter(
        principal_type=PrincipalType.PERSON,
        principal_id=principal_id,
        agent_person_id=claims.subject,
        kind__in=[AgentKind.FAMILY, AgentKind.GUARDIAN],
    )
    live = [row for row in rows if _live(row, now)]
    if not live:
        raise Forbidden("this person has not authorized you to apply for them", code="AGENT_NOT_AUTHORIZED")
    if not any(_covers(row, item.task_code) for row in live):
        raise Forbidden("the authorization does not cover this service", code="AGENT_OUT_OF_SCOPE")
    principal = await Person.get_or_none(id=principal_id)
    if principal is None:  # pragma: no cover - an authorization always names an existing person
        raise NotFound("no such person", path=["applicant", "principalPersonId"])
    return principal


async def resolve(
    claims: AccessClaims, choice: ApplicantChoice, item: ServiceItem, now: datetime, pii: PiiCipher
) -> Applicant:
    check_level(claims, item)
    caller = await Person.get(id=claims.subject)
    caller_name = caller.name or "申请人"
    mobile = caller.mobile or ""
    if choice.kind is ApplicantKind.ENTERPRISE:
        enterprise, agent = await _enterprise(claims, choice.enterprise_id, item, now, pii)
        if not _serves(item, person=False):
            raise Forbidden("this service is for residents, not enterprises", code="WRONG_AUDIENCE")
        return Applicant(
            applicant_type=enterprise.entity_type or "2",
            person_id=None,
            enterprise_id=enterprise.id,
            name=enterprise.name,
            id_type=USCC_ID_TYPE,
            id_no_hash=pii.lookup_hash(enterprise.uscc),
            agent_person_id=agent,
            legal_rep_name=enterprise.legal_rep_name,
            contact_name=caller_name,
            contact_mobile=mobile,
            region_code=enterprise.region_code,
            submitter_name=caller_name,
        )
    if not _serves(item, person=True):
        raise Forbidden("this service is for enterprises; act for your enterprise first", code="WRONG_AUDIENCE")
    person, agent_id = caller, None
    if choice.kind is ApplicantKind.PRINCIPAL:
        person, agent_id = await _principal(claims, choice.principal_person_id, item, now), claims.subject
    return Applicant(
        applicant_type=PERSON_TYPE,
        person_id=person.id,
        enterprise_id=None,
        name=person.name or caller_name,
        id_type=person.id_type or PERSON_ID_TYPE,
        id_no_hash=person.id_number_hash or "",
        agent_person_id=agent_id,
        legal_rep_name="",
        contact_name=caller_name,
        contact_mobile=mobile,
        region_code=person.region_code or item.region_code,
        submitter_name=caller_name,
    )
