"""relay_payments: payments' consumer of `application.fee_required` (the application's Bill) and
`application.withdrawn` (the Bill cancelled once its live order is closed at the channel, or refunded in full when
paid and the policy says so). Applications are real 普通护照签发 cases (fixed fees 120 + 20 yuan) driven over
GraphQL; payments go through the Alipay sandbox of the live server."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from api.applications import handling, payment_relay
from api.models import (
    Application,
    ApplicationEvent,
    ApplicationStatus,
    EventType,
    Organization,
    OutboxEvent,
    OutboxReceipt,
    ServiceItem,
)
from api.models.payment import (
    Bill,
    BillKind,
    BillStatus,
    Channel,
    OrderStatus,
    PaymentOrder,
    Product,
    Refund,
    RefundStatus,
)
from payments import service, tasks, tasks_relay
from payments.service import ledger
from tests.applications.handling_support import done
from tests.applications.test_payment_requests import PASSPORT_FEES, awaiting_payment, withdraw
from tests.payments.tasks.support import Jobs, TestClock, quiet_relays
from tests.support.client import Api, LiveServer


@pytest.fixture
async def quiet(live: LiveServer) -> AsyncIterator[None]:
    async for _ in quiet_relays(live, (tasks_relay.CONSUMER, payment_relay.CONSUMER)):
        yield


def jobs(live: LiveServer) -> Jobs:
    return Jobs(live, TestClock(live))


async def fee_notice(case_id: str) -> OutboxEvent:
    event = await OutboxEvent.filter(topic="application.fee_required", key=case_id).order_by("-id").first()
    assert event is not None
    return event


async def bills_of(case_id: str) -> list[Bill]:
    return list(await Bill.filter(application_id=case_id).order_by("created_at"))


async def pay_by_query(j: Jobs, bill: Bill) -> PaymentOrder:
    """The applicant pays through the sandbox; the notify is lost and the poller finds the payment."""
    assert bill.person_id is not None
    order = await service.create_payment(
        j.clocked(),
        j.claims(bill.person_id),
        bill_id=bill.id,
        channel=Channel.ALIPAY,
        product=Product.NATIVE,
        idempotency_key=str(uuid.uuid4()),
    )
    await j.sandbox.alipay.pay(order.out_trade_no, notify=False)
    j.clock.advance(seconds=10)
    await tasks.poll_orders(j.ctx())
    return await PaymentOrder.get(id=order.id)


@pytest.mark.usefixtures("quiet")
class TestRelayPaymentsFeeRequired:
    async def test_a_fee_notice_makes_the_applications_bill_once(self, api: Api) -> None:
        # given: a case awaiting its passport fees
        _, _, case_id = await awaiting_payment(api, 13)
        notice = await fee_notice(case_id)
        j = jobs(api.live)

        # when: the relay runs twice
        await tasks.relay_payments(j.ctx())
        await tasks.relay_payments(j.ctx())

        # then: one bill, held by the applicant, payable to the accepting department
        app = await Application.get(id=case_id)
        org = await Organization.get(id=app.accepting_org_id)
        item = await ServiceItem.get(id=app.service_item_id)
        (bill,) = await bills_of(case_id)
        assert (bill.kind, bill.status, bill.person_id, bill.enterprise_id) == (
            BillKind.APPLICATION_FEE,
            BillStatus.UNPAID,
            app.applicant_person_id,
            None,
        )
        assert (bill.issuer, bill.issuer_code, bill.subject) == (
            org.name,
            org.uscc,
            f"{app.item_name} 办件编号{app.project_no}",
        )
        assert (bill.amount_fen, bill.lines, bill.min_assurance) == (
            14000,
            PASSPORT_FEES,
            max(2, item.min_assurance_level),
        )
        assert (bill.source_key, bill.due_at) == (
            f"application.fee_required:{case_id}:{notice.state_version}",
            notice.created_at + timedelta(days=15),
        )
        created = await OutboxEvent.filter(topic="payments.bill_created", key=str(bill.id))
        assert [e.payload["applicationId"] for e in created] == [case_id]
        assert await OutboxReceipt.exists(consumer="payments", event_id=notice.id)

    async def test_no_bill_for_a_case_withdrawn_before_the_relay_ran(self, api: Api) -> None:
        # given: the notice, then the withdrawal, both before the relay
        token, _, case_id = await awaiting_payment(api, 13)
        assert (await withdraw(api, token, case_id))["__typename"] == "ApplicationWithdrawn"
        notice = await fee_notice(case_id)

        # when
        await tasks.relay_payments(jobs(api.live).ctx())

        # then: nothing is owed; both events are handled
        assert await bills_of(case_id) == []
        withdrawn = await OutboxEvent.get(topic="application.withdrawn", key=case_id)
        for event in (notice, withdrawn):
            assert await OutboxReceipt.exists(consumer="payments", event_id=event.id)


@pytest.mark.usefixtures("quiet")
class TestRelayPaymentsWithdrawn:
    async def test_an_unpaid_bill_is_cancelled_after_its_live_order_is_closed_at_the_channel(self, api: Api) -> None:
        # given: the bill exists and the applicant opened a payment
        token, _, case_id = await awaiting_payment(api, 11)
        j = jobs(api.live)
        await tasks.relay_payments(j.ctx())
        (bill,) = await bills_of(case_id)
        assert bill.person_id is not None
        order = await service.create_payment(
            j.clocked(),
            j.claims(bill.person_id),
            bill_id=bill.id,
            channel=Channel.ALIPAY,
            product=Product.NATIVE,
            idempotency_key=str(uuid.uuid4()),
        )

        # when: the applicant withdraws and the relay runs
        assert (await withdraw(api, token, case_id))["__typename"] == "ApplicationWithdrawn"
        await tasks.relay_payments(j.ctx())

        # then: closed at the channel first, then cancelled here
        closes = j.sandbox.alipay.requests("alipay.trade.close", out_trade_no=order.out_trade_no)
        assert len(closes) == 1
        assert (await PaymentOrder.get(id=order.id)).status is OrderStatus.CLOSED
        row = await Bill.get(id=bill.id)
        assert (row.status, row.cancelled_at) == (BillStatus.CANCELLED, j.clock.now())

    async def test_a_paid_bill_is_refunded_in_full_once(self, api: Api) -> None:
        # given: the fee is paid (the applications relay has not moved the case on yet)
        token, _, case_id = await awaiting_payment(api, 12)
        j = jobs(api.live)
        await tasks.relay_payments(j.ctx())
        (bill,) = await bills_of(case_id)
        order = await pay_by_query(j, bill)
        assert order.status is OrderStatus.PAID
        j.sandbox.alipay.drop_notifies(order.out_trade_no)

        # when: the applicant withdraws; the relay runs, and again
        assert (await withdraw(api, token, case_id))["__typename"] == "ApplicationWithdrawn"
        await tasks.relay_payments(j.ctx())
        await tasks.relay_payments(j.ctx())

        # then: one full refund by the service, sent once
        withdrawn = await OutboxEvent.get(topic="application.withdrawn", key=case_id)
        (refund,) = await Refund.filter(order_id=order.id)
        assert (refund.amount_fen, refund.requested_by, refund.idempotency_key, refund.status) == (
            14000,
            ledger.SERVICE_REQUESTER,
            f"withdrawn:{withdrawn.id}:{bill.id}",
            RefundStatus.SUCCEEDED,
        )
        assert len(j.sandbox.alipay.requests("alipay.trade.refund", out_trade_no=order.out_trade_no)) == 1
        assert (await Bill.get(id=bill.id)).status is BillStatus.REFUNDED

    async def test_a_terminated_cases_unpaid_bill_is_cancelled_and_a_paid_one_left_to_finance(self, api: Api) -> None:
        # given: two cases awaiting payment, one of them paid
        _, handler, unpaid_id = await awaiting_payment(api, 9)
        _, _, paid_id = await awaiting_payment(api, 13)
        j = jobs(api.live)
        await tasks.relay_payments(j.ctx())
        (unpaid,) = await bills_of(unpaid_id)
        (paid,) = await bills_of(paid_id)
        order = await pay_by_query(j, paid)

        # when: both are terminated (作废办结) and the relay runs
        for case_id in (unpaid_id, paid_id):
            await done(api, handler, "terminateApplication", applicationId=case_id, resultCode=2, reason="材料虚假")
        await tasks.relay_payments(j.ctx())

        # then
        assert (await Bill.get(id=unpaid.id)).status is BillStatus.CANCELLED
        assert (await Bill.get(id=paid.id)).status is BillStatus.PAID
        assert await Refund.filter(order_id=order.id).count() == 0

    async def test_without_the_refund_policy_a_paid_bill_stays_paid(self, api: Api) -> None:
        # given
        token, _, case_id = await awaiting_payment(api, 16)
        j = jobs(api.live)
        await tasks.relay_payments(j.ctx())
        (bill,) = await bills_of(case_id)
        order = await pay_by_query(j, bill)
        no_refunds = dataclasses.replace(
            j.deps, settings=j.deps.settings.model_copy(update={"refund_on_withdrawal": False})
        )

        # when
        assert (await withdraw(api, token, case_id))["__typename"] == "ApplicationWithdrawn"
        await tasks.relay_payments(j.ctx(payments=no_refunds))

        # then
        assert await Refund.filter(order_id=order.id).count() == 0
        assert (await Bill.get(id=bill.id)).status is BillStatus.PAID
        assert (await Application.get(id=case_id)).status is ApplicationStatus.WITHDRAWN


@pytest.mark.usefixtures("quiet")
class TestPaidFeeThroughBothRelays:
    async def test_a_crash_after_the_case_moved_leaves_it_moved_exactly_once_after_the_restart(
        self, api: Api, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given: the notice made the bill, the applicant paid it (PAID, with its payments.bill_paid row), and the
        # applications relay crashes right after recording the payment (P20)
        _, _, case_id = await awaiting_payment(api, 13)
        j = jobs(api.live)
        await tasks.relay_payments(j.ctx())
        (bill,) = await bills_of(case_id)
        await pay_by_query(j, bill)
        paid = await OutboxEvent.get(topic="payments.bill_paid", key=str(bill.id))
        real = handling.record_payment

        async def record_then_crash(application_id: uuid.UUID, bill_id: str, moment: datetime) -> Application:
            await real(application_id, bill_id, moment)
            raise ConnectionResetError("the worker died before its commit")

        monkeypatch.setattr(handling, "record_payment", record_then_crash)
        await payment_relay.relay_applications(j.ctx())
        after_crash = (await Application.get(id=case_id)).status

        # when: the relay runs again after the restart, twice
        monkeypatch.setattr(handling, "record_payment", real)
        await payment_relay.relay_applications(j.ctx())
        await payment_relay.relay_applications(j.ctx())

        # then: the case left 待缴费 exactly once, for this bill
        assert after_crash is ApplicationStatus.PENDING_PAYMENT
        assert (await Application.get(id=case_id)).status is ApplicationStatus.IN_PROGRESS
        events = await ApplicationEvent.filter(application_id=case_id, event_type=EventType.PAID)
        assert [e.detail for e in events] == [{"billId": str(bill.id)}]
        assert await OutboxReceipt.filter(consumer=payment_relay.CONSUMER, event_id=paid.id).count() == 1
