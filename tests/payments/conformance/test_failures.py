"""P19 and P20 (payments.md §15.2): the database down while a notify arrives, and applications' relay dying
between the case's change and its receipt. Nothing is lost and nothing happens twice."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from api.applications import handling
from api.models import Application, ApplicationStatus
from api.models.payment import BillStatus, OrderStatus
from payments.sandbox.notifier import ALIPAY_RETRIES, WECHAT_RETRIES
from tests.payments.conformance import fees
from tests.payments.conformance.probes import database_down, footprint, notify_events, outbox_topics
from tests.payments.conformance.support import BILL_FEN, World

PRODUCT = {"ALIPAY": "APP", "WECHAT": "NATIVE"}
FIRST_RETRY = {"ALIPAY": ALIPAY_RETRIES[0], "WECHAT": WECHAT_RETRIES[0]}


class TestFailures:
    @pytest.mark.parametrize("channel", ["ALIPAY", "WECHAT"])
    async def test_p19_database_down_during_notify(self, world: World, channel: str) -> None:
        # given: O in PAYING
        bill = await world.bill()
        order = await world.paying(bill, channel, PRODUCT[channel])
        before = await footprint(bill.id)

        # when: the payer pays while the database is unavailable, so the channel's first notify meets it down
        with database_down():
            await world.pay_at_channel(order)

        # then: not acknowledged (Alipay anything but `success`, WeChat 5xx), and nothing was recorded
        [delivery] = world.deliveries(channel, order.out_trade_no)
        [first] = delivery.attempts
        if channel == "ALIPAY":
            assert first.body != "success", first
        else:
            assert first.status is not None and first.status >= 500, first
        assert not delivery.acknowledged
        assert await footprint(bill.id) == before

        # when: the database is back and the channel redelivers on its schedule
        world.advance_sandbox(FIRST_RETRY[channel])
        sandbox = world.harness.alipay if channel == "ALIPAY" else world.harness.wechat
        redelivered = await sandbox.deliver_pending()
        assert delivery.id in [d.id for d in redelivered]

        # then: acknowledged, and O is PAID once
        second = delivery.attempts[1]
        assert (second.status, second.body) == ((200, "success") if channel == "ALIPAY" else (204, ""))
        row = await world.order_row(order)
        assert (row.status, row.paid_fen) == (OrderStatus.PAID, BILL_FEN)
        after = await footprint(bill.id)
        assert after["bill"][0] is BillStatus.PAID and after["receipts"] == 1
        assert (await outbox_topics(bill.id)).count("payments.bill_paid") == 1
        [event] = await notify_events(row.id)
        assert (event.from_status, event.to_status) == ("PAYING", "PAID")
        # a further redelivery of the same notify changes nothing
        await sandbox.redeliver(delivery.id)
        assert delivery.attempts[-1].status in (200, 204)
        assert await footprint(bill.id) == after

    @pytest.mark.usefixtures("quiet_relays")
    async def test_p20_crash_between_state_change_and_side_effect(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given: an application's Bill paid on WeChat Native (Bill PAID, its payments.bill_paid row written)
        case = await fees.fee_case(world)
        order = await world.paying(case.bill, "WECHAT", "NATIVE")
        await world.pay_at_channel(order)
        [paid] = await fees.bill_paid_events(case.bill)
        assert (await world.order_row(order)).status is OrderStatus.PAID
        # and applications' relay dies right after moving this case on, before its receipt commits
        real = handling.record_payment
        crashed_on: list[uuid.UUID] = []

        async def record_then_crash(application_id: uuid.UUID, bill_id: str, now: datetime) -> Application:
            moved = await real(application_id, bill_id, now)
            if str(application_id) == case.application_id:
                crashed_on.append(application_id)
                raise ConnectionResetError("the worker lost its database connection")
            return moved

        monkeypatch.setattr(handling, "record_payment", record_then_crash)

        # when: the relay runs and crashes
        await fees.run_applications_relay(world)

        # then: the crash left nothing behind: the case still waits, unreceipted
        assert [str(a) for a in crashed_on] == [case.application_id]
        assert await fees.status_of(case.application_id) is ApplicationStatus.PENDING_PAYMENT
        assert await fees.paid_steps(case.application_id) == []
        assert not await fees.handled_by_applications(paid)
        assert await fees.applications_watermark() < paid.id  # the restart resumes before the event

        # when: the relay is restarted (and runs again later)
        monkeypatch.setattr(handling, "record_payment", real)
        await fees.run_applications_relay(world)
        await fees.run_applications_relay(world)

        # then: the case advanced exactly once, and the event is receipted
        assert await fees.status_of(case.application_id) is ApplicationStatus.IN_PROGRESS
        [step] = await fees.paid_steps(case.application_id)
        assert step.detail == {"billId": str(case.bill.id)}
        assert await fees.handled_by_applications(paid)
        assert len(await fees.bill_paid_events(case.bill)) == 1
