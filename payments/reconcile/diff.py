"""The reconciliation diff of payments.md §13, pure: a channel's daily bill against our orders and refunds.

Their lines are matched by `out_trade_no` / `out_refund_no` whatever day we recorded the fact on (our `paid_at`
may fall just past midnight for a payment the channel booked at 23:59:59). Our own side is the PAID orders and
SUCCEEDED refunds of the Beijing-time date; those missing from the bill are only *candidates* (`Unmatched`):
the caller asks the channel before calling one a diff, since the channel may simply have booked it on the
neighbouring day.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from api.models.payment import DiffKind, OrderStatus, RefundStatus
from payments.channels.base import BillLine

# Kinds that need a person at once (payments.md §13): money we cannot account for, or a fulfilment that has no
# payment behind it.
CRITICAL = frozenset({DiffKind.LOCAL_MISSING, DiffKind.WE_PAID_THEY_DIDNT})


@dataclass(frozen=True)
class OurOrder:
    order_id: uuid.UUID
    bill_id: uuid.UUID
    out_trade_no: str
    status: OrderStatus
    amount_fen: int
    paid_fen: int
    channel_trade_no: str | None
    paid_at: datetime | None

    def view(self) -> dict[str, Any]:
        return {
            "orderId": str(self.order_id),
            "billId": str(self.bill_id),
            "status": self.status.value,
            "amountFen": self.amount_fen,
            "paidFen": self.paid_fen,
            "channelTradeNo": self.channel_trade_no,
            "paidAt": self.paid_at.isoformat() if self.paid_at else None,
        }


@dataclass(frozen=True)
class OurRefund:
    refund_id: uuid.UUID
    bill_id: uuid.UUID
    out_trade_no: str
    out_refund_no: str
    status: RefundStatus
    amount_fen: int
    succeeded_at: datetime | None

    def view(self) -> dict[str, Any]:
        return {
            "refundId": str(self.refund_id),
            "billId": str(self.bill_id),
            "outTradeNo": self.out_trade_no,
            "status": self.status.value,
            "amountFen": self.amount_fen,
            "succeededAt": self.succeeded_at.isoformat() if self.succeeded_at else None,
        }


def line_view(line: BillLine) -> dict[str, Any]:
    return {
        "kind": line.kind,
        "outTradeNo": line.out_trade_no,
        "channelTradeNo": line.channel_trade_no,
        "outRefundNo": line.out_refund_no,
        "amountFen": line.amount_fen,
        "at": line.at.isoformat(),
    }


@dataclass(frozen=True)
class Diff:
    kind: DiffKind
    out_trade_no: str
    out_refund_no: str | None = None
    ours: Mapping[str, Any] = field(default_factory=dict)
    theirs: Mapping[str, Any] = field(default_factory=dict)
    line: BillLine | None = None  # the bill line behind it, when there is one
    order: OurOrder | None = None
    refund: OurRefund | None = None

    @property
    def key(self) -> str:
        return f"refund:{self.out_refund_no}" if self.out_refund_no else f"trade:{self.out_trade_no}"

    @property
    def critical(self) -> bool:
        # A refund the channel paid out that we have no record of is money gone unexplained: as critical as
        # LOCAL_MISSING, although §13 names only the two kinds.
        return self.kind in CRITICAL or (self.kind is DiffKind.REFUND_MISMATCH and self.refund is None)


@dataclass(frozen=True)
class Unmatched:
    """Ours but not in their bill: a WE_PAID_THEY_DIDNT or REFUND_MISMATCH once the channel's query agrees."""

    order: OurOrder | None = None
    refund: OurRefund | None = None


@dataclass
class Comparison:
    diffs: list[Diff]
    unmatched: list[Unmatched]
    counts: Counter[str]


def compare(
    lines: Iterable[BillLine],
    orders: Mapping[str, OurOrder],
    refunds: Mapping[str, OurRefund],
    paid_that_day: Iterable[OurOrder],
    refunded_that_day: Iterable[OurRefund],
) -> Comparison:
    """`orders` / `refunds`: ours, by number, for every number the bill mentions (any date, this channel)."""
    diffs: list[Diff] = []
    counts: Counter[str] = Counter()
    seen_trades: set[str] = set()
    seen_refunds: set[str] = set()
    for line in lines:
        counts[f"{line.kind}_lines"] += 1
        if line.kind == "refund":
            seen_refunds.add(line.out_refund_no or "")
            diff = _refund_line(line, refunds.get(line.out_refund_no or ""))
        else:
            seen_trades.add(line.out_trade_no)
            diff = _pay_line(line, orders.get(line.out_trade_no))
        if diff is None:
            counts["matched"] += 1
        elif all(d.key != diff.key for d in diffs):  # one diff per key, even for a bill that repeats a line
            diffs.append(diff)
    unmatched = [Unmatched(order=o) for o in paid_that_day if o.out_trade_no not in seen_trades]
    unmatched += [Unmatched(refund=r) for r in refunded_that_day if r.out_refund_no not in seen_refunds]
    return Comparison(diffs, unmatched, counts)


def _pay_line(line: BillLine, order: OurOrder | None) -> Diff | None:
    if order is None:
        return Diff(DiffKind.LOCAL_MISSING, line.out_trade_no, theirs=line_view(line), line=line)
    if order.status is OrderStatus.PAID:
        return None if line.amount_fen == order.paid_fen else _about(DiffKind.AMOUNT_MISMATCH, line, order)
    if line.amount_fen != order.amount_fen:
        # They took another amount than the order asked for: never applied automatically.
        return _about(DiffKind.AMOUNT_MISMATCH, line, order)
    return _about(DiffKind.STATUS_MISMATCH_THEY_PAID, line, order)


def _about(kind: DiffKind, line: BillLine, order: OurOrder) -> Diff:
    return Diff(kind, line.out_trade_no, ours=order.view(), theirs=line_view(line), line=line, order=order)


def _refund_line(line: BillLine, refund: OurRefund | None) -> Diff | None:
    theirs = line_view(line)
    number = line.out_refund_no or f"{line.out_trade_no}:{line.channel_trade_no}"
    if refund is None:
        return Diff(DiffKind.REFUND_MISMATCH, line.out_trade_no, number, theirs=theirs, line=line)
    if refund.status is RefundStatus.SUCCEEDED and refund.amount_fen == line.amount_fen:
        return None
    return Diff(
        DiffKind.REFUND_MISMATCH, line.out_trade_no, number, ours=refund.view(), theirs=theirs, line=line, refund=refund
    )
