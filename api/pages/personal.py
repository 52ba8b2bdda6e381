"""市民主页 (domain.md §1 principle 7): the signed-in resident's page, read through one per-request loader.

`PersonalPage` is the page's DataLoader: each source (the person, their licences, wards, recent views, the items and
bundles recommended) is read once per request by one statement, shared by every section that needs it, whatever
the sections selected and however many licences, views or grants the person has. With every section selected the
page costs at most 7 statements (person, licences, wards, views, items, popular items, bundles); a statement whose
keys are empty (no licence, no view, no life event) is skipped.

Applications, bills and the inbox belong to later issues; their sections are seams here (`applications_in_progress`,
`bills_due`, `unread_message_count`) that return nothing until those modules exist.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from tortoise.expressions import Q, Subquery

from api.kit.clock import Clock, shanghai_date
from api.kit.errors import Unauthenticated
from api.models import (
    AgentAuthorization,
    AgentKind,
    Bundle,
    ELicense,
    ItemStatus,
    LicenseStatus,
    Person,
    PrincipalType,
    ServiceItem,
    ServiceView,
)
from api.pages import rules

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
LICENSE_FIELDS = (
    "id",
    "type_code",
    "type_name",
    "name",
    "cert_number",
    "issuer_name",
    "issue_date",
    "valid_to",
)


class RecommendationReason(StrEnum):
    LICENSE_EXPIRY = "LICENSE_EXPIRY"
    LIFE_EVENT = "LIFE_EVENT"
    RECENTLY_VIEWED = "RECENTLY_VIEWED"
    POPULAR_IN_REGION = "POPULAR_IN_REGION"


@dataclass(frozen=True)
class ExpiringLicense:
    row: ELicense
    valid_to: date
    days_left: int


@dataclass(frozen=True)
class Recommendation:
    reason: RecommendationReason
    text: str
    item: ServiceItem | None = None
    bundle: Bundle | None = None
    license_id: uuid.UUID | None = None
    life_event: rules.LifeEvent | None = None


@dataclass(frozen=True)
class ApplicationInProgress:
    """Filled by the applications module (issue 4): one open case and the applicant's next action."""

    id: uuid.UUID
    project_no: str
    service_name: str
    status: str
    next_action: str
    next_action_text: str
    updated_at: datetime


@dataclass(frozen=True)
class BillDue:
    """Filled by payments (issue 5): one unpaid bill."""

    id: uuid.UUID
    title: str
    amount_fen: int
    due_at: datetime | None
    application_id: uuid.UUID | None


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


@dataclass(frozen=True)
class _Licences:
    expiring: list[ExpiringLicense]
    birth_certificates_issued: list[date]


class PersonalPage:
    """The per-request loader of one resident's page (created once per request by the schema's context)."""

    def __init__(self, clock: Clock, person_id: uuid.UUID) -> None:
        self.person_id = person_id
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
        rows = await Person.filter(id=self.person_id).values("birth_date", "region_code", "merged_into_id")
        if not rows or rows[0]["merged_into_id"] is not None:
            raise Unauthenticated("this account no longer exists", code="ACCOUNT_GONE")
        return _Profile(rows[0]["birth_date"], rows[0]["region_code"])

    def licences(self) -> asyncio.Future[_Licences]:
        return self._once("licences", self._load_licences)

    async def _load_licences(self) -> _Licences:
        horizon = self.today + timedelta(days=rules.EXPIRY_WINDOW_DAYS)
        newborn_since = self.today - timedelta(days=rules.NEWBORN_WINDOW_DAYS)
        rows = (
            await ELicense.filter(holder_person_id=self.person_id, status=LicenseStatus.VALID)
            .filter(
                Q(valid_to__gte=self.today, valid_to__lte=horizon)
                | Q(type_name=rules.BIRTH_CERTIFICATE_TYPE_NAME, issue_date__gte=newborn_since)
            )
            .order_by("valid_to", "id")
            .limit(MAX_EXPIRING + 20)
            .only(*LICENSE_FIELDS)
        )
        expiring = [
            ExpiringLicense(row, row.valid_to, rules.days_left(row.valid_to, self.today))
            for row in rows
            if row.valid_to is not None and self.today <= row.valid_to <= horizon
        ]
        births = [row.issue_date for row in rows if row.type_name == rules.BIRTH_CERTIFICATE_TYPE_NAME]
        return _Licences(expiring[:MAX_EXPIRING], births)

    def ward_birth_dates(self) -> asyncio.Future[list[date | None]]:
        return self._once("wards", self._load_wards)

    async def _load_wards(self) -> list[date | None]:
        """Birth dates of the minors the caller is a live guardian of (GUARDIAN grants: the ward is principal)."""
        grants = AgentAuthorization.filter(
            agent_person_id=self.person_id,
            kind=AgentKind.GUARDIAN,
            principal_type=PrincipalType.PERSON,
            revoked_at=None,
            valid_from__lte=self.now,
            valid_to__gt=self.now,
        ).values("principal_id")
        rows = await Person.filter(id__in=Subquery(grants)).values("birth_date")
        return [row["birth_date"] for row in rows]

    def recently_viewed_codes(self) -> asyncio.Future[list[str]]:
        return self._once("views", self._load_views)

    async def _load_views(self) -> list[str]:
        rows = (
            await ServiceView.filter(person_id=self.person_id)
            .order_by("-created_at")
            .limit(_VIEWS_SCANNED)
            .values("task_code")
        )
        return list(dict.fromkeys(str(row["task_code"]) for row in rows))[:MAX_RECENTLY_VIEWED]

    # ------------------------------------------------------------------------------------------ sections

    async def expiring_licenses(self) -> list[ExpiringLicense]:
        return (await self.licences()).expiring

    def shortcuts(self) -> list[Shortcut]:
        return list(SHORTCUTS)

    async def applications_in_progress(self) -> list[ApplicationInProgress]:
        """Seam for the applications module (issue 4): the caller's open cases, each with its next action."""
        return []

    async def bills_due(self) -> list[BillDue]:
        """Seam for payments (issue 5): the caller's unpaid bills, soonest due first."""
        return []

    async def unread_message_count(self) -> int:
        """Seam for the inbox (issue 7)."""
        return 0

    def recommendations(self) -> asyncio.Future[list[Recommendation]]:
        return self._once("recommendations", self._load_recommendations)

    async def _load_recommendations(self) -> list[Recommendation]:
        """In this order, one entry per item or bundle, at most MAX_RECOMMENDATIONS:
        LICENSE_EXPIRY (the renewal item of each expiring licence, soonest first), LIFE_EVENT (rules.life_events),
        RECENTLY_VIEWED (the caller's last distinct items), POPULAR_IN_REGION (published items for residents serving
        the caller's district, city or province, by popularity)."""
        profile, licences, wards, viewed = await asyncio.gather(
            self.profile(), self.licences(), self.ward_birth_dates(), self.recently_viewed_codes()
        )
        regions = rules.region_ancestors(profile.region_code)
        events = rules.life_events(
            birth_date=profile.birth_date,
            ward_birth_dates=wards,
            birth_certificates_issued=licences.birth_certificates_issued,
            today=self.today,
        )
        types = {e.row.type_code: e.row.type_name for e in licences.expiring}
        candidates, popular, bundles = await asyncio.gather(
            self._items(viewed, types), self._popular(regions), self._bundles(events)
        )

        found: list[Recommendation] = []
        taken: set[str] = set()

        def add(recommendation: Recommendation, key: str) -> None:
            if key not in taken and len(found) < MAX_RECOMMENDATIONS:
                taken.add(key)
                found.append(recommendation)

        for expiring in licences.expiring:
            row = expiring.row
            item = rules.renewal_item(row.type_code, row.type_name, candidates, regions)
            if item is not None:
                text = f"您的{row.type_name}将于{expiring.days_left}天后到期，可在线办理{item.name}"
                add(
                    Recommendation(RecommendationReason.LICENSE_EXPIRY, text, item=item, license_id=row.id),
                    item.task_code,
                )
        by_event: dict[rules.LifeEvent, Bundle] = {}
        for bundle in sorted(bundles, key=lambda b: (b.life_event not in rules.LifeEvent.__members__, b.code)):
            event = rules.bundle_event(bundle)
            if event is not None:
                by_event.setdefault(event, bundle)
        for event in events:
            chosen = by_event.get(event)
            if chosen is not None:
                reason = RecommendationReason.LIFE_EVENT
                add(Recommendation(reason, rules.LIFE_EVENT_TEXT[event], bundle=chosen, life_event=event), chosen.code)
        by_code = {item.task_code: item for item in candidates}
        for code in viewed:
            if code in by_code:
                item = by_code[code]
                add(Recommendation(RecommendationReason.RECENTLY_VIEWED, f"您最近浏览过{item.name}", item=item), code)
        for item in popular:
            text = f"{item.name}是您所在地区的热门服务"
            add(Recommendation(RecommendationReason.POPULAR_IN_REGION, text, item=item), item.task_code)
        return found

    async def _items(self, viewed: list[str], types: dict[str, str]) -> list[ServiceItem]:
        """One statement: the published items recently viewed, and the candidates renewing the licence types."""
        condition = Q()
        parts = []
        if viewed:
            parts.append(Q(task_code__in=viewed))
        if types:
            parts += [Q(elicense_type_code__in=list(types)), Q(result_name__in=sorted(set(types.values())))]
        if not parts:
            return []
        condition = Q(*parts, join_type=Q.OR)
        rows = await ServiceItem.filter(condition, status=ItemStatus.PUBLISHED).only(*ITEM_FIELDS)
        return rules.latest_versions(rows)

    async def _popular(self, regions: list[str]) -> list[ServiceItem]:
        query = ServiceItem.filter(status=ItemStatus.PUBLISHED)
        if regions:
            query = query.filter(region_code__in=regions)
        rows = await query.order_by("-popularity", "task_code").limit(_POPULAR_SCANNED).only(*ITEM_FIELDS)
        return [item for item in rules.latest_versions(rows) if item.person_topics]

    async def _bundles(self, events: list[rules.LifeEvent]) -> list[Bundle]:
        if not events:
            return []
        names = [rules.LIFE_EVENT_BUNDLE_NAMES[event] for event in events]
        condition = Q(Q(life_event__in=[event.value for event in events]), Q(name__in=names), join_type=Q.OR)
        rows: list[Bundle] = await Bundle.filter(condition, audience="PERSON").only(
            "id", "code", "name", "life_event", "task_codes"
        )
        return rows
