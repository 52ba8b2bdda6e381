"""The daily rating job: completed cases whose rating window closed unrated become EXPIRED_UNRATED (D3).

One UPDATE, guarded by the same conditions it establishes, so every run is idempotent and two workers running it at
once do the same thing. A case is never defaulted to a good rating: EXPIRED_UNRATED counts only in the 参评率
denominator (see `stats`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q, Subquery

from api.kit.clock import Clock, SystemClock
from api.models import Application, ApplicationStatus, Evaluation, EvaluationStatus, ServiceMoment
from api.ratings import policy as ratings_policy
from api.settings import RatingSettings

log = logging.getLogger("zsb.ratings")


async def expire_unrated(now: datetime, policy: RatingSettings) -> int:
    window_closed = Q(rating_due_at__lte=now) | Q(
        rating_due_at__isnull=True, result_time__lte=now - timedelta(days=policy.window_days)
    )
    not_rated = Q(evaluation_status=EvaluationStatus.PENDING) | Q(evaluation_status__isnull=True)
    rated = Subquery(Evaluation.filter(service_moment=ServiceMoment.COMPLETE).values("application_id"))
    changed: int = await Application.filter(
        window_closed, not_rated, ~Q(id__in=rated), status=ApplicationStatus.COMPLETED
    ).update(evaluation_status=EvaluationStatus.EXPIRED_UNRATED)
    return changed


async def expire_unrated_ratings(ctx: dict[str, Any]) -> int:
    """arq job, daily at 00:20 Asia/Shanghai (16:20 UTC); safe to run any number of times."""
    clock: Clock = ctx.get("clock") or SystemClock()
    changed = await expire_unrated(clock.now(), ratings_policy.current())
    log.info("rating windows closed", extra={"expired_unrated": changed})
    return changed
