"""好差评 statistics per org, item and period (domain.md §9, §10.3), computed by aggregate SQL.

Working definitions (the period is [from, to] in Asia/Shanghai dates; rows excluded by an upheld appeal count
nowhere, as if never given):

* 参评率 = completed cases (办结 in the period) with a 办结 (COMPLETE) rating / completed cases. A case whose 办结
  rating was excluded leaves both sides. An unrated case is never counted as good: it stays in the denominator.
* Ratings of the period (evaluated in it, every service moment): 好评率 = codes 1–3 / ratings, 差评率 = codes 4–5 /
  ratings, weighted score = Σ weight(code) / ratings on the `score_weights` scale (default 10/8/6/3/0).
* 差评整改率 = 差评 of the period whose loop has given its feedback (EXPLAINED or CLOSED) and was not escalated / 差评.
* 实名差评回访率 = real-name 差评 of the period with a recorded callback / real-name 差评.
* 按时回访率 = callbacks recorded by `callback_due_at` / real-name 差评 whose callback is recorded or already due
  (one not yet due is neither late nor on time).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import F, Q, Subquery
from tortoise.functions import Count

from api.identity.tokens import AccessClaims
from api.kit.clock import SHANGHAI
from api.kit.errors import Forbidden, InvalidInput
from api.models import (
    Application,
    ApplicationStatus,
    Evaluation,
    OperatorRole,
    Rectification,
    RectificationStatus,
    ServiceMoment,
)
from api.settings import RatingSettings

MAX_PERIOD_DAYS = 366 * 3


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class Statistics:
    org_id: uuid.UUID | None
    item_id: uuid.UUID | None
    start: date
    end: date
    completed_cases: int
    ratings: int
    by_code: tuple[int, int, int, int, int]
    weighted_sum: int
    participation: Ratio
    good: Ratio
    bad: Ratio
    rectified: Ratio
    callback: Ratio
    callback_on_time: Ratio

    @property
    def weighted_score(self) -> float | None:
        return self.weighted_sum / self.ratings if self.ratings else None


def scope(claims: AccessClaims, org_id: uuid.UUID | None) -> uuid.UUID | None:
    """Supervisors: any org or all; a case handler: their own department only."""
    if OperatorRole.SUPERVISOR.value in claims.roles:
        return org_id
    if OperatorRole.CASE_HANDLER.value in claims.roles and claims.department_id is not None:
        if org_id is not None and org_id != claims.department_id:
            raise Forbidden("you see the statistics of your own department only", code="NOT_ASSIGNED_ORG")
        return claims.department_id
    raise Forbidden("your role does not allow this operation")


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start:
        raise InvalidInput("the period ends before it starts", path=["to"], code="INVALID_PERIOD")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise InvalidInput("a period spans at most three years", path=["to"], code="INVALID_PERIOD")
    return datetime.combine(start, time(), SHANGHAI), datetime.combine(end + timedelta(days=1), time(), SHANGHAI)


async def _one(query: Any) -> dict[str, Any]:
    rows: list[dict[str, Any]] = await query
    return rows[0] if rows else {}


async def statistics(
    claims: AccessClaims,
    org_id: uuid.UUID | None,
    item_id: uuid.UUID | None,
    start: date,
    end: date,
    policy: RatingSettings,
    now: datetime,
) -> Statistics:
    org = scope(claims, org_id)
    since, until = _bounds(start, end)

    cases = Q(status=ApplicationStatus.COMPLETED, result_time__gte=since, result_time__lt=until)
    evaluations = Q(evaluated_at__gte=since, evaluated_at__lt=until, excluded_from_stats=False)
    if org is not None:
        cases &= Q(accepting_org_id=org)
        evaluations &= Q(target_org_id=org)
    if item_id is not None:
        cases &= Q(service_item_id=item_id)
        evaluations &= Q(service_item_id=item_id)

    def complete_ratings(excluded: bool) -> Subquery:
        return Subquery(
            Evaluation.filter(service_moment=ServiceMoment.COMPLETE, excluded_from_stats=excluded).values(
                "application_id"
            )
        )

    case_counts = await _one(
        Application.filter(cases)
        .annotate(
            completed=Count("id"),
            rated=Count("id", _filter=Q(id__in=complete_ratings(False))),
            excluded=Count("id", _filter=Q(id__in=complete_ratings(True))),
        )
        .values("completed", "rated", "excluded")
    )
    code_counts = await _one(
        Evaluation.filter(evaluations)
        .annotate(**{f"c{code}": Count("id", _filter=Q(satisfaction_code=code)) for code in range(1, 6)})
        .values(*(f"c{code}" for code in range(1, 6)))
    )
    bad = Subquery(Evaluation.filter(evaluations, satisfaction_code__gte=4).values("id"))
    real_name_bad = Subquery(Evaluation.filter(evaluations, satisfaction_code__gte=4, real_name=True).values("id"))
    loop_counts = await _one(
        Rectification.filter(evaluation_id__in=bad)
        .annotate(
            rectified=Count(
                "id",
                _filter=Q(status__in=[RectificationStatus.EXPLAINED, RectificationStatus.CLOSED], escalated=False),
            ),
        )
        .values("rectified")
    )
    callback_counts = await _one(
        Rectification.filter(evaluation_id__in=real_name_bad)
        .annotate(
            real_name=Count("id"),
            called=Count("id", _filter=Q(callback_at__isnull=False)),
            due=Count("id", _filter=Q(callback_at__isnull=False) | Q(callback_due_at__lte=now)),
            on_time=Count("id", _filter=Q(callback_at__isnull=False, callback_at__lte=F("callback_due_at"))),
        )
        .values("real_name", "called", "due", "on_time")
    )

    by_code = tuple(int(code_counts.get(f"c{code}") or 0) for code in range(1, 6))
    total = sum(by_code)
    weights = policy.score_weights
    completed = int(case_counts.get("completed") or 0)
    excluded = int(case_counts.get("excluded") or 0)
    bad_count = by_code[3] + by_code[4]
    return Statistics(
        org_id=org,
        item_id=item_id,
        start=start,
        end=end,
        completed_cases=completed,
        ratings=total,
        by_code=(by_code[0], by_code[1], by_code[2], by_code[3], by_code[4]),
        weighted_sum=sum(w * n for w, n in zip(weights, by_code, strict=True)),
        participation=Ratio(int(case_counts.get("rated") or 0), completed - excluded),
        good=Ratio(by_code[0] + by_code[1] + by_code[2], total),
        bad=Ratio(bad_count, total),
        rectified=Ratio(int(loop_counts.get("rectified") or 0), bad_count),
        callback=Ratio(int(callback_counts.get("called") or 0), int(callback_counts.get("real_name") or 0)),
        callback_on_time=Ratio(int(callback_counts.get("on_time") or 0), int(callback_counts.get("due") or 0)),
    )
