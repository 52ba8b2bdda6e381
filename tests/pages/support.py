"""Builders for the page tests: accounts, licences, items, views, wards and enterprises written through the models,
and a counter of the SQL statements the live server runs during one request."""

from __future__ import annotations

import contextlib
import itertools
import random
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from tortoise import connections

from api.catalog import search
from api.kit.clock import shanghai_date
from api.kit.logging import request_id_var
from api.kit.redis import Redis
from api.models import (
    AgentAuthorization,
    AgentKind,
    Bill,
    BillKind,
    BillStatus,
    Bundle,
    CatalogItem,
    ELicense,
    Enterprise,
    EnterpriseSize,
    InboxItem,
    ItemStatus,
    LicenseStatus,
    NoticeCategory,
    Person,
    PrincipalType,
    ServiceItem,
    ServiceView,
)
from tests.support.client import Api, Session

_serial = itertools.count(1)
# Provinces 90–98 are unassigned in GB/T 2260 (the seed uses 99): 900 test cities, one per call in a session, so
# that one test's popular items never rank in another test's city.
_cities = itertools.count(random.randrange(900))


def fresh_district() -> str:
    """A 12-digit district code in a city no other call of this session returned."""
    n = next(_cities) % 900
    return f"{90 + n // 100}{n % 100:02d}01000000"


CATALOG_REDIS: list[Redis] = []  # the live server's Redis, set by tests/pages/conftest.py


async def published() -> None:
    """What every publish, suspension or cancellation does: bump the catalog version."""
    for redis in CATALOG_REDIS:
        await search.invalidate(redis)


HOME = """
query Home {
  myHomePage {
    applicationsInProgress { id projectNo serviceName status nextAction nextActionText updatedAt }
    billsDue { id title amountFen amountYuan dueAt applicationId billNo kind issuer }
    expiringLicenses { id name typeCode typeName certNumber issuerName validTo daysLeft }
    unreadMessageCount
    recommendations {
      reason text lifeEvent licenseId
      item { id serviceCode name version regionCode onlineDepthLevel mobileUrl }
      bundle { id code name }
    }
    shortcuts { key title icon route }
  }
}
"""
ENTERPRISE_HOME = """
query EnterpriseHome($id: ID!) {
  enterpriseHomePage(enterpriseId: $id) {
    enterprise { id uscc name legalRepName regionCode industryCode size status }
    role
    licenses { id name typeCode typeName certNumber issuerName validTo daysLeft }
    applications { id projectNo serviceName status nextAction updatedAt }
    agents { authorizationId agentPersonId agentName allServices serviceCount validTo }
    policyMatches { policyId code title summary validTo serviceCode rules { rule anyValue matchedBy value } }
    pendingPayments { id title amountFen amountYuan dueAt billNo kind issuer applicationId }
  }
}
"""


def unique(prefix: str, width: int) -> str:
    """A code of exactly `width` characters, unique in this test session."""
    tail = f"{next(_serial):06d}{uuid.uuid4().hex}".upper()
    return (prefix + tail)[:width]


def today(api: Api) -> date:
    return shanghai_date(api.live.clock.now())


async def resident(api: Api, **profile: Any) -> tuple[Session, uuid.UUID]:
    """A new account signed in by SMS, with `profile` (birth_date, region_code, id_number_hash …) written on it."""
    session = await api.sign_in()
    person_id = uuid.UUID(session.person_id)
    if profile:
        await Person.filter(id=person_id).update(**profile)
    return session, person_id


async def licence(
    api: Api,
    *,
    person_id: uuid.UUID | None = None,
    enterprise_id: uuid.UUID | None = None,
    type_code: str,
    type_name: str,
    valid_in_days: int | None,
    status: LicenseStatus = LicenseStatus.VALID,
    issued_days_ago: int = 300,
) -> ELicense:
    day = today(api)
    return await ELicense.create(
        cert_identifier=unique("1.2.156.3005.2.TEST.", 60),
        type_code=type_code,
        type_name=type_name,
        cert_number=unique("N", 12),
        name=type_name,
        issuer_name="演示发证机关",
        issuer_uscc="11990000000000013X",
        area_code="990100000000",
        holder_name="测试持证人",
        holder_id_type="111",
        holder_id_hash=unique("H", 64),
        holder_person_id=person_id,
        holder_enterprise_id=enterprise_id,
        issue_date=day - timedelta(days=issued_days_ago),
        valid_from=day - timedelta(days=issued_days_ago),
        valid_to=None if valid_in_days is None else day + timedelta(days=valid_in_days),
        status=status,
    )


async def item(
    name: str,
    *,
    region_code: str = "990100000000",
    elicense_type_code: str = "",
    result_name: str = "",
    keywords: list[str] | None = None,
    popularity: int = 0,
    person_topics: list[str] | None = None,
    status: ItemStatus = ItemStatus.PUBLISHED,
    announce: bool = True,
) -> ServiceItem:
    """A service item; `announce=False` leaves the catalog version alone (a write no publish announced)."""
    catalog = await CatalogItem.create(catalog_code=unique("T", 36), name=name, task_type="01")
    row = await ServiceItem.create(
        task_code=unique("PAGES", 31),
        catalog_item=catalog,
        dept_id=uuid.uuid4(),
        use_level=3,
        name=name,
        task_type="01",
        region_code=region_code,
        elicense_type_code=elicense_type_code,
        result_is_elicense=bool(elicense_type_code),
        result_name=result_name,
        keywords=keywords or [],
        popularity=popularity,
        person_topics=person_topics if person_topics is not None else ["生育收养"],
        status=status,
    )
    if announce:
        await published()
    return row


async def views(person_id: uuid.UUID, items: list[ServiceItem]) -> None:
    """One view per item, the last of `items` viewed most recently."""
    await ServiceView.bulk_create(
        [ServiceView(person_id=person_id, task_code=row.task_code, region_code=row.region_code) for row in items]
    )


async def ward_of(api: Api, guardian_id: uuid.UUID, *, born_days_ago: int) -> Person:
    ward = await Person.create(name="测试被监护人", birth_date=today(api) - timedelta(days=born_days_ago))
    now = api.live.clock.now()
    await AgentAuthorization.create(
        principal_type=PrincipalType.PERSON,
        principal_id=ward.id,
        agent_person_id=guardian_id,
        kind=AgentKind.GUARDIAN,
        valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=365),
        granted_by_person_id=guardian_id,
    )
    return ward


async def bill(
    api: Api,
    *,
    person_id: uuid.UUID | None = None,
    enterprise_id: uuid.UUID | None = None,
    due_in_days: int | None,
    amount_fen: int = 5000,
    status: BillStatus = BillStatus.UNPAID,
    kind: BillKind = BillKind.UTILITY,
    subject: str = "测试水费",
    application_id: uuid.UUID | None = None,
) -> Bill:
    """A bill written straight to its table, as payments' create_bill leaves it (UNPAID unless `status`)."""
    now = api.live.clock.now()
    return await Bill.create(
        bill_no=unique("TB", 20),
        kind=kind,
        person_id=person_id,
        enterprise_id=enterprise_id,
        application_id=application_id,
        issuer="测试演示水务公司",
        subject=subject,
        lines=[{"name": subject, "amountFen": amount_fen}],
        amount_fen=amount_fen,
        due_at=None if due_in_days is None else now + timedelta(days=due_in_days),
        status=status,
    )


async def inbox(api: Api, user_id: uuid.UUID, *, unread: int, read: int = 0) -> list[InboxItem]:
    """Inbox items as the notifications worker writes them, `read` of them already read."""
    now = api.live.clock.now()
    rows = [
        InboxItem(
            id=uuid.uuid4(),
            created_at=now - timedelta(minutes=n),
            user_id=user_id,
            request_id=uuid.uuid4(),
            category=NoticeCategory.SERVICE,
            title=f"测试消息{n}",
            body="测试正文",
            read_at=now if n < read else None,
        )
        for n in range(read + unread)
    ]
    await InboxItem.bulk_create(rows)
    return rows


async def bundle(name: str, life_event: str) -> Bundle:
    row = await Bundle.create(code=unique("TB", 40), name=name, audience="PERSON", life_event=life_event)
    await published()
    return row


async def enterprise_of(
    rep_hash: str,
    *,
    industry_code: str = "I6510",
    size: EnterpriseSize = EnterpriseSize.SMALL,
    region_code: str = "980102000000",
) -> Enterprise:
    return await Enterprise.create(
        uscc=unique("91", 18),
        name=unique("测试演示企业", 20),
        legal_rep_name="测试法人",
        legal_rep_id_hash=rep_hash,
        region_code=region_code,
        industry_code=industry_code,
        size=size,
    )


async def staff_agent(api: Api, enterprise: Enterprise, agent_id: uuid.UUID, granted_by: uuid.UUID) -> None:
    now = api.live.clock.now()
    await AgentAuthorization.create(
        principal_type=PrincipalType.ENTERPRISE,
        principal_id=enterprise.id,
        agent_person_id=agent_id,
        kind=AgentKind.STAFF,
        scope_all=True,
        valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=365),
        granted_by_person_id=granted_by,
    )


_COUNTED = ("execute_query", "execute_query_dict", "execute_insert", "execute_many", "execute_script")


@contextlib.contextmanager
def counting_sql() -> Iterator[list[str]]:
    """Every statement the default connection's client class runs meanwhile (the live server shares this
    process and event loop), as its SQL text; the methods are restored on exit."""
    client_class = type(connections.get("default"))
    statements: list[str] = []
    originals = {name: client_class.__dict__.get(name) for name in _COUNTED}

    def wrap(name: str) -> Any:
        original = getattr(client_class, name)

        async def counted(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            # Only what an HTTP request runs: the in-process worker's crons and relays share this process and may
            # fire mid-measurement (they run outside any request, so no request id).
            if request_id_var.get() is not None:
                statements.append(query)
            return await original(self, query, *args, **kwargs)

        return counted

    for name in _COUNTED:
        setattr(client_class, name, wrap(name))
    try:
        yield statements
    finally:
        for name, original in originals.items():
            if original is None:
                delattr(client_class, name)
            else:
                setattr(client_class, name, original)
