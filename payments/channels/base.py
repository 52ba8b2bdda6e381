"""The channel interface of payments.md §4: every adapter answers with facts and never raises for channel trouble.

`UNKNOWN` means "we do not know": only a later query resolves it, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol

from starlette.responses import Response

from api.models.payment import Channel, Product


class Outcome(StrEnum):
    OK = "OK"  # verified answer, action done or state known
    REJECTED = "REJECTED"  # the channel definitively refused (business error)
    UNKNOWN = "UNKNOWN"  # timeout, transport error, 5xx, unverifiable answer, any SDK exception


class TradeState(StrEnum):
    PAID = "PAID"
    PENDING = "PENDING"
    CLOSED = "CLOSED"
    FAILED = "FAILED"
    NOT_FOUND = "NOT_FOUND"
    REFUNDED = "REFUNDED"  # Alipay TRADE_CLOSED after a full refund: a refund fact, never a payment failure


class RefundState(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    PROCESSING = "PROCESSING"
    FAILED = "FAILED"
    ABNORMAL = "ABNORMAL"
    NOT_FOUND = "NOT_FOUND"


@dataclass(frozen=True)
class OrderSpec:
    out_trade_no: str
    amount_fen: int
    subject: str
    product: Product
    expires_at: datetime  # aware; sent as time_expire so that the channel refuses late payment
    payer_channel_id: str | None = None  # WeChat openid / Alipay buyer_id for JSAPI, from identity's bindings
    return_url: str | None = None  # WAP / H5: where the browser comes back to
    payer_client_ip: str | None = None  # WeChat H5 wants the payer's IP (scene_info); unknown on a poller's retry


@dataclass(frozen=True)
class CreateResult:
    outcome: Outcome
    payload: dict[str, Any] = field(default_factory=dict)  # what the phone needs (payments.md §10)
    channel_trade_no: str | None = None  # Alipay trade.create answers one at once
    reason: str = ""


@dataclass(frozen=True)
class TradeFact:
    outcome: Outcome
    out_trade_no: str
    state: TradeState | None = None
    channel_trade_no: str | None = None
    amount_fen: int | None = None
    currency: str = "CNY"
    merchant_id: str | None = None  # Alipay seller_id / WeChat mchid
    app_id: str | None = None  # Alipay app_id / WeChat appid
    paid_at: datetime | None = None
    refunded_fen: int | None = None  # Alipay TRADE_CLOSED with refund_fee
    payload_redacted: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class CloseResult:
    outcome: Outcome
    already_paid: bool = False  # the close revealed a payment: query and apply it
    reason: str = ""


@dataclass(frozen=True)
class RefundSpec:
    out_trade_no: str
    out_refund_no: str
    amount_fen: int
    total_fen: int
    reason: str = ""


@dataclass(frozen=True)
class RefundFact:
    outcome: Outcome
    out_refund_no: str
    state: RefundState | None = None
    out_trade_no: str | None = None
    channel_refund_id: str | None = None
    amount_fen: int | None = None
    payload_redacted: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class NotifyFact:
    """A verified notify: its dedupe key (Alipay notify_id, WeChat envelope id) and one fact."""

    dedupe_key: str
    trade: TradeFact | None = None
    refund: RefundFact | None = None
    channel_event_id: str | None = None


@dataclass(frozen=True)
class BillLine:
    """One line of a channel's daily bill, amounts in fen."""

    kind: str  # "pay" | "refund"
    out_trade_no: str
    channel_trade_no: str
    amount_fen: int
    at: datetime
    out_refund_no: str | None = None


@dataclass(frozen=True)
class BillDownload:
    outcome: Outcome
    lines: tuple[BillLine, ...] = ()
    reason: str = ""


class Headers(Protocol):
    def get(self, key: str, default: str = ..., /) -> str: ...


class PaymentChannel(Protocol):
    name: Channel
    products: frozenset[Product]

    async def create_order(self, spec: OrderSpec) -> CreateResult: ...
    async def query(self, out_trade_no: str) -> TradeFact: ...
    async def close(self, out_trade_no: str) -> CloseResult: ...
    async def refund(self, spec: RefundSpec) -> RefundFact: ...
    async def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundFact: ...
    def parse_notify(self, headers: Any, body: bytes) -> NotifyFact | None: ...  # verify + parse, no I/O
    def ack(self, accepted: bool) -> Response: ...  # accepted=False: ask the channel to deliver again
    def reject(self) -> Response: ...  # an unverifiable notify
    async def download_bill(self, bill_date: date) -> BillDownload: ...
