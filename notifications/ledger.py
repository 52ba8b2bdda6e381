"""What the engine's modules share about the delivery ledger: which rows are still open, request settlement and
stat bumps, all in the caller's transaction (§C13: counted only when a compare-and-set changed a row)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Iterable
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from api.models.notifications import Delivery, NoticeStatus, NotificationRequest, RequestStatus
from api.settings import NotificationsSettings
from notifications import stats

CLAIMABLE = (NoticeStatus.CREATED, NoticeStatus.DEFERRED, NoticeStatus.TEMPORARY_FAILURE)
SENT_LIKE = (NoticeStatus.SENT, NoticeStatus.DELIVERED)


def below_max_attempts(settings: NotificationsSettings) -> Q:
    """A temporary failure stays retryable until its kind's attempts are used up (then it is final)."""
    return Q(campaign_id__isnull=True, attempts__lt=settings.transactional_max_attempts) | Q(
        campaign_id__not_isnull=True, attempts__lt=settings.campaign_max_attempts
    )


def open_deliveries(settings: NotificationsSettings) -> Q:
    return Q(status__in=(NoticeStatus.CREATED, NoticeStatus.DEFERRED, NoticeStatus.SENDING)) | (
        Q(status=NoticeStatus.TEMPORARY_FAILURE) & below_max_attempts(settings)
    )


async def settle_requests(
    settings: NotificationsSettings, request_ids: Collection[uuid.UUID], db: BaseDBAsyncClient
) -> int:
    """Planned requests whose deliveries are all final become done."""
    if not request_ids:
        return 0
    still_open = set(
        await Delivery.filter(open_deliveries(settings), request_id__in=list(request_ids))
        .using_db(db)
        .values_list("request_id", flat=True)
    )
    finished = [r for r in request_ids if r not in still_open]
    if not finished:
        return 0
    done: int = (
        await NotificationRequest.filter(id__in=finished, status=RequestStatus.PLANNED)
        .using_db(db)
        .update(status=RequestStatus.DONE)
    )
    return done


class StatTally:
    """Stat increments gathered during one transaction and written at its end, one upsert per metric."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, str]] = Counter()

    def add(self, scope: str, channel: str, metric: str, count: int = 1) -> None:
        if count:
            self._counts[(scope, channel, metric)] += count

    def extend(self, items: Iterable[tuple[str, str, str]]) -> None:
        for scope, channel, metric in items:
            self.add(scope, channel, metric)

    async def flush(self, db: BaseDBAsyncClient, at: datetime) -> None:
        for (scope, channel, metric), count in sorted(self._counts.items()):
            await stats.bump(db, scope=scope, channel=channel, metric=metric, at=at, count=count)
        self._counts.clear()
