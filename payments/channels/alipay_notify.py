"""Alipay asynchronous notifies (异步通知, payments.md §5.5 and §11 step 3): verify, then read as one fact."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from urllib.parse import parse_qsl

from alipay.aop.api.util.SignatureUtils import get_sign_content
from cryptography.hazmat.primitives.asymmetric import rsa

from payments.channels.alipay_wire import parse_beijing
from payments.channels.base import NotifyFact, Outcome, RefundFact, RefundState, TradeFact, TradeState
from payments.channels.rsa2 import rsa2_verify
from payments.money import yuan_to_fen

# Personal data never stored (payments.md §15.1).
REDACTED_FIELDS = frozenset({"buyer_logon_id", "buyer_id", "buyer_open_id", "buyer_user_id", "buyer_email"})
TRADE_STATES = {
    "TRADE_SUCCESS": TradeState.PAID,
    "TRADE_FINISHED": TradeState.PAID,  # the refund window is over; success-equivalent
    "WAIT_BUYER_PAY": TradeState.PENDING,
    "TRADE_CLOSED": TradeState.CLOSED,  # unpaid and expired, or fully refunded (see `trade_fact`)
}


def verify_notify(body: bytes, alipay_key: rsa.RSAPublicKey, app_id: str) -> dict[str, str] | None:
    """Every field of a notify that Alipay signed for our app, or None.

    The signed string is every received field but `sign` and `sign_type`, blank ones included. A replayed
    notify verifies again: freshness is not Alipay's promise, deduplication is ours (§11).
    """
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    params = dict(pairs)
    if len(params) != len(pairs):
        return None  # a repeated field: which one was signed is anyone's guess
    sign, sign_type = params.pop("sign", ""), params.pop("sign_type", "")
    if sign_type != "RSA2" or not sign:
        return None
    if not rsa2_verify(alipay_key, get_sign_content(params), sign):
        return None
    return params if params.get("app_id") == app_id else None


def redact(params: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in params.items() if key not in REDACTED_FIELDS and key != "sign"}


def is_refund_notify(params: Mapping[str, str]) -> bool:
    return bool(params.get("gmt_refund") or params.get("out_biz_no"))


def notify_fact(params: Mapping[str, str]) -> NotifyFact | None:
    """One fact from verified fields; None when they cannot be read (a notify we cannot act on)."""
    out_trade_no, trade_no, status = params.get("out_trade_no"), params.get("trade_no"), params.get("trade_status")
    if not out_trade_no or not trade_no or status not in TRADE_STATES:
        return None
    if is_refund_notify(params):
        # Alipay keeps notify_id per trade-status change; refund notifies of one trade need their own key.
        dedupe_key = f"{trade_no}:{status}:{params.get('gmt_refund', '')}"
    else:
        dedupe_key = params.get("notify_id", "")
    if not dedupe_key:
        return None
    try:
        if params.get("out_biz_no"):
            return NotifyFact(dedupe_key, refund=refund_fact(params), channel_event_id=params.get("notify_id"))
        return NotifyFact(dedupe_key, trade=trade_fact(params), channel_event_id=params.get("notify_id"))
    except ValueError:
        return None


def trade_fact(params: Mapping[str, str]) -> TradeFact:
    """Raises ValueError for an unreadable amount."""
    total = yuan_to_fen(params.get("total_amount", ""))
    refunded = yuan_to_fen(params["refund_fee"]) if params.get("refund_fee") else None
    state = TRADE_STATES[params["trade_status"]]
    if state is TradeState.CLOSED and refunded is not None and refunded == total:
        state = TradeState.REFUNDED  # a full refund closes the trade: never a payment failure
    paid_at = parse_beijing(params.get("gmt_payment"))
    return TradeFact(
        outcome=Outcome.OK,
        out_trade_no=params["out_trade_no"],
        state=state,
        channel_trade_no=params["trade_no"],
        amount_fen=total,
        merchant_id=params.get("seller_id") or None,
        app_id=params.get("app_id") or None,
        paid_at=paid_at.astimezone(UTC) if paid_at else None,
        refunded_fen=refunded,
        payload_redacted=redact(params),
    )


def refund_fact(params: Mapping[str, str]) -> RefundFact:
    """A refund notify: Alipay sends one when a refund has succeeded.

    `refund_fee` is the trade's total refunded so far, not this refund's amount; `send_back_fee`, where Alipay
    includes it, is this refund's. Without it the amount is left for the refund row we already hold.
    """
    this_refund = yuan_to_fen(params["send_back_fee"]) if params.get("send_back_fee") else None
    if params.get("refund_fee"):
        yuan_to_fen(params["refund_fee"])  # still must be a readable amount
    return RefundFact(
        outcome=Outcome.OK,
        out_refund_no=params["out_biz_no"],
        state=RefundState.SUCCEEDED,
        out_trade_no=params["out_trade_no"],
        amount_fen=this_refund,
        payload_redacted=redact(params),
    )
