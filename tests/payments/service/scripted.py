"""A scripted test double of the PaymentChannel protocol, for the service-level unit tests of payments.service
only (idempotency, compare-and-set, refund arithmetic, notify handling) where a test must decide exactly what a
channel answers and when. The real adapters are tested against the sandboxes elsewhere; the conformance suite
drives the service through them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from starlette.responses import PlainTextResponse, Response

from api.identity.tokens import AccessClaims
from api.models.payment import Bill, BillKind, Channel, Product
from api.settings import PaymentsSettings
from payments.channels.base import (
    BillDownload,
    CloseResult,
    CreateResult,
    NotifyFact,
    OrderSpec,
    Outcome,
    RefundFact,
    RefundSpec,
    RefundState,
    TradeFact,
    TradeState,
)
from payments.deps import MerchantIdentity, PaymentsDeps
from payments.service import create_bill

MERCHANT = MerchantIdentity(
    alipay_app_id="2021000000000001",
    alipay_seller_id="2088000000000001",
    wechat_mchid="1900000001",
    wechat_appid="wx-sandbox-pay-app",
)


class StepClock:
    """This test's own clock (the session's live clock is never moved)."""

    def __init__(self) -> None:
        self.moment = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@dataclass
class Trade:
    amount_fen: int
    state: TradeState = TradeState.PENDING
    trade_no: str = field(default_factory=lambda: f"2025{uuid.uuid4().hex[:20]}")
    refunded_fen: int = 0


@dataclass
class ScriptedChannel:
    name: Channel
    products: frozenset[Product] = frozenset(Product)
    calls: list[tuple[str, str]] = field(default_factory=list)
    trades: dict[str, Trade] = field(default_factory=dict)
    refunds: dict[str, RefundFact] = field(default_factory=dict)
    specs: list[OrderSpec] = field(default_factory=list)
    # Scripts: the outcome of the next calls of each operation (None: behave like the channel).
    create_outcome: Outcome | None = None
    close_outcome: Outcome | None = None
    query_outcome: Outcome | None = None
    refund_outcome: Outcome | None = None
    refund_state: RefundState = RefundState.SUCCEEDED
    perform_anyway: bool = False  # an UNKNOWN answer whose action still happened at the channel
    create_gate: asyncio.Event | None = None  # a slow channel: create_order waits for it
    create_called: asyncio.Event = field(default_factory=asyncio.Event)

    def ops(self, operation: str) -> list[str]:
        return [target for op, target in self.calls if op == operation]

    def _ids(self) -> tuple[str, str]:
        if self.name is Channel.ALIPAY:
            return MERCHANT.alipay_seller_id, MERCHANT.alipay_app_id
        return MERCHANT.wechat_mchid, MERCHANT.wechat_appid

    def fact(self, out_trade_no: str, **changes: Any) -> TradeFact:
        trade = self.trades[out_trade_no]
        merchant_id, app_id = self._ids()
        values: dict[str, Any] = {
            "outcome": Outcome.OK,
            "out_trade_no": out_trade_no,
            "state": trade.state,
            "channel_trade_no": trade.trade_no,
            "amount_fen": trade.amount_fen,
            "merchant_id": merchant_id,
            "app_id": app_id,
            "payload_redacted": {"trade_no": trade.trade_no, "buyer_id": "2088-personal"},
        }
        if trade.state is TradeState.REFUNDED:
            values["refunded_fen"] = trade.refunded_fen
        return TradeFact(**(values | changes))

    def pay(self, out_trade_no: str) -> TradeFact:
        self.trades[out_trade_no].state = TradeState.PAID
        return self.fact(out_trade_no)

    async def create_order(self, spec: OrderSpec) -> CreateResult:
        self.calls.append(("create_order", spec.out_trade_no))
        self.specs.append(spec)
        self.create_called.set()
        if self.create_gate is not None:
            await self.create_gate.wait()
        outcome = self.create_outcome or Outcome.OK
        if outcome is Outcome.OK or self.perform_anyway:
            self.trades.setdefault(spec.out_trade_no, Trade(spec.amount_fen))
        if outcome is not Outcome.OK:
            return CreateResult(outcome, reason="scripted")
        return CreateResult(Outcome.OK, payload={"codeUrl": f"weixin://wxpay/{spec.out_trade_no}"})

    async def query(self, out_trade_no: str) -> TradeFact:
        self.calls.append(("query", out_trade_no))
        if self.query_outcome is not None:
            return TradeFact(self.query_outcome, out_trade_no, reason="scripted")
        if out_trade_no not in self.trades:
            return TradeFact(Outcome.OK, out_trade_no, state=TradeState.NOT_FOUND)
        return self.fact(out_trade_no)

    async def close(self, out_trade_no: str) -> CloseResult:
        self.calls.append(("close", out_trade_no))
        if self.close_outcome is not None:
            return CloseResult(self.close_outcome, reason="scripted")
        trade = self.trades.get(out_trade_no)
        if trade is None:
            return CloseResult(Outcome.REJECTED, reason="TRADE_NOT_EXIST")
        if trade.state is TradeState.PAID:
            return CloseResult(Outcome.REJECTED, already_paid=True)
        trade.state = TradeState.CLOSED
        return CloseResult(Outcome.OK)

    async def refund(self, spec: RefundSpec) -> RefundFact:
        self.calls.append(("refund", spec.out_refund_no))
        done = self.refunds.get(spec.out_refund_no)
        if done is None and (self.refund_outcome in (None, Outcome.OK) or self.perform_anyway):
            done = RefundFact(
                Outcome.OK,
                spec.out_refund_no,
                state=self.refund_state,
                out_trade_no=spec.out_trade_no,
                channel_refund_id=f"RF{uuid.uuid4().hex[:12]}",
                amount_fen=spec.amount_fen,
            )
            self.refunds[spec.out_refund_no] = done
        if self.refund_outcome not in (None, Outcome.OK) or done is None:
            return RefundFact(self.refund_outcome or Outcome.UNKNOWN, spec.out_refund_no, reason="scripted")
        return done

    async def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundFact:
        self.calls.append(("query_refund", out_refund_no))
        return self.refunds.get(out_refund_no) or RefundFact(Outcome.OK, out_refund_no, state=RefundState.NOT_FOUND)

    def parse_notify(self, headers: Any, body: bytes) -> NotifyFact | None:
        """Test notifies are JSON: {"signed": true, "dedupe": "...", "trade": {...}} (or "refund")."""
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(doc, dict) or doc.get("signed") is not True:
            return None
        if "trade" in doc:
            trade = doc["trade"]
            changes = {k: v for k, v in trade.items() if k not in ("state", "out_trade_no")}
            fact = self.fact(trade["out_trade_no"], **changes)
            if "state" in trade:
                fact = TradeFact(**(fact.__dict__ | {"state": TradeState(trade["state"])}))
            return NotifyFact(doc["dedupe"], trade=fact)
        refund = doc["refund"]
        return NotifyFact(
            doc["dedupe"],
            refund=RefundFact(Outcome.OK, refund["out_refund_no"], state=RefundState(refund["state"])),
        )

    def ack(self, accepted: bool) -> Response:
        return PlainTextResponse("success" if accepted else "fail")

    def reject(self) -> Response:
        return PlainTextResponse("fail", status_code=400)

    async def download_bill(self, bill_date: date) -> BillDownload:
        return BillDownload(Outcome.OK)


def notify_body(dedupe: str, **trade: Any) -> bytes:
    return orjson.dumps({"signed": True, "dedupe": dedupe, "trade": trade})


@dataclass
class World:
    deps: PaymentsDeps
    clock: StepClock
    alipay: ScriptedChannel
    wechat: ScriptedChannel
    kicks: list[int] = field(default_factory=list)

    def claims(self, person_id: uuid.UUID, level: int = 2, enterprise_id: uuid.UUID | None = None) -> AccessClaims:
        return AccessClaims(
            subject=person_id,
            kind="citizen",
            family_id=uuid.uuid4(),
            level=level,
            expires_at=self.clock.now() + timedelta(hours=1),
            acting_as_enterprise_id=enterprise_id,
        )

    async def bill(
        self,
        amount_fen: int = 5000,
        *,
        person_id: uuid.UUID | None = None,
        enterprise_id: uuid.UUID | None = None,
        min_assurance: int = 2,
        due_at: datetime | None = None,
    ) -> Bill:
        if person_id is None and enterprise_id is None:
            person_id = uuid.uuid4()
        return await create_bill(
            kind=BillKind.FINE,
            person_id=person_id,
            enterprise_id=enterprise_id,
            issuer="市公安局交通警察支队",
            issuer_code="11330100002500000X",
            subject="交通违法罚款",
            amount_fen=amount_fen,
            lines=[{"name": "罚款", "amountFen": amount_fen}],
            due_at=due_at,
            now=self.clock.now(),
            min_assurance=min_assurance,
        )


def make_world(*, settings: Mapping[str, Any] | None = None) -> World:
    clock = StepClock()
    alipay = ScriptedChannel(Channel.ALIPAY, frozenset({Product.APP, Product.WAP, Product.NATIVE, Product.JSAPI}))
    wechat = ScriptedChannel(Channel.WECHAT, frozenset({Product.APP, Product.NATIVE, Product.JSAPI, Product.H5}))
    world = World(
        PaymentsDeps(
            channels={Channel.ALIPAY: alipay, Channel.WECHAT: wechat},
            clock=clock,
            settings=PaymentsSettings(**(settings or {})),
            merchant=MERCHANT,
            cashier_url=lambda order: f"http://sandbox/cashier/{order.out_trade_no}",
        ),
        clock,
        alipay,
        wechat,
    )

    async def kick() -> None:
        world.kicks.append(1)

    world.deps.kick_relays = kick
    return world


async def paying_order(world: World, channel: Channel = Channel.WECHAT, amount_fen: int = 5000) -> tuple[Bill, Any]:
    """A bill and its PAYING order, made through create_payment."""
    from payments.service import create_payment

    bill = await world.bill(amount_fen)
    assert bill.person_id is not None
    order = await create_payment(
        world.deps,
        world.claims(bill.person_id),
        bill_id=bill.id,
        channel=channel,
        product=Product.NATIVE,
        idempotency_key=str(uuid.uuid4()),
    )
    return bill, order
