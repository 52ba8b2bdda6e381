"""Active queries (payments.md §12): which orders and refunds are due, in what order and how many per run.

The unit of work for one row is the service's (`refresh_order`, `sweep_expired_order`, `refresh_refund`): each
claims its row by compare-and-set before asking the channel, so two workers never both ask. One row's trouble
is logged and never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from tortoise.expressions import Q

from api.models.payment import LIVE_ORDER_STATUSES, PaymentOrder, Refund, RefundStatus
from payments.deps import PaymentsDeps
from payments.service import closing, refunds

log = logging.getLogger("zsb.payments")

BATCH = 200
# The sweep asks again after a failed query: a minute at first, then as long as the order has been expired, at
# most half an hour (a channel down for a day is not asked about every minute).
SWEEP_FIRST_RETRY = timedelta(minutes=1)
SWEEP_MAX_RETRY = timedelta(minutes=30)
POLLED_REFUNDS = (RefundStatus.CREATED, RefundStatus.SUBMITTED, RefundStatus.UNKNOWN)

Row = TypeVar("Row", PaymentOrder, Refund)


async def poll_orders(deps: PaymentsDeps, now: datetime) -> int:
    """Live orders whose next query is due and that have not expired (the sweep owns those)."""
    due = (
        await PaymentOrder.filter(status__in=LIVE_ORDER_STATUSES, next_query_at__lte=now, expires_at__gt=now)
        .order_by("next_query_at")
        .limit(BATCH)
    )
    return await _each(due, lambda order: closing.refresh_order(deps, order), "poll")


async def sweep_expired(deps: PaymentsDeps, now: datetime) -> int:
    """Live orders past `expires_at`: query; paid → PAID (never closed); unpaid → close, re-query, CLOSED. Each
    is claimed by moving `next_query_at` on first, which is also when a failed query is retried."""
    due = (
        await PaymentOrder.filter(status__in=LIVE_ORDER_STATUSES, expires_at__lte=now)
        .filter(Q(next_query_at__isnull=True) | Q(next_query_at__lte=now))
        .order_by("expires_at")
        .limit(BATCH)
    )
    claimed = [order for order in due if await _claim_sweep(order, now)]
    return await _each(claimed, lambda order: closing.sweep_expired_order(deps, order), "sweep")


async def _claim_sweep(order: PaymentOrder, now: datetime) -> bool:
    retry = min(SWEEP_MAX_RETRY, max(SWEEP_FIRST_RETRY, now - order.expires_at))
    changed = await PaymentOrder.filter(
        id=order.id, status__in=LIVE_ORDER_STATUSES, query_attempts=order.query_attempts
    ).update(query_attempts=order.query_attempts + 1, next_query_at=now + retry)
    return changed == 1


async def poll_refunds(deps: PaymentsDeps, now: datetime) -> int:
    """Refunds SUBMITTED or UNKNOWN whose next query is due, resolved only through the refund query; and CREATED
    ones whose submission never happened (a crash after the commit), sent with their own out_refund_no."""
    due = await Refund.filter(status__in=POLLED_REFUNDS, next_query_at__lte=now).order_by("next_query_at").limit(BATCH)
    return await _each(due, lambda refund: refunds.refresh_refund(deps, refund), "refund poll")


async def _each(rows: list[Row], work: Callable[[Row], Awaitable[object]], what: str) -> int:
    done = 0
    for row in rows:
        try:
            await work(row)
        except Exception:
            log.exception("payments: %s of %s failed; asked again on a later run", what, row.id)
            continue
        done += 1
    return done
