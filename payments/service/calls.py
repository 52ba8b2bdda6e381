"""Every call to a channel goes through here: timed, counted by outcome, and an adapter bug that raises is an
UNKNOWN answer like any other trouble (payments.md §4: adapters never raise; this is the belt to those braces)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from payments.channels.base import (
    CloseResult,
    CreateResult,
    OrderSpec,
    Outcome,
    PaymentChannel,
    RefundFact,
    RefundSpec,
    TradeFact,
)
from payments.service import metrics

log = logging.getLogger("zsb.payments")


class _HasOutcome(Protocol):
    @property
    def outcome(self) -> Outcome: ...


R = TypeVar("R", bound=_HasOutcome)


async def _timed(adapter: PaymentChannel, operation: str, call: Callable[[], Awaitable[R]], unknown: R) -> R:
    started = time.perf_counter()
    try:
        result = await call()
    except Exception:
        log.exception("payments: %s %s raised; treated as UNKNOWN", adapter.name, operation)
        result = unknown
    metrics.CHANNEL_LATENCY.labels(adapter.name.value, operation).observe(time.perf_counter() - started)
    metrics.CHANNEL_CALLS.labels(adapter.name.value, operation, result.outcome.value).inc()
    return result


async def create_order(adapter: PaymentChannel, spec: OrderSpec) -> CreateResult:
    unknown = CreateResult(Outcome.UNKNOWN, reason="adapter error")
    return await _timed(adapter, "create_order", lambda: adapter.create_order(spec), unknown)


async def query(adapter: PaymentChannel, out_trade_no: str) -> TradeFact:
    unknown = TradeFact(Outcome.UNKNOWN, out_trade_no, reason="adapter error")
    return await _timed(adapter, "query", lambda: adapter.query(out_trade_no), unknown)


async def close(adapter: PaymentChannel, out_trade_no: str) -> CloseResult:
    unknown = CloseResult(Outcome.UNKNOWN, reason="adapter error")
    return await _timed(adapter, "close", lambda: adapter.close(out_trade_no), unknown)


async def refund(adapter: PaymentChannel, spec: RefundSpec) -> RefundFact:
    unknown = RefundFact(Outcome.UNKNOWN, spec.out_refund_no, out_trade_no=spec.out_trade_no, reason="adapter error")
    return await _timed(adapter, "refund", lambda: adapter.refund(spec), unknown)


async def query_refund(adapter: PaymentChannel, out_trade_no: str, out_refund_no: str) -> RefundFact:
    unknown = RefundFact(Outcome.UNKNOWN, out_refund_no, out_trade_no=out_trade_no, reason="adapter error")
    return await _timed(adapter, "query_refund", lambda: adapter.query_refund(out_trade_no, out_refund_no), unknown)
