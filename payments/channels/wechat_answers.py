"""Reading what `wechatpayv3` hands back: (status, text) pairs, exceptions, and the JSON inside (payments.md §6.2).

Only a 2xx answer has been verified by the SDK (it raises otherwise), so only a 2xx answer may carry a success fact.
A non-2xx answer is unverified: it is at most evidence that WeChat refused, never that something happened.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from payments.channels.base import Outcome, RefundFact, RefundState, TradeFact, TradeState

log = logging.getLogger("zsb.payments.wechat")

# Error codes that say "try again" rather than "no": the request may or may not have been acted upon.
TRANSIENT_CODES = frozenset({"SYSTEM_ERROR", "SYSTEMERROR", "FREQUENCY_LIMITED", "BANK_ERROR", "SERVICE_UNAVAILABLE"})
# A payment already went through: on create or close this is a reason to query, never a refusal to believe.
ORDER_PAID_CODES = frozenset({"ORDERPAID", "ORDER_PAID"})
ORDER_CLOSED_CODES = frozenset({"ORDER_CLOSED", "ORDERCLOSED"})
NOT_FOUND_CODES = frozenset({"ORDER_NOT_EXIST", "ORDERNOTEXIST", "RESOURCE_NOT_EXISTS"})

TRADE_STATES: Mapping[str, TradeState] = {
    "SUCCESS": TradeState.PAID,
    "REFUND": TradeState.PAID,  # 转入退款: the money arrived; refunds are facts of their own
    "NOTPAY": TradeState.PENDING,
    "USERPAYING": TradeState.PENDING,
    "CLOSED": TradeState.CLOSED,
    "REVOKED": TradeState.CLOSED,  # 付款码 only: cancelled before any money moved
    "PAYERROR": TradeState.FAILED,
}
REFUND_STATES: Mapping[str, RefundState] = {
    "SUCCESS": RefundState.SUCCEEDED,
    "PROCESSING": RefundState.PROCESSING,
    "CLOSED": RefundState.FAILED,
    "ABNORMAL": RefundState.ABNORMAL,
}
# Personal data never stored with an event (payments.md §15.1).
REDACTED_KEYS = frozenset({"payer", "openid", "sp_openid", "sub_openid", "user_received_account"})


@dataclass(frozen=True)
class Answer:
    """`OK`: a verified 2xx with its JSON object (empty for 204). `REJECTED`: a 4xx carrying a WeChat business
    code. `UNKNOWN`: anything else (exception, timeout, 5xx, unreadable), with `code` saying why."""

    outcome: Outcome
    status: int | None = None
    body: dict[str, Any] = field(default_factory=dict)
    code: str = ""
    raw: Any = None  # the 2xx payload as the SDK returned it (bytes for a bill file)


async def call_sdk(operation: str, request: Callable[[], Awaitable[Any]]) -> Answer:
    """Runs one SDK call; every exception it raises (it raises bare `Exception` on a bad signature) is UNKNOWN."""
    try:
        status, payload = await request()
    except Exception as exc:
        log.warning("wechat %s: no usable answer (%s)", operation, type(exc).__name__)
        return Answer(Outcome.UNKNOWN, code=f"SDK_{type(exc).__name__}")
    return read_answer(operation, status, payload)


def read_answer(operation: str, status: Any, payload: Any) -> Answer:
    if not isinstance(status, int):
        return Answer(Outcome.UNKNOWN, code="NO_STATUS")
    if 200 <= status < 300:
        if status == 204 or payload in (None, "", b""):
            return Answer(Outcome.OK, status, {}, raw=payload)
        if isinstance(payload, bytes | bytearray):
            return Answer(Outcome.OK, status, {}, raw=bytes(payload))
        body = _json_object(payload)
        if body is None:
            return Answer(Outcome.UNKNOWN, status, code="UNREADABLE_ANSWER")
        return Answer(Outcome.OK, status, body, raw=payload)
    error = _json_object(payload) or {}
    code = error.get("code") if isinstance(error.get("code"), str) else None
    if status >= 500 or status == 429 or status < 400 or not code or code in TRANSIENT_CODES:
        log.warning("wechat %s: HTTP %s %s", operation, status, code or "")
        return Answer(Outcome.UNKNOWN, status, error, code or f"HTTP_{status}")
    log.info("wechat %s: refused with HTTP %s %s", operation, status, code)
    return Answer(Outcome.REJECTED, status, error, code)


def _json_object(payload: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(payload) if isinstance(payload, str | bytes | bytearray) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def fen(value: Any) -> int | None:
    """WeChat amounts are integer fen; a bool or a float is not one."""
    return value if type(value) is int and value >= 0 else None


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def rfc3339(value: Any) -> datetime | None:
    """`2018-06-08T10:34:56+08:00` as an aware UTC datetime; None when absent or not aware."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: redact(v) for k, v in value.items() if k not in REDACTED_KEYS}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def trade_fact(out_trade_no: str, doc: Mapping[str, Any]) -> TradeFact:
    """A verified transaction object (query answer or TRANSACTION.* notify resource) as a fact."""
    if doc.get("out_trade_no") != out_trade_no:
        return TradeFact(Outcome.UNKNOWN, out_trade_no, reason="ANSWER_FOR_ANOTHER_TRADE")
    state = TRADE_STATES.get(str(doc.get("trade_state")))
    if state is None:
        return TradeFact(Outcome.UNKNOWN, out_trade_no, reason=f"UNKNOWN_TRADE_STATE_{doc.get('trade_state')}")
    amount = _mapping(doc.get("amount"))
    total, transaction_id = fen(amount.get("total")), text(doc.get("transaction_id"))
    if state is TradeState.PAID and (total is None or transaction_id is None):
        # A payment without its amount or trade number cannot be checked, so it is not yet a fact.
        return TradeFact(Outcome.UNKNOWN, out_trade_no, reason="INCOMPLETE_PAYMENT")
    return TradeFact(
        Outcome.OK,
        out_trade_no,
        state=state,
        channel_trade_no=transaction_id,
        amount_fen=total,
        currency=text(amount.get("currency")) or "CNY",
        merchant_id=text(doc.get("mchid")),
        app_id=text(doc.get("appid")),
        paid_at=rfc3339(doc.get("success_time")) if state is TradeState.PAID else None,
        payload_redacted=redact(doc),
    )


def refund_fact(out_refund_no: str, doc: Mapping[str, Any], status_key: str = "status") -> RefundFact:
    """A verified refund object (refund answer, refund query, or REFUND.* notify resource) as a fact."""
    if doc.get("out_refund_no") != out_refund_no:
        return RefundFact(Outcome.UNKNOWN, out_refund_no, reason="ANSWER_FOR_ANOTHER_REFUND")
    state = REFUND_STATES.get(str(doc.get(status_key)))
    if state is None:
        return RefundFact(Outcome.UNKNOWN, out_refund_no, reason=f"UNKNOWN_REFUND_STATUS_{doc.get(status_key)}")
    amount = _mapping(doc.get("amount"))
    refunded = fen(amount.get("refund"))
    if state is RefundState.SUCCEEDED and refunded is None:
        return RefundFact(Outcome.UNKNOWN, out_refund_no, reason="INCOMPLETE_REFUND")
    return RefundFact(
        Outcome.OK,
        out_refund_no,
        state=state,
        out_trade_no=text(doc.get("out_trade_no")),
        channel_refund_id=text(doc.get("refund_id")),
        amount_fen=refunded,
        payload_redacted=redact(doc),
    )
