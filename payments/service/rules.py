"""The decisions behind apply_trade_fact, apply_refund_fact and submit_refund, as pure functions (no I/O).

The service reads the rows, asks these, then writes what they say under compare-and-set.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from api.models.payment import Anomaly, BillStatus, Channel, OrderStatus, RefundStatus
from payments.channels.base import Outcome, RefundState, TradeFact, TradeState
from payments.deps import MerchantIdentity
from payments.transitions import order_allows

_O = OrderStatus
_LIVE = (_O.CREATED, _O.PAYING)


def expected_identity(channel: Channel, merchant: MerchantIdentity) -> tuple[str, str]:
    """(merchant id, app id) a fact about one of our orders must name on `channel`."""
    if channel is Channel.ALIPAY:
        return merchant.alipay_seller_id, merchant.alipay_app_id
    return merchant.wechat_mchid, merchant.wechat_appid


def identity_anomaly(
    fact: TradeFact, *, channel: Channel, amount_fen: int, currency: str, merchant: MerchantIdentity
) -> Anomaly | None:
    """A fact that names another merchant or app, or another amount or currency, is not about our order as we
    made it. Identity fields a channel leaves out of an answer (Alipay's query names no seller) are not held
    against it: the answer is signed for our app. A payment must state its amount, though."""
    merchant_id, app_id = expected_identity(channel, merchant)
    if (fact.merchant_id is not None and fact.merchant_id != merchant_id) or (
        fact.app_id is not None and fact.app_id != app_id
    ):
        return Anomaly.MERCHANT_MISMATCH
    if fact.state is TradeState.PAID:
        if fact.amount_fen is None or fact.amount_fen != amount_fen or (fact.currency or "CNY") != currency:
            return Anomaly.AMOUNT_MISMATCH
    elif fact.amount_fen is not None and fact.state is TradeState.REFUNDED and fact.amount_fen != amount_fen:
        return Anomaly.AMOUNT_MISMATCH
    return None


class Kind(Enum):
    NOTHING = "NOTHING"  # a repeat, a pending trade, a state we already hold: only the event is kept
    TRANSITION = "TRANSITION"  # compare-and-set the order to `target`
    MISMATCH = "MISMATCH"  # no transition; the order gets `anomaly`
    REFUND_CONFIRMATION = "REFUND_CONFIRMATION"  # a paid trade closed or refunded: refunds, never a failure
    REFUSED = "REFUSED"  # a pair the state machine forbids (PAID → anything): logged and alerted


@dataclass(frozen=True)
class TradeDecision:
    kind: Kind
    target: OrderStatus | None = None
    anomaly: Anomaly | None = None
    reason: str = ""


def decide_trade(
    status: OrderStatus,
    fact: TradeFact,
    *,
    channel: Channel,
    amount_fen: int,
    currency: str,
    merchant: MerchantIdentity,
) -> TradeDecision:
    if fact.outcome is not Outcome.OK or fact.state is None:
        return TradeDecision(Kind.NOTHING, reason="no verified state")
    mismatch = identity_anomaly(fact, channel=channel, amount_fen=amount_fen, currency=currency, merchant=merchant)
    if mismatch is not None:
        return TradeDecision(Kind.MISMATCH, anomaly=mismatch, reason=mismatch.value)
    state = fact.state
    if status is _O.PAID:
        if state is TradeState.PAID:
            if fact.refunded_fen:  # a paid trade's notify stating a refunded total (Alipay partial refunds)
                return TradeDecision(Kind.REFUND_CONFIRMATION, reason="refunded total reported")
            return TradeDecision(Kind.NOTHING, reason="already paid")
        if state in (TradeState.REFUNDED, TradeState.CLOSED):
            # Alipay TRADE_CLOSED on a paid trade means fully refunded (payments.md §9.1, §13).
            return TradeDecision(Kind.REFUND_CONFIRMATION, reason="paid trade refunded")
        if state in (TradeState.PENDING, TradeState.NOT_FOUND):
            return TradeDecision(Kind.REFUSED, reason=f"paid order reported {state.value}")
        return TradeDecision(Kind.REFUSED, reason=f"PAID -> {state.value} is forbidden")
    if state is TradeState.PAID:
        anomaly = Anomaly.PAID_AFTER_CLOSE if status in (_O.CLOSED, _O.FAILED) else None
        return TradeDecision(Kind.TRANSITION, target=_O.PAID, anomaly=anomaly, reason="paid")
    if state is TradeState.REFUNDED:
        return TradeDecision(Kind.REFUSED, reason=f"refund reported for a {status.value} order")
    if state is TradeState.CLOSED:
        if status in _LIVE:
            return TradeDecision(Kind.TRANSITION, target=_O.CLOSED, reason="closed at the channel")
        return TradeDecision(Kind.NOTHING, reason=f"already {status.value}")
    if state is TradeState.FAILED:
        if status in _LIVE and order_allows(status, _O.FAILED):
            return TradeDecision(Kind.TRANSITION, target=_O.FAILED, reason="failed at the channel")
        return TradeDecision(Kind.NOTHING, reason=f"already {status.value}")
    return TradeDecision(Kind.NOTHING, reason=state.value.lower())


class BillEffect(Enum):
    PAY = "PAY"  # UNPAID → PAID with this order, its receipt and payments.bill_paid
    ALREADY = "ALREADY"  # the bill is paid through this very order
    DUPLICATE = "DUPLICATE"  # paid through another order: DUPLICATE_PAYMENT and a full refund of this one
    NOT_PAYABLE = "NOT_PAYABLE"  # cancelled meanwhile: money for nothing, refunded in full


def bill_effect(bill_status: BillStatus, paid_order_id: object, order_id: object) -> BillEffect:
    if bill_status is BillStatus.UNPAID:
        return BillEffect.PAY
    if bill_status is BillStatus.CANCELLED:
        return BillEffect.NOT_PAYABLE
    return BillEffect.ALREADY if paid_order_id == order_id else BillEffect.DUPLICATE


def refund_target(state: RefundState | None, *, fresh_request: bool) -> RefundStatus | None:
    """The refund status a channel's refund answer stands for (payments.md §9.2). A fresh request that the
    channel answers ABNORMAL or NOT_FOUND is only SUBMITTED / UNKNOWN: a query says the rest."""
    if state is RefundState.SUCCEEDED:
        return RefundStatus.SUCCEEDED
    if state is RefundState.PROCESSING:
        return RefundStatus.SUBMITTED
    if state is RefundState.FAILED:
        return RefundStatus.FAILED
    if state is RefundState.ABNORMAL:
        return RefundStatus.SUBMITTED if fresh_request else RefundStatus.ABNORMAL
    if state is RefundState.NOT_FOUND:
        return RefundStatus.UNKNOWN if fresh_request else None
    return None


K = TypeVar("K")


def refunds_making_up(need_fen: int, pending: Sequence[tuple[K, int]], *, limit: int = 12) -> list[K] | None:
    """Which in-flight refunds a channel's refunded total confirms: the one set of them whose amounts add up to
    `need_fen`, or None when no set does or several do (then each is queried instead of guessed)."""
    if need_fen <= 0 or len(pending) > limit:
        return None
    found: list[K] | None = None
    for size in range(1, len(pending) + 1):
        for combo in itertools.combinations(pending, size):
            if sum(amount for _, amount in combo) == need_fen:
                if found is not None:
                    return None
                found = [key for key, _ in combo]
    return found


_ANOMALY_RANK = {
    Anomaly.AMOUNT_MISMATCH: 1,
    Anomaly.MERCHANT_MISMATCH: 1,
    Anomaly.PAID_AFTER_CLOSE: 2,
    Anomaly.DUPLICATE_PAYMENT: 3,
}


def anomaly_after(current: Anomaly | None, new: Anomaly | None) -> Anomaly | None:
    """The order's one `anomaly` column keeps the weightiest seen (a duplicate payment outranks a late one, which
    outranks a mismatching fact); every occurrence stays in the events and the payments.anomaly outbox."""
    if new is None:
        return current
    if current is None or _ANOMALY_RANK[new] > _ANOMALY_RANK[current]:
        return new
    return current
