"""法人空间 (domain.md §1 principle 7, §11.2 PolicyMatch): the enterprise page, for its legal representative or a live
经办人, read through one per-request loader.

Membership is decided like `api.identity.profile.enterprises_of`: the caller's ID hash is the enterprise's legal
representative's, or the caller holds a live, unrevoked STAFF authorization for it. With every section selected the
page costs 7 statements for the legal representative (the caller, the enterprise, licences, agents, policies, open
cases, unpaid bills) and one more for a 经办人 (the grant), however many licences, agents, policies or bills there are.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from api.kit.clock import Clock, shanghai_date
from api.kit.errors import Forbidden
from api.models import (
    AgentAuthorization,
    AgentKind,
    ELicense,
    Enterprise,
    LicenseStatus,
    Person,
    Policy,
    PrincipalType,
)
from api.pages import bills, cases, rules
from api.pages.personal import LICENSE_FIELDS

T = TypeVar("T")

MAX_LICENSES = 30
MAX_AGENTS = 20
MAX_POLICY_MATCHES = 10
MAX_APPLICATIONS = 10
MAX_PAYMENTS = 10


@dataclass(frozen=True)
class EnterpriseLicense:
    row: ELicense
    valid_to: date | None
    days_left: int | None


@dataclass(frozen=True)
class PolicyMatch:
    policy: Policy
    rules: list[rules.RuleMatch]


@dataclass(frozen=True)
class EnterpriseApplication:
    """One open case of the enterprise and what it does next."""

    id: uuid.UUID
    project_no: str
    service_name: str
    status: str
    next_action: str
    updated_at: datetime


PendingPayment = bills.BillDue


class EnterprisePage:
    """Built by `open_page` once the caller is known to be a member; sections load lazily, once each."""

    def __init__(self, clock: Clock, enterprise: Enterprise, role: str) -> None:
        self.enterprise = enterprise
        self.role = role  # LEGAL_REPRESENTATIVE | AGENT
        self.now = clock.now()
        self.today = shanghai_date(self.now)
        self._loaded: dict[str, asyncio.Future[Any]] = {}

    def _once(self, key: str, load: Callable[[], Coroutine[Any, Any, T]]) -> asyncio.Future[T]:
        found = self._loaded.get(key)
        if found is None:
            found = self._loaded[key] = asyncio.ensure_future(load())
        return found

    def licenses(self) -> asyncio.Future[list[EnterpriseLicense]]:
        return self._once("licenses", self._load_licenses)

    async def _load_licenses(self) -> list[EnterpriseLicense]:
        """Its VALID licences, soonest expiry first (licences without an end date last)."""
        rows = (
            await ELicense.filter(holder_enterprise_id=self.enterprise.id, status=LicenseStatus.VALID)
            .order_by("valid_to", "id")
            .limit(MAX_LICENSES)
            .only(*LICENSE_FIELDS)
        )
        found = [
            EnterpriseLicense(row, row.valid_to, rules.days_left(row.valid_to, self.today) if row.valid_to else None)
            for row in rows
        ]
        # NULLs sort first on SQLite and last on PostgreSQL: open-ended licences go last on both.
        return sorted(found, key=lambda lic: lic.valid_to is None)

    def agents(self) -> asyncio.Future[list[AgentAuthorization]]:
        return self._once("agents", self._load_agents)

    async def _load_agents(self) -> list[AgentAuthorization]:
        """Its live 经办人 grants with the agent person (one joined statement)."""
        rows: list[AgentAuthorization] = (
            await AgentAuthorization.filter(
                principal_type=PrincipalType.ENTERPRISE,
                principal_id=self.enterprise.id,
                kind=AgentKind.STAFF,
                revoked_at=None,
                valid_to__gt=self.now,
            )
            .select_related("agent_person")
            .order_by("valid_from", "id")
            .limit(MAX_AGENTS)
        )
        return rows

    def policy_matches(self) -> asyncio.Future[list[PolicyMatch]]:
        return self._once("policies", self._load_policies)

    async def _load_policies(self) -> list[PolicyMatch]:
        """ACTIVE policies valid now whose eligibility rules all hold on the enterprise, soonest ending first."""
        rows = await Policy.filter(status="ACTIVE", valid_from__lte=self.now, valid_to__gt=self.now).order_by(
            "valid_to", "code"
        )
        found: list[PolicyMatch] = []
        for policy in rows:
            matched = rules.match_policy(
                policy.eligibility or {},
                industry_code=self.enterprise.industry_code,
                size=self.enterprise.size.value,
                region_code=self.enterprise.region_code,
            )
            if matched is not None:
                found.append(PolicyMatch(policy, matched))
        return found[:MAX_POLICY_MATCHES]

    async def applications(self) -> list[EnterpriseApplication]:
        """The enterprise's open cases (and those still to rate or receive), each with its next action."""
        rows = await cases.open_cases(cases.OF_ENTERPRISE, self.enterprise.id, self.now, MAX_APPLICATIONS)
        return [
            EnterpriseApplication(
                id=r.id,
                project_no=r.project_no,
                service_name=r.service_name,
                status=r.status,
                next_action=r.next_action,
                updated_at=r.updated_at,
            )
            for r in rows
        ]

    async def pending_payments(self) -> list[PendingPayment]:
        """The enterprise's UNPAID bills, soonest due first."""
        return await bills.unpaid(enterprise_id=self.enterprise.id, limit=MAX_PAYMENTS)


async def open_page(clock: Clock, person_id: uuid.UUID, enterprise_id: uuid.UUID) -> EnterprisePage:
    """The page of an enterprise the caller may act for; Forbidden otherwise (an unknown enterprise included, so
    that the answer does not tell which enterprises exist)."""
    refused = Forbidden("you are not the legal representative or an authorised agent of this enterprise")
    me = await Person.filter(id=person_id).values("id_number_hash", "merged_into_id")
    enterprise = await Enterprise.get_or_none(id=enterprise_id)
    if not me or me[0]["merged_into_id"] is not None or enterprise is None:
        raise refused
    id_hash = me[0]["id_number_hash"]
    if id_hash and enterprise.legal_rep_id_hash == id_hash:
        return EnterprisePage(clock, enterprise, "LEGAL_REPRESENTATIVE")
    now = clock.now()
    live = await AgentAuthorization.filter(
        agent_person_id=person_id,
        kind=AgentKind.STAFF,
        principal_type=PrincipalType.ENTERPRISE,
        principal_id=enterprise_id,
        revoked_at=None,
        valid_from__lte=now,
        valid_to__gt=now,
    ).exists()
    if not live:
        raise refused
    return EnterprisePage(clock, enterprise, "AGENT")
