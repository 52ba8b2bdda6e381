"""create_payment against the real database with a scripted channel: write-ahead row, idempotency by (payer,
key) and request hash, the per-bill guard, channel switching, and every refusal leaving nothing behind."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from api.models import IdentityBinding, Person
from api.models.payment import Bill, BillStatus, Channel, OrderStatus, PaymentEvent, PaymentOrder, Product
from payments.channels.base import Outcome, TradeState
from payments.errors import PaymentsError, PaymentsErrorCode
from payments.service import create_payment
from tests.payments.service.scripted import Trade, World, make_world
from tests.support.client import LiveServer


@pytest.fixture
async def world(live: LiveServer) -> World:
    return make_world()


def _key() -> str:
    return str(uuid.uuid4())


async def _orders(bill: Bill) -> list[PaymentOrder]:
    return list(await PaymentOrder.filter(bill_id=bill.id).order_by("created_at"))


class TestCreatePayment:
    async def test_a_new_order_is_written_ahead_then_paying_with_the_channel_payload(self, world: World) -> None:
        # given an unpaid bill of its holder
        bill = await world.bill(5000)
        assert bill.person_id is not None
        claims = world.claims(bill.person_id)
        # when the holder asks to pay it on WeChat Native
        order = await create_payment(
            world.deps, claims, bill_id=bill.id, channel=Channel.WECHAT, product=Product.NATIVE, idempotency_key=_key()
        )
        # then one order, PAYING with the channel's payload, for the bill's amount, expiring after the TTL
        now = world.clock.now()
        assert (order.status, order.amount_fen, order.payer_id, order.bill_id) == (
            OrderStatus.PAYING,
            5000,
            bill.person_id,
            bill.id,
        )
        assert order.prepay_payload == {"codeUrl": f"weixin://wxpay/{order.out_trade_no}"}
        assert order.expires_at == now + timedelta(seconds=1800)
        assert order.next_query_at == now + timedelta(seconds=10)
        # and the channel was asked once, with the same out_trade_no, amount and expiry
        [spec] = world.wechat.specs
        assert (spec.out_trade_no, spec.amount_fen, spec.expires_at, spec.product) == (
            order.out_trade_no,
            5000,
            order.expires_at,
            Product.NATIVE,
        )
        assert spec.subject == "交通违法罚款"
        events = await PaymentEvent.filter(order_id=order.id).values_list("from_status", "to_status")
        assert events == [("CREATED", "PAYING")]

    async def test_the_row_is_committed_before_the_channel_hears_of_it(self, world: World) -> None:
        # given a channel that holds its answer
        bill = await world.bill()
        assert bill.person_id is not None
        world.wechat.create_gate = asyncio.Event()
        task = asyncio.create_task(
            create_payment(
                world.deps,
                world.claims(bill.person_id),
                bill_id=bill.id,
                channel=Channel.WECHAT,
                product=Product.NATIVE,
                idempotency_key=_key(),
            )
        )
        await world.wechat.create_called.wait()
        # when the channel is being asked, the CREATED row is already there
        [row] = await _orders(bill)
        assert (row.status, row.out_trade_no) == (OrderStatus.CREATED, world.wechat.specs[0].out_trade_no)
        world.wechat.create_gate.set()
        assert (await task).status is OrderStatus.PAYING

    async def test_the_same_key_and_request_returns_the_same_order_and_payload(self, world: World) -> None:
        bill = await world.bill()
        assert bill.person_id is not None
        claims, key = world.claims(bill.person_id), _key()
        first = await create_payment(
            world.deps, claims, bill_id=bill.id, channel=Channel.ALIPAY, product=Product.APP, idempotency_key=key
        )
        again = await create_payment(
            world.deps, claims, bill_id=bill.id, channel=Channel.ALIPAY, product=Product.APP, idempotency_key=key
        )
        assert (again.id, again.prepay_payload) == (first.id, first.prepay_payload)
        assert len(world.alipay.ops("create_order")) == 1

    async def test_ten_concurrent_clicks_with_one_key_make_one_order_and_one_channel_call(self, world: World) -> None:
        bill = await world.bill()
        assert bill.person_id is not None
        claims, key = world.claims(bill.person_id), _key()
        world.alipay.create_gate = asyncio.Event()

        async def click() -> PaymentOrder:
            return await create_payment(
                world.deps, claims, bill_id=bill.id, channel=Channel.ALIPAY, product=Product.NATIVE, idempotency_key=key
            )

        tasks = [asyncio.create_task(click()) for _ in range(10)]
        await asyncio.sleep(0.2)
        world.alipay.create_gate.set()
        orders = await asyncio.gather(*tasks)
        assert {o.id for o in orders} == {orders[0].id}
        assert {str(o.prepay_payload) for o in orders} == {str(orders[0].prepay_payload)}
        assert len(await _orders(bill)) == 1
        assert len(world.alipay.ops("create_order")) == 1

    async def test_concurrent_clicks_with_different_keys_share_one_live_order(self, world: World) -> None:
        bill = await world.bill()
        assert bill.person_id is not None
        claims = world.claims(bill.person_id)

        async def click() -> PaymentOrder | PaymentsError:
            try:
                return await create_payment(
                    world.deps,
                    claims,
                    bill_id=bill.id,
                    channel=Channel.WECHAT,
                    product=Product.NATIVE,
                    idempotency_key=_key(),
                )
            except PaymentsError as exc:
                return exc

        answers = await asyncio.gather(*(click() for _ in range(10)))
        orders = [a for a in answers if isinstance(a, PaymentOrder)]
        errors = [a for a in answers if isinstance(a, PaymentsError)]
        assert orders and {o.id for o in orders} == {orders[0].id}
        assert all(e.payments_code is PaymentsErrorCode.PAYMENT_IN_PROGRESS and e.retryable for e in errors)
        assert len(await _orders(bill)) == 1

    async def test_the_same_key_for_another_request_is_refused_and_creates_nothing(self, world: World) -> None:
        first_bill, other_bill = await world.bill(), None
        assert first_bill.person_id is not None
        person = first_bill.person_id
        other_bill = await world.bill(3000, person_id=person)
        claims, key = world.claims(person), _key()
        await create_payment(
            world.deps, claims, bill_id=first_bill.id, channel=Channel.ALIPAY, product=Product.APP, idempotency_key=key
        )
        for bill_id, channel in ((other_bill.id, Channel.ALIPAY), (first_bill.id, Channel.WECHAT)):
            with pytest.raises(PaymentsError) as refused:
                await create_payment(
                    world.deps, claims, bill_id=bill_id, channel=channel, product=Product.APP, idempotency_key=key
                )
            assert refused.value.payments_code is PaymentsErrorCode.IDEMPOTENCY_KEY_REUSED
        assert await _orders(other_bill) == []
        assert len(await _orders(first_bill)) == 1
        assert world.wechat.calls == []

    async def test_another_device_gets_the_live_order_of_the_same_channel_and_product(self, world: World) -> None:
        bill = await world.bill()
        assert bill.person_id is not None
        claims = world.claims(bill.person_id)
        first = await create_payment(
            world.deps, claims, bill_id=bill.id, channel=Channel.WECHAT, product=Product.NATIVE, idempotency_key=_key()
        )
        second = await create_payment(
            world.deps, claims, bill_id=bill.id, channel=Channel.WECHAT, product=Product.NATIVE, idempotency_key=_key()
        )
        assert second.id == first.id and len(world.wechat.ops("create_order")) == 1

    async def test_switching_channel_closes_the_old_order_at_its_channel_first(self, world: World) -> None:
        bill = await world.bill()
        assert bill.person_id is not None
        claims = world.claims(bill.person_id)
        old = await create_payment(
            world.deps, claims, bill_id=bill.id, channel=Channel.ALIPAY, product=Product.NATIVE, idempotency_key=_key()
        )
        new = await create_payment(
            world.deps, claims, bill_id=bill.id, channel=Channel.WECHAT, product=Product.NATIVE, idempotency_key=_key()
        )
        assert world.alipay.ops("close") == [old.out_trade_no]
        assert (await PaymentOrder.get(id=old.id)).status is OrderStatus.CLOSED
        assert (new.channel, new.status) == (Channel.WECHAT, OrderStatus.PAYING)
        assert [o.status for o in await _orders(bill)] == [OrderStatus.CLOSED, OrderStatus.PAYING]

    async def test_switching_when_the_close_reveals_a_payment_returns_it_and_creates_nothing(
        self, world: World
    ) -> None:
        bill = await world.bill()
        assert bill.person_id is not None
        claims = world.claims(bill.person_id)
        old = await create_payment(
            world.deps, claims, bill_id=bill.id, channel=Channel.ALIPAY, product=Product.NATIVE, idempotency_key=_key()
        )
        world.alipay.pay(old.out_trade_no)  # paid, its notify not arrived yet
        answer = await create_payment(
            world.deps, claims, bill_id=bill.id, channel=Channel.WECHAT, product=Product.NATIVE, idempotency_key=_key()
        )
        assert (answer.id, answer.status) == (old.id, OrderStatus.PAID)
        assert (await Bill.get(id=bill.id)).status is BillStatus.PAID
        assert len(await _orders(bill)) == 1 and world.wechat.calls == []

    async def test_an_unanswered_prepay_leaves_the_order_created_and_answers_in_progress(self, world: World) -> None:
        bill = await world.bill()
        assert bill.person_id is not None
        world.wechat.create_outcome = Outcome.UNKNOWN
        with pytest.raises(PaymentsError) as pending:
            await create_payment(
                world.deps,
                world.claims(bill.person_id),
                bill_id=bill.id,
                channel=Channel.WECHAT,
                product=Product.NATIVE,
                idempotency_key=_key(),
            )
        assert (pending.value.payments_code, pending.value.retryable) == (PaymentsErrorCode.PAYMENT_IN_PROGRESS, True)
        [row] = await _orders(bill)
        assert row.status is OrderStatus.CREATED
        assert row.prepay_payload is None

    async def test_a_refused_prepay_fails_the_order(self, world: World) -> None:
        bill = await world.bill()
        assert bill.person_id is not None
        world.alipay.create_outcome = Outcome.REJECTED
        order = await create_payment(
            world.deps,
            world.claims(bill.person_id),
            bill_id=bill.id,
            channel=Channel.ALIPAY,
            product=Product.NATIVE,
            idempotency_key=_key(),
        )
        assert (order.status, order.closed_at) == (OrderStatus.FAILED, world.clock.now())


class TestCreatePaymentRefusals:
    async def _refused(self, world: World, code: PaymentsErrorCode, bill: Bill, **kwargs: object) -> None:
        params: dict[str, object] = {"channel": Channel.WECHAT, "product": Product.NATIVE} | kwargs
        claims = params.pop("claims", None) or world.claims(bill.person_id or uuid.uuid4())
        with pytest.raises(PaymentsError) as refused:
            await create_payment(world.deps, claims, bill_id=bill.id, idempotency_key=_key(), **params)  # type: ignore[arg-type]
        assert refused.value.payments_code is code
        assert await _orders(bill) == []
        assert world.wechat.calls == [] and world.alipay.calls == []

    async def test_someone_elses_bill_is_not_found(self, world: World) -> None:
        bill = await world.bill()
        await self._refused(world, PaymentsErrorCode.BILL_NOT_FOUND, bill, claims=world.claims(uuid.uuid4()))

    async def test_an_enterprise_bill_for_someone_not_acting_for_it_is_not_found(self, world: World) -> None:
        bill = await world.bill(enterprise_id=uuid.uuid4())
        await self._refused(world, PaymentsErrorCode.BILL_NOT_FOUND, bill, claims=world.claims(uuid.uuid4()))

    async def test_a_login_below_the_assurance_level_is_refused(self, world: World) -> None:
        bill = await world.bill(min_assurance=3)
        assert bill.person_id is not None
        for level in (1, 2):
            await self._refused(
                world, PaymentsErrorCode.ASSURANCE_TOO_LOW, bill, claims=world.claims(bill.person_id, level)
            )

    async def test_a_paid_or_cancelled_bill_is_not_payable(self, world: World) -> None:
        for status in (BillStatus.PAID, BillStatus.CANCELLED):
            bill = await world.bill()
            await Bill.filter(id=bill.id).update(status=status)
            await self._refused(world, PaymentsErrorCode.BILL_NOT_PAYABLE, bill)

    async def test_a_channel_not_configured_or_a_product_it_does_not_offer(self, world: World) -> None:
        bill = await world.bill()
        await self._refused(world, PaymentsErrorCode.PRODUCT_NOT_SUPPORTED, bill, product=Product.WAP)
        world.deps.channels = {Channel.ALIPAY: world.alipay}
        await self._refused(world, PaymentsErrorCode.CHANNEL_UNAVAILABLE, bill)

    async def test_a_mini_program_order_needs_the_payers_binding(self, world: World) -> None:
        person = await Person.create(name="付款人")
        bill = await world.bill(person_id=person.id)
        await self._refused(world, PaymentsErrorCode.CHANNEL_BINDING_MISSING, bill, product=Product.JSAPI)


class TestCreatePaymentForOthers:
    async def test_someone_acting_for_the_enterprise_pays_its_bill(self, world: World) -> None:
        enterprise_id = uuid.uuid4()
        bill = await world.bill(enterprise_id=enterprise_id)
        staff = uuid.uuid4()
        order = await create_payment(
            world.deps,
            world.claims(staff, enterprise_id=enterprise_id),
            bill_id=bill.id,
            channel=Channel.WECHAT,
            product=Product.NATIVE,
            idempotency_key=_key(),
        )
        assert (order.payer_id, order.status) == (staff, OrderStatus.PAYING)

    async def test_a_mini_program_order_carries_the_payers_openid_from_the_binding(self, world: World) -> None:
        person = await Person.create(name="付款人")
        openid = f"o-{uuid.uuid4().hex[:12]}"
        await IdentityBinding.create(person=person, provider="WECHAT", subject_id=openid, linked_at=world.clock.now())
        bill = await world.bill(person_id=person.id)
        order = await create_payment(
            world.deps,
            world.claims(person.id),
            bill_id=bill.id,
            channel=Channel.WECHAT,
            product=Product.JSAPI,
            idempotency_key=_key(),
        )
        assert order.status is OrderStatus.PAYING
        assert world.wechat.specs[-1].payer_channel_id == openid
        assert TradeState.PENDING is world.wechat.trades[order.out_trade_no].state


class TestCreatePaymentAfterALostPrepay:
    async def _lost(self, world: World) -> tuple[Bill, str]:
        bill = await world.bill()
        assert bill.person_id is not None
        key = _key()
        world.wechat.create_outcome = Outcome.UNKNOWN
        with pytest.raises(PaymentsError):
            await create_payment(
                world.deps,
                world.claims(bill.person_id),
                bill_id=bill.id,
                channel=Channel.WECHAT,
                product=Product.NATIVE,
                idempotency_key=key,
            )
        world.wechat.create_outcome = None
        return bill, key

    async def test_within_the_prepay_timeout_a_retry_waits_and_asks_nothing(self, world: World) -> None:
        bill, key = await self._lost(world)
        assert bill.person_id is not None
        with pytest.raises(PaymentsError) as pending:
            await create_payment(
                world.deps,
                world.claims(bill.person_id),
                bill_id=bill.id,
                channel=Channel.WECHAT,
                product=Product.NATIVE,
                idempotency_key=key,
            )
        assert pending.value.payments_code is PaymentsErrorCode.PAYMENT_IN_PROGRESS
        assert len(world.wechat.ops("create_order")) == 1

    async def test_later_a_retry_asks_again_with_the_same_out_trade_no(self, world: World) -> None:
        bill, key = await self._lost(world)
        assert bill.person_id is not None
        world.clock.advance(seconds=20)
        for idempotency_key in (key, _key()):  # the same intent, then another device
            order = await create_payment(
                world.deps,
                world.claims(bill.person_id),
                bill_id=bill.id,
                channel=Channel.WECHAT,
                product=Product.NATIVE,
                idempotency_key=idempotency_key,
            )
            assert order.status is OrderStatus.PAYING
        [row] = await _orders(bill)
        assert world.wechat.ops("create_order") == [row.out_trade_no, row.out_trade_no]
        assert world.wechat.ops("query") == [row.out_trade_no]


class TestCreatePaymentWithTheRedisGate:
    async def test_concurrent_clicks_with_different_keys_wait_for_the_first(self, live: LiveServer) -> None:
        world = make_world()
        world.deps.redis = live.app.state.services.redis
        bill = await world.bill()
        assert bill.person_id is not None
        claims = world.claims(bill.person_id)
        world.wechat.create_gate = asyncio.Event()

        async def click() -> PaymentOrder:
            key = _key()
            return await create_payment(
                world.deps, claims, bill_id=bill.id, channel=Channel.WECHAT, product=Product.NATIVE, idempotency_key=key
            )

        tasks = [asyncio.create_task(click()) for _ in range(5)]
        await world.wechat.create_called.wait()
        await asyncio.sleep(0.3)  # the others queue at the gate instead of meeting an error
        world.wechat.create_gate.set()
        orders = await asyncio.gather(*tasks)
        assert {o.id for o in orders} == {orders[0].id}
        assert len(world.wechat.ops("create_order")) == 1
        assert await live.app.state.services.redis.get(f"pay:bill:{bill.id}") is None


class TestCreatePaymentOvertaken:
    async def test_a_success_notify_before_the_prepay_answer_wins_and_is_returned(self, world: World) -> None:
        from api.models.payment import EventSource
        from payments.service import apply_trade_fact

        bill = await world.bill()
        assert bill.person_id is not None
        world.wechat.create_gate = asyncio.Event()
        task = asyncio.create_task(
            create_payment(
                world.deps,
                world.claims(bill.person_id),
                bill_id=bill.id,
                channel=Channel.WECHAT,
                product=Product.NATIVE,
                idempotency_key=_key(),
            )
        )
        await world.wechat.create_called.wait()
        [row] = await _orders(bill)
        world.wechat.trades.setdefault(row.out_trade_no, Trade(5000))
        paid = await apply_trade_fact(world.deps, world.wechat.pay(row.out_trade_no), EventSource.NOTIFY)
        assert paid is not None and paid.status is OrderStatus.PAID  # CREATED → PAID
        world.wechat.create_gate.set()
        answer = await task
        assert (answer.id, answer.status) == (row.id, OrderStatus.PAID)
        assert answer.prepay_payload is None
        assert (await Bill.get(id=bill.id)).status is BillStatus.PAID
