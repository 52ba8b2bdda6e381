"""The reads behind payments' queries: a holder's bills with receipts (Relay cursors), 查缴 by number, one order
with its cashier URL, anomalies, unpaid bills for the pages."""

from __future__ import annotations

import uuid

import pytest

from api.kit.errors import InvalidInput
from api.models.payment import Anomaly, EventSource, PaymentOrder
from payments.service import (
    apply_trade_fact,
    lookup_bill,
    my_bills,
    payment_anomalies,
    payment_order,
)
from tests.payments.service.scripted import World, make_world, paying_order
from tests.support.client import LiveServer


@pytest.fixture
async def world(live: LiveServer) -> World:
    return make_world()


class TestMyBills:
    async def test_newest_first_with_cursors_and_receipts(self, world: World) -> None:
        person = uuid.uuid4()
        bills = []
        for amount in (100, 200, 300):
            bills.append(await world.bill(amount, person_id=person))
            world.clock.advance(seconds=1)
        _, order = await paying_order(world)
        claims = world.claims(person)
        first = await my_bills(claims, first=2, after=None, now=world.clock.now())
        assert [v.bill.amount_fen for v in first.items] == [300, 200] and first.has_next_page
        rest = await my_bills(claims, first=2, after=first.cursors[-1], now=world.clock.now())
        assert [v.bill.amount_fen for v in rest.items] == [100] and not rest.has_next_page
        assert all(v.receipt is None for v in first.items)
        # someone else's bills are not listed
        assert order.bill_id not in {v.bill.id for v in [*first.items, *rest.items]}

    async def test_an_enterprise_bill_is_listed_for_who_acts_for_it_with_its_receipt(self, world: World) -> None:
        enterprise = uuid.uuid4()
        bill = await world.bill(enterprise_id=enterprise)
        staff = uuid.uuid4()
        assert (await my_bills(world.claims(staff), first=5, after=None)).items == []
        from api.models.payment import Channel, Product
        from payments.service import create_payment

        order = await create_payment(
            world.deps,
            world.claims(staff, enterprise_id=enterprise),
            bill_id=bill.id,
            channel=Channel.WECHAT,
            product=Product.NATIVE,
            idempotency_key=str(uuid.uuid4()),
        )
        await apply_trade_fact(world.deps, world.wechat.pay(order.out_trade_no), EventSource.NOTIFY)
        page = await my_bills(world.claims(staff, enterprise_id=enterprise), first=5, after=None)
        [view] = page.items
        assert view.bill.id == bill.id and view.receipt is not None and view.receipt.amount_fen == 5000

    async def test_a_cursor_of_another_list_is_refused(self, world: World) -> None:
        with pytest.raises(InvalidInput):
            await my_bills(world.claims(uuid.uuid4()), first=2, after="bm90LWEtY3Vyc29y")


class TestLookupBill:
    async def test_by_number_for_its_holder_only(self, world: World) -> None:
        bill = await world.bill()
        assert bill.person_id is not None
        found = await lookup_bill(world.claims(bill.person_id), f" {bill.bill_no} ")
        assert found is not None and found.bill.id == bill.id
        assert await lookup_bill(world.claims(uuid.uuid4()), bill.bill_no) is None
        assert await lookup_bill(world.claims(bill.person_id), "00000000000000000000") is None


class TestPaymentOrder:
    async def test_the_payers_order_with_its_cashier_url(self, world: World) -> None:
        _, order = await paying_order(world)
        view = await payment_order(world.deps, world.claims(order.payer_id), order.id)
        assert view is not None and view.sandbox_cashier_url == f"http://sandbox/cashier/{order.out_trade_no}"
        assert await payment_order(world.deps, world.claims(uuid.uuid4()), order.id) is None
        world.deps.cashier_url = None
        view = await payment_order(world.deps, world.claims(order.payer_id), order.id)
        assert view is not None and view.sandbox_cashier_url is None


class TestPaymentAnomalies:
    async def test_orders_with_an_anomaly_are_listed(self, world: World) -> None:
        _, order = await paying_order(world)
        world.wechat.pay(order.out_trade_no)
        await apply_trade_fact(world.deps, world.wechat.fact(order.out_trade_no, amount_fen=1), EventSource.NOTIFY)
        seen: list[PaymentOrder] = []
        after = None
        for _ in range(100):
            page = await payment_anomalies(first=50, after=after)
            seen += [v.order for v in page.items if v.kind == Anomaly.AMOUNT_MISMATCH.value]
            if not page.has_next_page:
                break
            after = page.cursors[-1]
        assert order.id in {o.id for o in seen}
