"""When to ask a channel again (payments.md §12): pure functions the pollers and the service share.

Orders: queries at +10 s, 30 s, 1 m, 2 m, 5 m, 10 m and 30 m after creation, then every 30 m, but never at or
after `expires_at` (the expiry sweep owns that moment). The offsets count from creation, not from the previous
query: a notify lost for an order paid at once is found by +1 m at the latest.
Refunds: the first query no sooner than 10 s after the request (Alipay's rule), then the same offsets, without
an end (an UNKNOWN or SUBMITTED refund is asked about until it resolves).
"""

from __future__ import annotations

from datetime import datetime, timedelta

QUERY_OFFSETS: tuple[timedelta, ...] = (
    timedelta(seconds=10),
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=10),
    timedelta(minutes=30),
)
THEN_EVERY = timedelta(minutes=30)
REFUND_FIRST_QUERY = QUERY_OFFSETS[0]


def query_offset(attempts: int) -> timedelta:
    """The offset from creation of query number `attempts` (0: the first query)."""
    if attempts < 0:
        raise ValueError(f"attempts must not be negative, got {attempts}")
    if attempts < len(QUERY_OFFSETS):
        return QUERY_OFFSETS[attempts]
    return QUERY_OFFSETS[-1] + THEN_EVERY * (attempts - len(QUERY_OFFSETS) + 1)


def next_query_after(created_at: datetime, attempts: int, expires_at: datetime) -> datetime | None:
    """When an order that has been queried `attempts` times is queried next; None once that moment would reach
    `expires_at` (the expiry sweep then queries, closes and re-queries)."""
    moment = created_at + query_offset(attempts)
    return moment if moment < expires_at else None


def next_refund_query_after(requested_at: datetime, attempts: int) -> datetime:
    """When a refund that has been queried `attempts` times is queried next."""
    return requested_at + query_offset(attempts)
