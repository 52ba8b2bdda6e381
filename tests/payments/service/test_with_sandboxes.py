"""payments.service through the process's real channels (services.payments) against the Alipay and WeChat Pay
sandboxes over loopback HTTP, notifies arriving at the real /pay/notify routes. The full P01–P20 conformance
suite drives GraphQL; these pin the service's own paths on real signed traffic."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta

import httpx
import pytest
from prometheus_client import REGISTRY

from api.lifespan import Services
from api.models.outbox import OutboxEvent
from api.models.payment import (
    Anomaly,
    Bill,
    BillStatus,
    Channel,
    OrderStatus,
    PaymentEvent,
    PaymentOrder,
    Product,
    Refund,
    RefundStatus,
)
from api.payments_root import PaymentsHarness
from payments.deps import PaymentsDeps
from payments.service import (
    cancel_payment,
    confirm_payment,
    create_payment,
    refresh_refund,
    request_refund,
    sweep_expired_order,
)
from tests.payments.service.scripted import StepClock, World
from tests.support.client import LiveServer


@dataclasses.dataclass
class Real:
    deps: PaymentsDeps
    harness: PaymentsHarness
    world: World  # for bills and claims on this test's own clock


@pytest.fixture
async def real(live: LiveServer) -> Real:
    services: Services = live.app.state.services
    assert services.payments_sandbox is not None
    clock = StepClock()
    deps = dataclasses.replace(services.payments, clock=clock)
    world = World(deps, clock, None, None)  # type: ignore[arg-type]  # the scripted channels are not used here
    return Real(deps, services.payments_sandbox, world)


async def _create(
    real: Real, channel: Channel, product: Product, bill: Bill | None = None
) -> tuple[Bill, PaymentOrder]:
    bill = bill or await real.world.bill(5000)
    assert bill.person_id is not None
    order = await create_payment(
        real.deps,
        real.world.claims(bill.person_id),
        bill_id=bill.id,
        channel=channel,
        product=product,
        idempotency_key=str(uuid.uuid4()),
    )
    assert real.deps.cashier_url is not None
    real.deps.cashier_url(order)  # the phone opens the order: app and wap trades become known to the sandbox
    return bill, order


async def _bill_paid_rows(bill: Bill) -> int:
    return await OutboxEvent.filter(topic="payments.bill_paid", key=str(bill.id)).count()


class TestAlipayAppThroughTheSandbox:
    async def test_paid_by_a_signed_notify_once_however_often_it_is_delivered(self, real: Real) -> None:
        bill, order = await _create(real, Channel.ALIPAY, Product.APP)
        assert order.status is OrderStatus.PAYING and "orderString" in (order.prepay_payload or {})
        await real.harness.alipay.pay(order.out_trade_no)
        [delivery] = [d for d in real.harness.alipay.deliveries if d.key == order.out_trade_no]
        assert [a.body for a in delivery.attempts] == ["success"]
        paid = await PaymentOrder.get(id=order.id)
        assert (paid.status, paid.paid_fen) == (OrderStatus.PAID, 5000) and paid.channel_trade_no
        assert (await Bill.get(id=bill.id)).status is BillStatus.PAID
        # replayed five times, two of them concurrently
        await real.harness.alipay.redeliver(delivery.id, concurrency=2)
        for _ in range(3):
            await real.harness.alipay.redeliver(delivery.id)
        delivery = next(d for d in real.harness.alipay.deliveries if d.id == delivery.id)
        assert {a.body for a in delivery.attempts} == {"success"} and len(delivery.attempts) == 6
        assert await PaymentEvent.filter(order_id=order.id, source="NOTIFY").count() == 1
        assert await _bill_paid_rows(bill) == 1

    async def test_a_forged_notify_is_refused_and_changes_nothing(self, real: Real) -> None:
        from api.platforms.alipay import generate_rsa_keypair
        from payments.channels.rsa2 import load_private_key

        _, order = await _create(real, Channel.ALIPAY, Product.APP)
        rejected = REGISTRY.get_sample_value("zsb_payment_notify_rejected_total", {"channel": "ALIPAY"}) or 0.0
        fields = real.harness.alipay.notify_fields(order.out_trade_no, trade_status="TRADE_SUCCESS")
        forged = await real.harness.alipay.send_notify(fields, sign_with=load_private_key(generate_rsa_keypair()[0]))
        assert forged.attempts[-1].body != "success"
        assert (await PaymentOrder.get(id=order.id)).status is OrderStatus.PAYING
        after = REGISTRY.get_sample_value("zsb_payment_notify_rejected_total", {"channel": "ALIPAY"})
        assert after == rejected + 1

    async def test_one_fen_paid_is_acknowledged_and_flagged(self, real: Real) -> None:
        bill, order = await _create(real, Channel.ALIPAY, Product.APP)
        await real.harness.alipay.pay(order.out_trade_no, amount_fen=1)
        after = await PaymentOrder.get(id=order.id)
        assert (after.status, after.anomaly) == (OrderStatus.PAYING, Anomaly.AMOUNT_MISMATCH)
        assert (await Bill.get(id=bill.id)).status is BillStatus.UNPAID
        [delivery] = [d for d in real.harness.alipay.deliveries if d.key == order.out_trade_no]
        assert delivery.attempts[-1].body == "success"

    async def test_a_lost_notify_is_found_by_confirm_once_per_two_seconds(self, real: Real) -> None:
        _, order = await _create(real, Channel.ALIPAY, Product.APP)
        await real.harness.alipay.pay(order.out_trade_no, notify=False)
        claims = real.world.claims(order.payer_id)
        assert (await confirm_payment(real.deps, claims, order.id)).status is OrderStatus.PAID
        queries = len(real.harness.alipay.requests("alipay.trade.query", out_trade_no=order.out_trade_no))
        assert queries == 1

    async def test_a_full_refund_succeeds_and_the_bill_is_refunded(self, real: Real) -> None:
        bill, order = await _create(real, Channel.ALIPAY, Product.APP)
        await real.harness.alipay.pay(order.out_trade_no)
        refund = await request_refund(
            real.deps,
            requested_by="op-finance",
            order_id=order.id,
            amount_fen=5000,
            reason="退费",
            expected_available_fen=5000,
            idempotency_key=str(uuid.uuid4()),
        )
        assert refund.status is RefundStatus.SUCCEEDED
        assert (await Bill.get(id=bill.id)).status is BillStatus.REFUNDED
        await real.harness.alipay.settle()  # the refund notify (TRADE_CLOSED, refund_fee) confirms, never fails
        assert (await PaymentOrder.get(id=order.id)).status is OrderStatus.PAID

    async def test_a_refund_answer_lost_to_a_timeout_is_resolved_by_query_with_the_same_number(
        self, real: Real
    ) -> None:
        bill, order = await _create(real, Channel.ALIPAY, Product.APP)
        await real.harness.alipay.pay(order.out_trade_no)
        real.harness.alipay.drop_notifies(order.out_trade_no)  # only the query may tell
        real.harness.alipay.script("alipay.trade.refund", delay_s=1.5, perform_anyway=True)
        adapter = real.deps.channels[Channel.ALIPAY]
        timeout = adapter._timeout  # type: ignore[attr-defined]
        adapter._timeout = httpx.Timeout(0.5, connect=3.0)  # type: ignore[attr-defined]  # our read timeout, shortened
        try:
            refund = await request_refund(
                real.deps,
                requested_by="op-finance",
                order_id=order.id,
                amount_fen=5000,
                reason="退费",
                expected_available_fen=5000,
                idempotency_key=str(uuid.uuid4()),
            )
        finally:
            adapter._timeout = timeout  # type: ignore[attr-defined]
        assert refund.status is RefundStatus.UNKNOWN
        await asyncio.sleep(1.2)
        real.world.clock.advance(seconds=15)
        resolved = await refresh_refund(real.deps, refund)
        assert resolved.status is RefundStatus.SUCCEEDED
        refunds = real.harness.alipay.requests("alipay.trade.refund", out_trade_no=order.out_trade_no)
        assert len(refunds) == 1
        assert await Refund.filter(order_id=order.id).count() == 1
        assert (await Bill.get(id=bill.id)).status is BillStatus.REFUNDED


class TestWechatNativeThroughTheSandbox:
    async def test_paid_by_a_signed_encrypted_notify(self, real: Real) -> None:
        bill, order = await _create(real, Channel.WECHAT, Product.NATIVE)
        assert order.status is OrderStatus.PAYING and "codeUrl" in str(order.prepay_payload)
        await real.harness.wechat.pay(order.out_trade_no)
        await real.harness.wechat.settle()
        [delivery] = [d for d in real.harness.wechat.deliveries if d.key == order.out_trade_no]
        assert [(a.status, a.body) for a in delivery.attempts] == [(204, "")]
        assert (await PaymentOrder.get(id=order.id)).status is OrderStatus.PAID
        assert await _bill_paid_rows(bill) == 1

    async def test_switching_from_alipay_closes_the_alipay_trade_first(self, real: Real) -> None:
        bill, first = await _create(real, Channel.ALIPAY, Product.NATIVE)
        _, second = await _create(real, Channel.WECHAT, Product.NATIVE, bill)
        assert real.harness.alipay.requests("alipay.trade.close", out_trade_no=first.out_trade_no)
        assert (await PaymentOrder.get(id=first.id)).status is OrderStatus.CLOSED
        assert (second.channel, second.status) == (Channel.WECHAT, OrderStatus.PAYING)

    async def test_cancel_closes_at_the_channel(self, real: Real) -> None:
        _, order = await _create(real, Channel.WECHAT, Product.NATIVE)
        closed = await cancel_payment(real.deps, real.world.claims(order.payer_id), order.id)
        assert closed.status is OrderStatus.CLOSED
        assert real.harness.wechat.trade(order.out_trade_no).state == "CLOSED"  # type: ignore[union-attr]

    async def test_the_expiry_sweep_makes_a_paid_order_paid_and_never_closes_it(self, real: Real) -> None:
        _, order = await _create(real, Channel.WECHAT, Product.NATIVE)
        await real.harness.wechat.pay(order.out_trade_no, notify=False)
        real.world.clock.advance(seconds=1800)
        swept = await sweep_expired_order(real.deps, order)
        assert swept.status is OrderStatus.PAID
        assert not [r for r in real.harness.wechat.requests("close") if order.out_trade_no in str(r)]
        assert timedelta(0) <= swept.expires_at - order.created_at

    async def test_a_refund_whose_answer_times_out_is_settled_by_alipays_refund_notify(self, real: Real) -> None:
        bill, order = await _create(real, Channel.ALIPAY, Product.APP)
        await real.harness.alipay.pay(order.out_trade_no)
        real.harness.alipay.script("alipay.trade.refund", delay_s=1.5, perform_anyway=True)
        adapter = real.deps.channels[Channel.ALIPAY]
        timeout = adapter._timeout  # type: ignore[attr-defined]
        adapter._timeout = httpx.Timeout(0.5, connect=3.0)  # type: ignore[attr-defined]
        try:
            refund = await request_refund(
                real.deps,
                requested_by="op-finance",
                order_id=order.id,
                amount_fen=2000,
                reason="部分退费",
                expected_available_fen=5000,
                idempotency_key=str(uuid.uuid4()),
            )
        finally:
            adapter._timeout = timeout  # type: ignore[attr-defined]
        await real.harness.alipay.settle()
        assert (await Refund.get(id=refund.id)).status is RefundStatus.SUCCEEDED
        assert len(real.harness.alipay.requests("alipay.trade.refund", out_trade_no=order.out_trade_no)) == 1
        bill = await Bill.get(id=bill.id)
        assert (bill.status, bill.refunded_fen) == (BillStatus.PARTIALLY_REFUNDED, 2000)
