"""Synthetic residents, enterprises and licences for segment and campaign tests. Every test draws a fresh region
code ("99" then a digit from 5 to 9: the demo seed uses 9901…), so counts are exact beside the seeded data."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, date, datetime
from typing import Any

import fakeredis

from api.kit.clock import SettableClock
from api.models.applications import Application, ApplicationChannel, ApplicationStatus
from api.models.identity import AgentAuthorization, AgentKind, Enterprise, EnterpriseSize, Person, PrincipalType
from api.models.licenses import ELicense, LicenseStatus
from api.settings import NotificationsSettings
from notifications.deps import NotificationsDeps
from tests.support.client import LiveServer

# 10:00 in Shanghai on an ordinary day.
MORNING = datetime(2031, 3, 3, 2, 0, tzinfo=UTC)


def make_deps(live: LiveServer, at: datetime = MORNING, **settings: Any) -> NotificationsDeps:
    clock = SettableClock(live.clock)
    clock.set(at)
    return NotificationsDeps(
        clock=clock,
        redis=fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=False),
        settings=NotificationsSettings(**settings),
    )


def fresh_district() -> str:
    """A 6-digit district code no other test and no seed row uses."""
    return f"99{secrets.choice('56789')}{secrets.randbelow(1000):03d}"


def _digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


async def person(
    district: str,
    *,
    born: date = date(1980, 5, 5),
    name: str = "王小明",
    gender: str = "1",
    town: str = "000",
    mobile: str | None = None,
) -> Person:
    return await Person.create(
        name=name,
        id_number_hash=secrets.token_hex(32),
        gender=gender,
        birth_date=born,
        mobile=mobile or f"139{_digits(8)}",
        region_code=f"{district}{town}000",
    )


async def enterprise(
    district: str, rep: Person, *, industry: str = "H6210", size: EnterpriseSize = EnterpriseSize.SMALL
) -> Enterprise:
    return await Enterprise.create(
        uscc=f"91{_digits(16)}",
        name=f"测试企业{_digits(4)}有限公司",
        legal_rep_name=rep.name,
        legal_rep_id_hash=rep.id_number_hash,
        region_code=f"{district}000000",
        industry_code=industry,
        size=size,
    )


async def staff_agent(company: Enterprise, agent: Person, *, at: datetime = MORNING) -> AgentAuthorization:
    return await AgentAuthorization.create(
        principal_type=PrincipalType.ENTERPRISE,
        principal_id=company.id,
        agent_person=agent,
        kind=AgentKind.STAFF,
        scope_all=True,
        valid_from=datetime(2020, 1, 1, tzinfo=UTC),
        valid_to=datetime(2040, 1, 1, tzinfo=UTC),
        granted_by_person_id=uuid.uuid4(),
    )


async def licence(
    district: str,
    valid_to: date | None,
    *,
    holder: Enterprise | Person,
    type_code: str = "T990001",
    status: LicenseStatus = LicenseStatus.VALID,
) -> ELicense:
    by_enterprise = isinstance(holder, Enterprise)
    return await ELicense.create(
        cert_identifier=f"test.{uuid.uuid4().hex}",
        type_code=type_code,
        type_name="测试许可证",
        cert_number=_digits(10),
        name="食品经营许可证",
        issuer_name="测试市场监督管理局",
        issuer_uscc=f"11{_digits(16)}",
        area_code=f"{district}000000",
        holder_name=holder.name,
        holder_id_type="049" if by_enterprise else "111",
        holder_id_hash=secrets.token_hex(32),
        holder_person_id=None if by_enterprise else holder.id,
        holder_enterprise_id=holder.id if by_enterprise else None,
        issue_date=date(2020, 1, 1),
        valid_from=date(2020, 1, 1),
        valid_to=valid_to,
        status=status,
    )


async def application(applicant: Person, status: ApplicationStatus, *, task_code: str = "TASK0001") -> Application:
    return await Application.create(
        submitted_by_person_id=applicant.id,
        service_item_id=uuid.uuid4(),
        service_item_version=1,
        task_code=task_code,
        item_name="测试事项",
        applicant_type="1",
        applicant_person_id=applicant.id,
        applicant_name=applicant.name,
        applicant_id_type="111",
        channel=ApplicationChannel.APP,
        region_code=applicant.region_code or "",
        accepting_org_id=uuid.uuid4(),
        status=status,
        project_type="1",
        apply_time=MORNING,
    )
