"""三率一数 and the A4 indicators (domain.md §10.3), per department, item and period, in aggregate SQL.

Items: the published items in scope. Cases: those applied in the period (上网办理率) and those completed in the
period (网上办结率, visits; N of them). Each group is one statement whatever the number of rows: the item group
is raw SQL because the time limits are JSON objects `{value, unit}` (the only dialect-specific part is reading a
JSON member), the case groups are ORM aggregates.

Working decisions where §10.3 is silent: an item is "online" when its 网办深度 is Ⅱ or deeper (it takes
applications online); a case is completed online when its result went out electronically (electronic delivery)
or, needing no delivery, was notified in the channel it was applied in online.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from tortoise import connections
from tortoise.expressions import Q
from tortoise.functions import Count, Sum

from api.identity.tokens import AccessClaims
from api.kit.clock import SHANGHAI
from api.kit.errors import Forbidden, InvalidInput, NotFound
from api.models import (
    Application,
    ApplicationChannel,
    ApplicationStatus,
    DeliveryMethod,
    DeliveryStatus,
    ItemStatus,
    OperatorRole,
    ServiceItem,
)
from api.settings import active

MAX_PERIOD_DAYS = 3660
ONLINE_DEPTH = 2  # Ⅱ: applications are taken online
FULL_ONLINE_DEPTH = 4  # Ⅳ: 全程网办


@dataclass(frozen=True)
class Targets:
    online_items_max_one_visit: float = 70.0
    online_items_zero_visit: float = 20.0


def current_targets() -> Targets:
    s = active().supervision
    return Targets(s.target_online_items_max_one_visit, s.target_online_items_zero_visit)


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def percent(self) -> float | None:
        return None if self.denominator == 0 else round(self.numerator * 100 / self.denominator, 2)


@dataclass(frozen=True)
class TargetCheck:
    name: str
    target_percent: float
    actual: Ratio

    @property
    def met(self) -> bool | None:
        percent = self.actual.percent
        return None if percent is None else percent >= self.target_percent


@dataclass(frozen=True)
class ServiceMetrics:
    org_id: uuid.UUID | None
    item_id: uuid.UUID | None
    start: date
    end: date
    full_online_items: Ratio  # 网上全流程办理率: depth Ⅳ / published items
    online_applications: Ratio  # 上网办理率: online channel / cases applied in the period
    online_completions: Ratio  # 网上办结率: completed with the result fed back online / completed
    mean_item_visits: float | None  # 到现场次数 per item: mean limit_scene_num
    mean_case_visits: float | None  # 到现场次数 per case = 减跑动 average visits: Σ visits_count / N
    zero_visit_cases: Ratio  # 零跑动 cases / N
    time_reduction_percent: float | None  # 减时间
    time_reduction_items: int  # items with a legal limit > 0 and a promise (the mean's denominator)
    instant_items: Ratio  # 即办程度
    online_items_max_one_visit: Ratio
    online_items_zero_visit: Ratio
    targets: list[TargetCheck]


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end + 1 day 00:00) in Shanghai, as UTC."""
    first = datetime.combine(start, time(), SHANGHAI).astimezone(UTC)
    last = datetime.combine(end + timedelta(days=1), time(), SHANGHAI).astimezone(UTC)
    return first, last


def _json_number(column: str, member: str, dialect: str) -> str:
    if dialect == "postgres":
        return (
            f"(CASE WHEN jsonb_typeof({column}::jsonb -> '{member}') = 'number' "
            f"THEN ({column}::jsonb ->> '{member}')::numeric END)"
        )
    path = f"'$.{member}'"
    return f"(CASE WHEN json_type({column}, {path}) IN ('integer', 'real') THEN json_extract({column}, {path}) END)"


def _json_text(column: str, member: str, dialect: str) -> str:
    if dialect == "postgres":
        return f"({column}::jsonb ->> '{member}')"
    return f"json_extract({column}, '$.{member}')"


def _days(column: str, dialect: str) -> str:
    """A limit in working days: a NATURAL_DAY limit counts as value × 5 / 7."""
    value, unit = _json_number(column, "value", dialect), _json_text(column, "unit", dialect)
    return f"(CASE WHEN {unit} = 'NATURAL_DAY' THEN {value} * 5.0 / 7 ELSE {value} * 1.0 END)"


def _item_sql(dialect: str, where: list[str]) -> str:
    legal = _days("legal_limit", dialect)
    promise = f"(CASE WHEN project_type = '1' THEN 0.0 ELSE {_days('promise_limit', dialect)} END)"
    # Only constants and the placeholders of `where` are formatted in; every value travels as a parameter.
    return f"""
SELECT COUNT(*) AS items,
       SUM(CASE WHEN online_depth_level = {FULL_ONLINE_DEPTH} THEN 1 ELSE 0 END) AS full_online,
       SUM(CASE WHEN project_type = '1' THEN 1 ELSE 0 END) AS instant,
       AVG(limit_scene_num * 1.0) AS mean_scene,
       SUM(CASE WHEN online_depth_level >= {ONLINE_DEPTH} THEN 1 ELSE 0 END) AS online_items,
       SUM(CASE WHEN online_depth_level >= {ONLINE_DEPTH} AND limit_scene_num <= 1 THEN 1 ELSE 0 END) AS online_max_one,
       SUM(CASE WHEN online_depth_level >= {ONLINE_DEPTH} AND limit_scene_num = 0 THEN 1 ELSE 0 END) AS online_zero,
       COUNT(reduction) AS reduction_items,
       AVG(reduction) AS reduction
FROM (
  SELECT online_depth_level, project_type, limit_scene_num,
         CASE WHEN legal_days > 0 THEN (legal_days - promise_days) * 100.0 / legal_days END AS reduction
  FROM (
    SELECT online_depth_level, project_type, limit_scene_num, {legal} AS legal_days, {promise} AS promise_days
    FROM service_item WHERE {" AND ".join(where)}
  ) limits
) items
"""  # noqa: S608


async def _items(org_id: uuid.UUID | None, task_code: str | None) -> dict[str, Any]:
    conn = connections.get("default")
    dialect = conn.capabilities.dialect
    params: list[Any] = [ItemStatus.PUBLISHED.value]

    def slot() -> str:
        return f"${len(params)}" if dialect == "postgres" else "?"

    where = [f"status = {slot()}"]
    if org_id is not None:
        params.append(org_id if dialect == "postgres" else str(org_id))
        where.append(f"dept_id = {slot()}")
    if task_code is not None:
        params.append(task_code)
        where.append(f"task_code = {slot()}")
    rows = await conn.execute_query_dict(_item_sql(dialect, where), params)
    row: dict[str, Any] = rows[0]
    return row


def _case_scope(org_id: uuid.UUID | None, task_code: str | None) -> Q:
    q = Q()
    if org_id is not None:
        q &= Q(accepting_org_id=org_id)
    if task_code is not None:
        q &= Q(task_code=task_code)
    return q


async def _applied(scope: Q, first: datetime, last: datetime) -> dict[str, Any]:
    rows = (
        await Application.filter(scope, apply_time__gte=first, apply_time__lt=last)
        .annotate(total=Count("id"), online=Count("id", _filter=Q(channel__not=ApplicationChannel.WINDOW)))
        .values("total", "online")
    )
    return rows[0] if rows else {"total": 0, "online": 0}


async def _completed(scope: Q, first: datetime, last: datetime) -> dict[str, Any]:
    online_result = (
        Q(delivery_method=DeliveryMethod.ELECTRONIC)
        | Q(delivery_status=DeliveryStatus.E_DELIVERED)
        | Q(delivery_method__isnull=True, channel__not=ApplicationChannel.WINDOW)
    )
    rows = (
        await Application.filter(
            scope, status=ApplicationStatus.COMPLETED, result_time__gte=first, result_time__lt=last
        )
        .annotate(
            total=Count("id"),
            online=Count("id", _filter=online_result),
            visits=Sum("visits_count"),
            zero=Count("id", _filter=Q(visits_count=0)),
        )
        .values("total", "online", "visits", "zero")
    )
    return rows[0] if rows else {"total": 0, "online": 0, "visits": 0, "zero": 0}


def _int(value: Any) -> int:
    return int(value or 0)


def _float(value: Any) -> float | None:
    return None if value is None else round(float(Decimal(str(value))), 2)


def visible_org(claims: AccessClaims, org_id: uuid.UUID | None) -> uuid.UUID | None:
    """Supervisors and catalog admins see any department (None: all); a case handler only its own."""
    roles = set(claims.roles)
    if roles & {OperatorRole.SUPERVISOR.value, OperatorRole.CATALOG_ADMIN.value}:
        return org_id
    if OperatorRole.CASE_HANDLER.value not in roles or claims.department_id is None:
        raise Forbidden("your role does not allow this operation")
    if org_id is not None and org_id != claims.department_id:
        raise Forbidden("case handlers see their own department only")
    return claims.department_id


async def service_metrics(
    claims: AccessClaims,
    *,
    org_id: uuid.UUID | None,
    item_id: uuid.UUID | None,
    start: date,
    end: date,
    targets: Targets | None = None,
) -> ServiceMetrics:
    if end < start:
        raise InvalidInput("the period ends before it starts", path=["to"], code="INVALID_PERIOD")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise InvalidInput("a period spans at most ten years", path=["to"], code="INVALID_PERIOD")
    org = visible_org(claims, org_id)
    task_code = None
    if item_id is not None:
        found = await ServiceItem.filter(id=item_id).values_list("task_code", flat=True)
        if not found:
            raise NotFound("no such service item", path=["itemId"], code="ITEM_NOT_FOUND")
        task_code = str(found[0])  # every version of the item, and the cases of any of them
    targets = targets or current_targets()
    first, last = _bounds(start, end)
    items = await _items(org, task_code)
    scope = _case_scope(org, task_code)
    applied = await _applied(scope, first, last)
    done = await _completed(scope, first, last)
    n = _int(done["total"])
    online_items = _int(items["online_items"])
    max_one = Ratio(_int(items["online_max_one"]), online_items)
    zero = Ratio(_int(items["online_zero"]), online_items)
    return ServiceMetrics(
        org_id=org,
        item_id=item_id,
        start=start,
        end=end,
        full_online_items=Ratio(_int(items["full_online"]), _int(items["items"])),
        online_applications=Ratio(_int(applied["online"]), _int(applied["total"])),
        online_completions=Ratio(_int(done["online"]), n),
        mean_item_visits=_float(items["mean_scene"]),
        mean_case_visits=None if n == 0 else round(_int(done["visits"]) / n, 2),
        zero_visit_cases=Ratio(_int(done["zero"]), n),
        time_reduction_percent=_float(items["reduction"]),
        time_reduction_items=_int(items["reduction_items"]),
        instant_items=Ratio(_int(items["instant"]), _int(items["items"])),
        online_items_max_one_visit=max_one,
        online_items_zero_visit=zero,
        targets=[
            TargetCheck("ONLINE_ITEMS_MAX_ONE_VISIT", targets.online_items_max_one_visit, max_one),
            TargetCheck("ONLINE_ITEMS_ZERO_VISIT", targets.online_items_zero_visit, zero),
        ],
    )
