"""The order, refund and bill state machines of payments.md §9 as data: pure, no I/O.

The service asks these tables before every compare-and-set; anything they do not allow is rejected and logged.
"""

from __future__ import annotations

from api.models.payment import BillStatus, OrderStatus, RefundStatus

_O = OrderStatus
ORDER_TRANSITIONS: frozenset[tuple[OrderStatus, OrderStatus]] = frozenset(
    {
        (_O.CREATED, _O.PAYING),
        (_O.CREATED, _O.FAILED),
        (_O.CREATED, _O.PAID),  # the success notify overtook the prepay answer
        (_O.PAYING, _O.PAID),
        (_O.CREATED, _O.CLOSED),
        (_O.PAYING, _O.CLOSED),
        (_O.PAYING, _O.FAILED),
        # Corrections: money that arrived wins over a close or a failure (anomaly PAID_AFTER_CLOSE).
        (_O.CLOSED, _O.PAID),
        (_O.FAILED, _O.PAID),
    }
)
CORRECTIONS = frozenset({(_O.CLOSED, _O.PAID), (_O.FAILED, _O.PAID)})
ORDER_TERMINAL = frozenset({_O.PAID})

_R = RefundStatus
REFUND_TRANSITIONS: frozenset[tuple[RefundStatus, RefundStatus]] = frozenset(
    {
        (_R.CREATED, _R.SUCCEEDED),
        (_R.CREATED, _R.SUBMITTED),
        (_R.CREATED, _R.FAILED),
        (_R.CREATED, _R.UNKNOWN),
        (_R.SUBMITTED, _R.SUCCEEDED),
        (_R.SUBMITTED, _R.FAILED),
        (_R.SUBMITTED, _R.UNKNOWN),
        (_R.SUBMITTED, _R.ABNORMAL),
        # Only a query or a refund notify resolves UNKNOWN (never a new request).
        (_R.UNKNOWN, _R.SUBMITTED),
        (_R.UNKNOWN, _R.SUCCEEDED),
        (_R.UNKNOWN, _R.FAILED),
        (_R.UNKNOWN, _R.ABNORMAL),
        # A confirmation seen after a channel's ABNORMAL (manual handling succeeded or gave up).
        (_R.ABNORMAL, _R.SUCCEEDED),
        (_R.ABNORMAL, _R.FAILED),
    }
)
REFUND_TERMINAL = frozenset({_R.SUCCEEDED, _R.FAILED})
# Answers that only a query or a notify may give to an UNKNOWN refund; a fresh request's answer may not.
REFUND_RESOLVED_ONLY_BY_QUERY = frozenset({_R.UNKNOWN})

_B = BillStatus
BILL_TRANSITIONS: frozenset[tuple[BillStatus, BillStatus]] = frozenset(
    {
        (_B.UNPAID, _B.PAID),
        (_B.UNPAID, _B.CANCELLED),
        (_B.PAID, _B.PARTIALLY_REFUNDED),
        (_B.PAID, _B.REFUNDED),
        (_B.PARTIALLY_REFUNDED, _B.PARTIALLY_REFUNDED),
        (_B.PARTIALLY_REFUNDED, _B.REFUNDED),
    }
)


def order_allows(current: OrderStatus, target: OrderStatus) -> bool:
    return (current, target) in ORDER_TRANSITIONS


def order_sources(target: OrderStatus) -> tuple[OrderStatus, ...]:
    """Every status an order may move to `target` from: the `status__in` of the compare-and-set."""
    return tuple(sorted((f for f, t in ORDER_TRANSITIONS if t is target), key=list(OrderStatus).index))


def refund_allows(current: RefundStatus, target: RefundStatus) -> bool:
    return (current, target) in REFUND_TRANSITIONS


def refund_sources(target: RefundStatus) -> tuple[RefundStatus, ...]:
    return tuple(sorted((f for f, t in REFUND_TRANSITIONS if t is target), key=list(RefundStatus).index))


def bill_after_refunds(paid_fen: int, refunded_fen: int) -> BillStatus:
    """The bill follows its successful refunds: PARTIALLY_REFUNDED while some, REFUNDED at equality."""
    if refunded_fen < 0 or refunded_fen > paid_fen:
        raise ValueError(f"refunded {refunded_fen} of {paid_fen} fen")
    if refunded_fen == 0:
        return _B.PAID
    return _B.REFUNDED if refunded_fen == paid_fen else _B.PARTIALLY_REFUNDED
