"""confirm_payment, cancel_payment, close_order, the poller's refresh_order, the expiry sweep, handle_notify,
create_bill and cancel_bill, with the scripted channel."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from api.models.outbox import OutboxEvent
from api.models.payment import (
    Bill,
    BillKind,
    BillStatus,
    Channel,
    EventSource,
    OrderStatus,
    PaymentEvent,
    PaymentOrder,
    Product,
)
from payments.channels.base import Outcome, TradeState
from payments.errors import PaymentsError, PaymentsErrorCode
from payments.notify import handle_notify
from payments.service import (
    cancel_bill,
    cancel_payment,
    confirm_payment,
    create_bill,
    create_payment,
    facts,
    refresh_order,
    sweep_expired_order,
)
from tests.payments.service.scripted import Trade, World, make_world, notify_body, paying_order
from tests.support.client import LiveServer


@pytest.fixture
async def world(live: LiveServer) -> World:
    return make_world()


class TestConfirmPayment:
    async def test_asks_the_channel_once_per_two_seconds(self, world: World) -> None:
        bill, order = await paying_order(world)
        world.wechat.pay(order.out_trade_no)  # paid; the notify is lost
        claims = world.claims(order.payer_id)
        first = await confirm_payment(world.deps, claims, order.id)
        assert first.status is OrderStatus.PAID
        assert (await Bill.get(id=bill.id)).status is BillStatus.PAID
        # a paid order is answered from the database
        await confirm_payment(world.deps, claims, order.id)
        assert world.wechat.ops("query") == [order.out_trade_no]

    async def test_a_second_call_within_two_seconds_returns_the_stored_state(self, world: World) -> None:
        _, order = await paying_order(world)
        claims = world.claims(order.payer_id)
        await confirm_payment(world.deps, claims, order.id)
        world.wechat.pay(order.out_trade_no)
        world.clock.advance(seconds=1)
        assert (await confirm_payment(world.deps, claims, order.id)).status is OrderStatus.PAYING
        world.clock.advance(seconds=1)
        assert (await confirm_payment(world.deps, claims, order.id)).status is OrderStatus.PAID
        assert len(world.wechat.ops("query")) == 2

    async def test_someone_elses_order_is_not_found(self, world: World) -> None:
        _, order = await paying_order(world)
        with pytest.raises(PaymentsError) as refused:
            await confirm_payment(world.deps, world.claims(uuid.uuid4()), order.id)
        assert refused.value.payments_code is PaymentsErrorCode.ORDER_NOT_FOUND
        assert world.wechat.ops("query") == []


class TestCancelPayment:
    async def test_closes_at_the_channel_first(self, world: World) -> None:
        _, order = await paying_order(world)
        closed = await cancel_payment(world.deps, world.claims(order.payer_id), order.id)
        assert closed.status is OrderStatus.CLOSED
        assert world.wechat.ops("close") == [order.out_trade_no]

    async def test_a_close_revealing_a_payment_makes_it_paid(self, world: World) -> None:
        bill, order = await paying_order(world)
        world.wechat.pay(order.out_trade_no)
        after = await cancel_payment(world.deps, world.claims(order.payer_id), order.id)
        assert after.status is OrderStatus.PAID
        assert (await Bill.get(id=bill.id)).status is BillStatus.PAID

    async def test_an_unanswered_close_changes_nothing(self, world: World) -> None:
        _, order = await paying_order(world)
        world.wechat.close_outcome = Outcome.UNKNOWN
        after = await cancel_payment(world.deps, world.claims(order.payer_id), order.id)
        assert after.status is OrderStatus.PAYING


class TestRefreshOrder:
    async def test_queries_on_schedule_and_stops_once_paid(self, world: World) -> None:
        _, order = await paying_order(world)
        assert order.next_query_at == world.clock.now() + timedelta(seconds=10)
        # not due yet
        assert (await refresh_order(world.deps, order)).query_attempts == 0
        world.clock.advance(seconds=10)
        after = await refresh_order(world.deps, order)
        assert (after.status, after.query_attempts, after.next_query_at) == (
            OrderStatus.PAYING,
            1,
            order.created_at + timedelta(seconds=30),
        )
        world.wechat.pay(order.out_trade_no)
        world.clock.advance(seconds=20)
        paid = await refresh_order(world.deps, after)
        assert (paid.status, paid.next_query_at) == (OrderStatus.PAID, None)
        assert world.wechat.ops("query") == [order.out_trade_no] * 2

    async def test_a_created_order_whose_prepay_was_lost_is_asked_for_again_with_the_same_number(
        self, world: World
    ) -> None:
        bill = await world.bill()
        assert bill.person_id is not None
        world.wechat.create_outcome = Outcome.UNKNOWN
        with pytest.raises(PaymentsError):
            await create_payment(
                world.deps,
                world.claims(bill.person_id),
                bill_id=bill.id,
                channel=Channel.WECHAT,
                product=Product.NATIVE,
                idempotency_key="lost-prepay",
            )
        world.wechat.create_outcome = None
        [order] = await PaymentOrder.filter(bill_id=bill.id)
        world.clock.advance(seconds=10)
        after = await refresh_order(world.deps, order)
        assert after.status is OrderStatus.PAYING
        assert world.wechat.ops("create_order") == [order.out_trade_no, order.out_trade_no]
        assert {s.amount_fen for s in world.wechat.specs} == {5000}


class TestSweepExpiredOrder:
    async def test_an_expired_order_found_paid_is_never_closed(self, world: World) -> None:
        _, order = await paying_order(world)
        world.wechat.pay(order.out_trade_no)
        world.clock.advance(seconds=1800)
        after = await sweep_expired_order(world.deps, order)
        assert after.status is OrderStatus.PAID
        assert world.wechat.ops("close") == []

    async def test_an_expired_unpaid_order_is_closed_at_the_channel_then_confirmed(self, world: World) -> None:
        _, order = await paying_order(world)
        world.clock.advance(seconds=1800)
        after = await sweep_expired_order(world.deps, order)
        assert after.status is OrderStatus.CLOSED
        assert [op for op, _ in world.wechat.calls[1:]] == ["query", "close", "query"]

    async def test_a_query_error_changes_nothing(self, world: World) -> None:
        _, order = await paying_order(world)
        world.clock.advance(seconds=1800)
        world.wechat.query_outcome = Outcome.UNKNOWN
        assert (await sweep_expired_order(world.deps, order)).status is OrderStatus.PAYING
        assert world.wechat.ops("close") == []

    async def test_before_expiry_nothing_happens(self, world: World) -> None:
        _, order = await paying_order(world)
        assert (await sweep_expired_order(world.deps, order)).status is OrderStatus.PAYING
        assert world.wechat.ops("query") == []


def _metric(name: str, channel: str) -> float:
    return REGISTRY.get_sample_value(name, {"channel": channel}) or 0.0


class TestHandleNotify:
    async def test_a_verified_notify_is_applied_and_acknowledged(self, world: World) -> None:
        bill, order = await paying_order(world)
        world.wechat.pay(order.out_trade_no)
        body = notify_body("n-1", out_trade_no=order.out_trade_no)
        for _ in range(3):
            response = await handle_notify(world.deps, Channel.WECHAT, {}, body)
            assert (response.status_code, response.body) == (200, b"success")
        assert (await PaymentOrder.get(id=order.id)).status is OrderStatus.PAID
        assert await PaymentEvent.filter(channel=Channel.WECHAT, dedupe_key="n-1").count() == 1
        assert await OutboxEvent.filter(topic="payments.bill_paid", key=str(bill.id)).count() == 1

    async def test_an_unverifiable_notify_is_rejected_counted_and_changes_nothing(self, world: World) -> None:
        _, order = await paying_order(world)
        before = _metric("zsb_payment_notify_rejected_total", "WECHAT")
        response = await handle_notify(world.deps, Channel.WECHAT, {}, b'{"signed": false}')
        assert (response.status_code, response.body) == (400, b"fail")
        assert _metric("zsb_payment_notify_rejected_total", "WECHAT") == before + 1
        assert (await PaymentOrder.get(id=order.id)).status is OrderStatus.PAYING

    async def test_an_unknown_order_asks_for_redelivery(self, world: World) -> None:
        world.wechat.trades["NOT-OURS"] = Trade(5000, TradeState.PAID)
        response = await handle_notify(world.deps, Channel.WECHAT, {}, notify_body("n-x", out_trade_no="NOT-OURS"))
        assert response.body == b"fail"
        assert await PaymentEvent.filter(dedupe_key="n-x").count() == 0

    async def test_a_database_failure_asks_for_redelivery_and_the_retry_is_processed(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _, order = await paying_order(world)
        world.wechat.pay(order.out_trade_no)
        body = notify_body("n-db", out_trade_no=order.out_trade_no)

        async def down(*args: object, **kwargs: object) -> None:
            raise ConnectionError("database unavailable")

        monkeypatch.setattr("payments.service.ledger.pay_bill", down)
        response = await handle_notify(world.deps, Channel.WECHAT, {}, body)
        assert response.body == b"fail"
        assert (await PaymentOrder.get(id=order.id)).status is OrderStatus.PAYING
        assert await PaymentEvent.filter(dedupe_key="n-db").count() == 0
        monkeypatch.undo()
        response = await handle_notify(world.deps, Channel.WECHAT, {}, body)
        assert response.body == b"success"
        assert (await PaymentOrder.get(id=order.id)).status is OrderStatus.PAID


class TestCreateBill:
    async def test_a_bill_and_its_outbox_row_and_a_replay_returns_it(self, world: World) -> None:
        person = uuid.uuid4()
        kwargs: dict[str, object] = {
            "kind": BillKind.APPLICATION_FEE,
            "person_id": person,
            "enterprise_id": None,
            "issuer": "市市场监督管理局",
            "issuer_code": "",
            "subject": "工本费",
            "amount_fen": 1000,
            "lines": [],
            "due_at": None,
            "now": world.clock.now(),
            "application_id": uuid.uuid4(),
            "source_key": f"application.fee_required:{uuid.uuid4()}:3",
        }
        bill = await create_bill(**kwargs)  # type: ignore[arg-type]
        again = await create_bill(**kwargs)  # type: ignore[arg-type]
        assert again.id == bill.id and bill.status is BillStatus.UNPAID and len(bill.bill_no) == 20
        [row] = await OutboxEvent.filter(topic="payments.bill_created", key=str(bill.id))
        assert (row.payload["amountFen"], row.payload["personId"]) == (1000, str(person))

    async def test_refusals(self, world: World) -> None:
        with pytest.raises(PaymentsError) as bad:
            await world.bill(0)
        assert bad.value.payments_code is PaymentsErrorCode.INVALID_AMOUNT
        with pytest.raises(ValueError, match="exactly one holder"):
            await world.bill(person_id=uuid.uuid4(), enterprise_id=uuid.uuid4())


class TestCancelBill:
    async def test_an_unpaid_bill_is_cancelled_after_its_live_order_is_closed(self, world: World) -> None:
        bill, order = await paying_order(world)
        cancelled = await cancel_bill(world.deps, bill.id, reason="撤回")
        assert cancelled.status is BillStatus.CANCELLED
        assert (await PaymentOrder.get(id=order.id)).status is OrderStatus.CLOSED
        assert world.wechat.ops("close") == [order.out_trade_no]

    async def test_a_close_revealing_a_payment_leaves_the_bill_paid(self, world: World) -> None:
        bill, order = await paying_order(world)
        world.wechat.pay(order.out_trade_no)
        assert (await cancel_bill(world.deps, bill.id, reason="撤回")).status is BillStatus.PAID

    async def test_an_unanswered_close_is_retryable_and_changes_nothing(self, world: World) -> None:
        bill, _ = await paying_order(world)
        world.wechat.close_outcome = Outcome.UNKNOWN
        with pytest.raises(PaymentsError) as busy:
            await cancel_bill(world.deps, bill.id, reason="撤回")
        assert (busy.value.payments_code, busy.value.retryable) == (PaymentsErrorCode.PAYMENT_IN_PROGRESS, True)
        assert (await Bill.get(id=bill.id)).status is BillStatus.UNPAID

    async def test_money_arriving_for_a_cancelled_bill_is_refunded(self, world: World) -> None:
        bill, order = await paying_order(world)
        await cancel_bill(world.deps, bill.id, reason="撤回")
        world.wechat.trades[order.out_trade_no].state = TradeState.PAID
        paid = await facts.apply_trade_fact(world.deps, world.wechat.fact(order.out_trade_no), EventSource.NOTIFY)
        assert paid is not None and (paid.status, paid.refunded_fen) == (OrderStatus.PAID, 5000)
        assert (await Bill.get(id=bill.id)).status is BillStatus.CANCELLED
