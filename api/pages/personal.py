"""市民主页 (domain.md §1 principle 7): the signed-in resident's page, read through one per-request loader.

`PersonalPage` is the page's DataLoader: each personal source is read once per request by one statement, shared by
every section that needs it, whatever the sections selected and however many licences, views, grants, bills or
messages the person has: the person (with their wards and their unread inbox count), their licences, their recent
views, their open cases, their unpaid bills. With every section selected the page costs 5 statements. They are
`api.database.Statement`s, SQL kept as text: building them through tortoise cost more CPU than everything else the
request does (graphql.md §4, `bench/pages.py`).

What the page recommends out of the catalog is the same for everyone (the published items, their summaries, the
renewal item of each licence type, the popular items of each region, the life-event bundles): every process keeps
it in `CATALOG`, built by 2 statements and versioned like the search index by the catalog version in Redis
(`api.catalog.search.VERSION_KEY`, bumped by `search.invalidate` on every publish, suspension or cancellation), so a
request reads one Redis key instead of 3 statements, and the first request after a change rebuilds it. It is also
rebuilt when older than `CATALOG_MAX_AGE`, for popularity written without a version bump.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, TypeVar, cast

from tortoise.expressions import Q

from api.catalog.search import VERSION_KEY
from api.database import Statement
from api.kit.clock import Clock, shanghai_date
from api.kit.errors import Unauthenticated
from api.kit.redis import Redis
from api.models import (
    AgentKind,
    Bundle,
    ELicense,
    ItemStatus,
    LicenseStatus,
    Person,
    PrincipalType,
    ServiceItem,
)
from api.pages import bills, cases, rules

T = TypeVar("T")

# Section maxima: the schema states them ("at most N") and the query cost rule reads them (graphql.md §3).
MAX_APPLICATIONS = 10
MAX_BILLS = 10
MAX_EXPIRING = 20
MAX_RECOMMENDATIONS = 10
MAX_RECENTLY_VIEWED = 3
MAX_SHORTCUTS = 12
_VIEWS_SCANNED = 50  # recent view rows read to find the distinct recently viewed items
_POPULAR_SCANNED = 20
CATALOG_MAX_AGE = 300.0  # seconds: popularity may change without a catalog version bump
_MEMO_LIMIT = 4_096  # regions remembered per catalog version

ITEM_FIELDS = (
    "id",
    "task_code",
    "name",
    "version",
    "region_code",
    "online_depth_level",
    "mobile_url",
    "popularity",
    "elicense_type_code",
    "result_name",
    "keywords",
    "person_topics",
)


class RecommendationReason(StrEnum):
    LICENSE_EXPIRY = "LICENSE_EXPIRY"
    LIFE_EVENT = "LIFE_EVENT"
    RECENTLY_VIEWED = "RECENTLY_VIEWED"
    POPULAR_IN_REGION = "POPULAR_IN_REGION"


@dataclass(frozen=True, slots=True)
class LicenceRow:
    """A licence as the page reads it (a row of `_LICENCES`)."""

    id: uuid.UUID
    type_code: str
    type_name: str
    name: str
    cert_number: str
    issuer_name: str
    issue_date: date
    valid_to: date | None


@dataclass(frozen=True, slots=True)
class ExpiringLicense:
    row: LicenceRow
    valid_to: date
    days_left: int


@dataclass(frozen=True, slots=True)
class Recommendation:
    reason: RecommendationReason
    text: str
    item: rules.ItemSummary | None = None
    bundle: rules.BundleSummary | None = None
    license_id: uuid.UUID | None = None
    life_event: rules.LifeEvent | None = None


ApplicationInProgress = cases.OpenCase


BillDue = bills.BillDue


@dataclass(frozen=True)
class Shortcut:
    key: str
    title: str
    icon: str
    route: str


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("LICENSE_WALLET", "我的证照", "wallet", "/licenses"),
    Shortcut("MY_APPLICATIONS", "我的办件", "folder", "/applications"),
    Shortcut("PAYMENTS", "缴费", "payment", "/payments"),
    Shortcut("MESSAGES", "消息", "message", "/inbox"),
    Shortcut("SEARCH", "搜索服务", "search", "/search"),
    Shortcut("BUNDLES", "一件事", "bundle", "/bundles"),
    Shortcut("FAMILY_PROXY", "亲友代办", "family", "/agents"),
    Shortcut("PROGRESS", "办件进度查询", "progress", "/progress"),
    Shortcut("RATINGS", "好差评", "rating", "/ratings"),
    Shortcut("ENTERPRISE", "法人空间", "enterprise", "/enterprises"),
)
assert len(SHORTCUTS) <= MAX_SHORTCUTS


@dataclass(frozen=True)
class _Profile:
    birth_date: date | None
    region_code: str | None
    ward_birth_dates: list[date | None]
    unread: int


@dataclass(frozen=True)
class _Licences:
    expiring: list[ExpiringLicense]
    birth_certificates_issued: list[date]


# ------------------------------------------------------------------------------------------------ the catalog part


def _summary(row: dict[str, Any]) -> rules.ItemSummary:
    return rules.ItemSummary(
        id=row["id"],
        task_code=row["task_code"],
        name=row["name"],
        version=row["version"],
        region_code=row["region_code"],
        online_depth_level=row["online_depth_level"],
        mobile_url=row["mobile_url"],
        popularity=row["popularity"],
        elicense_type_code=row["elicense_type_code"],
        result_name=row["result_name"],
        keywords=tuple(row["keywords"] or ()),
        person_topics=tuple(row["person_topics"] or ()),
    )


class Catalog:
    """The catalog-derived part of the page at one catalog version: the same for every resident of a region."""

    def __init__(
        self, version: str, rows: list[rules.ItemSummary], bundles: list[rules.BundleSummary], built_at: float
    ) -> None:
        self.version = version
        self.built_at = built_at
        # Every published version, most popular first (what `ORDER BY popularity DESC, task_code` reads).
        self.ranked = sorted(rows, key=lambda item: (-item.popularity, item.task_code))
        self.latest: dict[str, rules.ItemSummary] = {item.task_code: item for item in rules.latest_versions(rows)}
        self.by_type_code: dict[str, list[rules.ItemSummary]] = {}
        self.by_result_name: dict[str, list[rules.ItemSummary]] = {}
        for item in self.latest.values():
            if item.elicense_type_code:
                self.by_type_code.setdefault(item.elicense_type_code, []).append(item)
            elif item.result_name and rules.says_renewal(item):
                self.by_result_name.setdefault(item.result_name, []).append(item)
        self.life_events: dict[rules.LifeEvent, Recommendation] = {}
        for bundle in sorted(bundles, key=lambda b: (b.life_event not in rules.LifeEvent.__members__, b.code)):
            event = rules.bundle_event(bundle)
            if event is not None and event not in self.life_events:
                reason = RecommendationReason.LIFE_EVENT
                text = rules.LIFE_EVENT_TEXT[event]
                self.life_events[event] = Recommendation(reason, text, bundle=bundle, life_event=event)
        self._popular: dict[tuple[str, ...], tuple[Recommendation, ...]] = {}
        self._viewed: dict[str, Recommendation] = {}

    def renewal_item(self, type_code: str, type_name: str, regions: list[str]) -> rules.ItemSummary | None:
        by_code = self.by_type_code.get(type_code, [])
        by_name = self.by_result_name.get(type_name, [])
        return rules.renewal_item(type_code, type_name, by_code + by_name if by_name else by_code, regions)

    def viewed(self, task_code: str) -> Recommendation | None:
        found = self._viewed.get(task_code)
        if found is None:
            item = self.latest.get(task_code)
            if item is None:
                return None
            reason = RecommendationReason.RECENTLY_VIEWED
            found = self._viewed[task_code] = Recommendation(reason, f"您最近浏览过{item.name}", item=item)
        return found

    def popular(self, regions: list[str]) -> tuple[Recommendation, ...]:
        """Published items for residents serving one of `regions` (all when none), by popularity: the top
        _POPULAR_SCANNED published versions, one per 实施编码, those with a resident topic."""
        key = tuple(regions)
        found = self._popular.get(key)
        if found is None:
            wanted = set(regions)
            top = [item for item in self.ranked if not wanted or item.region_code in wanted][:_POPULAR_SCANNED]
            reason = RecommendationReason.POPULAR_IN_REGION
            found = tuple(
                Recommendation(reason, f"{item.name}是您所在地区的热门服务", item=item)
                for item in rules.latest_versions(top)
                if item.person_topics
            )
            if len(self._popular) >= _MEMO_LIMIT:
                self._popular.clear()
            self._popular[key] = found
        return found


async def load_catalog(version: str) -> Catalog:
    """Two statements: every published item version, and the residents' life-event bundles."""
    rows = await ServiceItem.filter(status=ItemStatus.PUBLISHED).values(*ITEM_FIELDS)
    events = [event.value for event in rules.LifeEvent]
    names = list(rules.LIFE_EVENT_BUNDLE_NAMES.values())
    bundles = await Bundle.filter(Q(life_event__in=events) | Q(name__in=names), audience="PERSON").values(
        "id", "code", "name", "life_event"
    )
    return Catalog(
        version,
        [_summary(row) for row in rows],
        [rules.BundleSummary(b["id"], b["code"], b["name"], b["life_event"]) for b in bundles],
        time.monotonic(),
    )


class CatalogCache:
    """The process's `Catalog`, rebuilt lazily when the catalog version in Redis moves (one rebuild at a time)."""

    def __init__(self) -> None:
        self.catalog: Catalog | None = None
        self._building: asyncio.Task[Catalog] | None = None

    async def _build(self, version: str) -> Catalog:
        catalog = await load_catalog(version)
        self.catalog = catalog
        return catalog

    async def current(self, redis: Redis) -> Catalog:
        raw = await redis.get(VERSION_KEY)
        version = raw.decode() if isinstance(raw, bytes) else str(raw or "0")
        catalog = self.catalog
        if catalog is not None and catalog.version == version and time.monotonic() - catalog.built_at < CATALOG_MAX_AGE:
            return catalog
        building = self._building
        if building is None or building.done():
            building = self._building = asyncio.create_task(self._build(version))
        # shield: a cancelled request must not cancel the rebuild other requests wait for
        return await asyncio.shield(building)

    def reset(self) -> None:
        self.catalog = None


CATALOG = CatalogCache()


# ------------------------------------------------------------------------------------------------ the statements

# The person (`$1`) with their unread inbox count, and the minors they are a live guardian of at `$2` (GUARDIAN
# grants: the ward is the principal), as rows marked `ward`. A UNION, not `id = me OR id IN (…)`: PostgreSQL scans
# the whole person table for that.
_PROFILE = Statement(
    "SELECT 0 AS ward, birth_date, region_code, merged_into_id, "  # noqa: S608 (our constants only)
    "(SELECT COUNT(*) FROM inbox_item WHERE user_id = $1 AND read_at IS NULL) AS unread FROM person WHERE id = $1 "
    "UNION ALL SELECT 1, birth_date, NULL, NULL, 0 FROM person WHERE id IN (SELECT principal_id FROM "
    f"agent_authorization WHERE agent_person_id = $1 AND kind = '{AgentKind.GUARDIAN.value}' "
    f"AND principal_type = '{PrincipalType.PERSON.value}' AND revoked_at IS NULL AND valid_from <= $2 "
    "AND valid_to > $2)",
    {"birth_date": (Person, "birth_date"), "merged_into_id": (Person, "merged_into_id")},
)
# Valid licences of `$1` expiring between `$2` and `$3`, and birth certificates (`$4`) issued since `$5`.
LICENSE_FIELDS = ("id", "type_code", "type_name", "name", "cert_number", "issuer_name", "issue_date", "valid_to")
_LICENCES = Statement(
    f"SELECT {', '.join(LICENSE_FIELDS)} FROM elicense WHERE holder_person_id = $1 "  # noqa: S608
    f"AND status = '{LicenseStatus.VALID.value}' AND ((valid_to >= $2 AND valid_to <= $3) "
    f"OR (type_name = $4 AND issue_date >= $5)) ORDER BY valid_to, id LIMIT {MAX_EXPIRING + 20}",
    {column: (ELicense, column) for column in ("id", "issue_date", "valid_to")},
)
_VIEWS = Statement(
    f"SELECT task_code FROM service_view WHERE person_id = $1 ORDER BY created_at DESC LIMIT {_VIEWS_SCANNED}",  # noqa: S608
    {},
)


# ------------------------------------------------------------------------------------------------ the page


class PersonalPage:
    """The per-request loader of one resident's page (created once per request by the schema's context)."""

    def __init__(self, clock: Clock, person_id: uuid.UUID, redis: Redis) -> None:
        self.person_id = person_id
        self.redis = redis
        self.now = clock.now()
        self.today = shanghai_date(self.now)
        self._loaded: dict[str, asyncio.Future[Any]] = {}

    def _once(self, key: str, load: Callable[[], Coroutine[Any, Any, T]]) -> asyncio.Future[T]:
        found = self._loaded.get(key)
        if found is None:
            found = self._loaded[key] = asyncio.ensure_future(load())
        return found

    # ------------------------------------------------------------------------------------------ sources

    def profile(self) -> asyncio.Future[_Profile]:
        return self._once("profile", self._load_profile)

    async def _load_profile(self) -> _Profile:
        rows = await _PROFILE.rows(self.person_id, self.now)
        me = next((row for row in rows if not row["ward"]), None)
        if me is None or me["merged_into_id"] is not None:
            raise Unauthenticated("this account no longer exists", code="ACCOUNT_GONE")
        wards = [cast(date | None, row["birth_date"]) for row in rows if row["ward"]]
        return _Profile(me["birth_date"], me["region_code"], wards, int(me["unread"]))

    def licences(self) -> asyncio.Future[_Licences]:
        return self._once("licences", self._load_licences)

    async def _load_licences(self) -> _Licences:
        today = self.today
        horizon = today + timedelta(days=rules.EXPIRY_WINDOW_DAYS)
        newborn_since = today - timedelta(days=rules.NEWBORN_WINDOW_DAYS)
        rows = await _LICENCES.rows(self.person_id, today, horizon, rules.BIRTH_CERTIFICATE_TYPE_NAME, newborn_since)
        expiring: list[ExpiringLicense] = []
        births: list[date] = []
        for values in rows:
            row = LicenceRow(**values)
            valid_to = row.valid_to
            if valid_to is not None and today <= valid_to <= horizon:
                expiring.append(ExpiringLicense(row, valid_to, (valid_to - today).days))
            if row.type_name == rules.BIRTH_CERTIFICATE_TYPE_NAME:
                births.append(row.issue_date)
        return _Licences(expiring[:MAX_EXPIRING], births)

    def recently_viewed_codes(self) -> asyncio.Future[list[str]]:
        return self._once("views", self._load_views)

    async def _load_views(self) -> list[str]:
        rows = await _VIEWS.rows(self.person_id)
        return list(dict.fromkeys(str(row["task_code"]) for row in rows))[:MAX_RECENTLY_VIEWED]

    def catalog(self) -> asyncio.Future[Catalog]:
        return self._once("catalog", lambda: CATALOG.current(self.redis))

    # ------------------------------------------------------------------------------------------ sections

    async def expiring_licenses(self) -> list[ExpiringLicense]:
        return (await self.licences()).expiring

    def shortcuts(self) -> list[Shortcut]:
        return list(SHORTCUTS)

    async def applications_in_progress(self) -> list[ApplicationInProgress]:
        """The caller's open cases (and those still to rate or receive), each with its next action."""
        return await cases.open_cases(cases.OF_PERSON, self.person_id, self.now, MAX_APPLICATIONS)

    async def bills_due(self) -> list[BillDue]:
        """The caller's own UNPAID bills (fines, utilities, social insurance, application fees), soonest due first;
        an enterprise's bills are on its page."""
        return await bills.unpaid(person_id=self.person_id, limit=MAX_BILLS)

    async def unread_message_count(self) -> int:
        """Unread items of the inbox (站内信), read with the person."""
        return (await self.profile()).unread

    def recommendations(self) -> asyncio.Future[list[Recommendation]]:
        return self._once("recommendations", self._load_recommendations)

    async def _load_recommendations(self) -> list[Recommendation]:
        """In this order, one entry per item or bundle, at most MAX_RECOMMENDATIONS:
        LICENSE_EXPIRY (the renewal item of each expiring licence, soonest first), LIFE_EVENT (rules.life_events),
        RECENTLY_VIEWED (the caller's last distinct items), POPULAR_IN_REGION (published items for residents serving
        the caller's district, city or province, by popularity)."""
        profile, licences, viewed, catalog = await asyncio.gather(
            self.profile(), self.licences(), self.recently_viewed_codes(), self.catalog()
        )
        regions = rules.region_ancestors(profile.region_code)
        events = rules.life_events(
            birth_date=profile.birth_date,
            ward_birth_dates=profile.ward_birth_dates,
            birth_certificates_issued=licences.birth_certificates_issued,
            today=self.today,
        )

        found: list[Recommendation] = []
        taken: set[str] = set()

        def add(recommendation: Recommendation, key: str) -> None:
            if key not in taken and len(found) < MAX_RECOMMENDATIONS:
                taken.add(key)
                found.append(recommendation)

        for expiring in licences.expiring:
            row = expiring.row
            item = catalog.renewal_item(row.type_code, row.type_name, regions)
            if item is not None:
                text = f"您的{row.type_name}将于{expiring.days_left}天后到期，可在线办理{item.name}"
                add(
                    Recommendation(RecommendationReason.LICENSE_EXPIRY, text, item=item, license_id=row.id),
                    item.task_code,
                )
        for event in events:
            chosen = catalog.life_events.get(event)
            if chosen is not None and chosen.bundle is not None:
                add(chosen, chosen.bundle.code)
        for code in viewed:
            recently = catalog.viewed(code)
            if recently is not None:
                add(recently, code)
        for popular in catalog.popular(regions):
            if len(found) >= MAX_RECOMMENDATIONS:
                break
            assert popular.item is not None
            add(popular, popular.item.task_code)
        return found
