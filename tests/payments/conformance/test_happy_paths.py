"""P01 and P02 (payments.md §15.2): a payment through each channel's real notify, from createPayment to the
receipt, the outbox row and (for an application fee) the case leaving 待缴费 exactly once."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest

from api.models import ApplicationStatus
from api.models.payment import Bill, BillStatus, OrderStatus, Receipt
from tests.payments.conformance import fees
from tests.payments.conformance.probes import decrypt_resource, notify_events
from tests.payments.conformance.support import BILL_FEN, World, new_key


class TestHappyPaths:
    @pytest.mark.usefixtures("quiet_relays")
    async def test_p01_happy_path_alipay_app(self, world: World) -> None:
        # given: an application in 待缴费 whose 5000-fen Bill payments' relay made, and O on Alipay APP with key K
        case = await fees.fee_case(world)
        order = await world.paying(case.bill, "ALIPAY", "APP", key=new_key())
        assert order.view["payload"]["__typename"] == "AlipayAppPayload"
        assert "method=alipay.trade.app.pay" in order.view["payload"]["orderString"]

        # when: the payer pays and the sandbox delivers its signed TRADE_SUCCESS notify
        trade = await world.harness.alipay.pay(order.out_trade_no)

        # then: the notify said 50.00 and was answered exactly `success`, once
        [delivery] = world.alipay_deliveries(order.out_trade_no)
        sent = dict(parse_qsl(delivery.body.decode()))
        assert (sent["trade_status"], sent["total_amount"], sent["out_trade_no"]) == (
            "TRADE_SUCCESS",
            "50.00",
            order.out_trade_no,
        )
        assert [(a.status, a.body) for a in delivery.attempts] == [(200, "success")]
        assert delivery.acknowledged
        # O is PAID with the channel's trade number
        row = await world.order_row(order)
        assert (row.status, row.paid_fen, row.channel_trade_no) == (OrderStatus.PAID, BILL_FEN, trade.trade_no)
        assert row.anomaly is None
        [event] = await notify_events(row.id)
        assert (event.verified, event.dedupe_key, event.from_status, event.to_status) == (
            True,
            sent["notify_id"],
            "PAYING",
            "PAID",
        )
        view = await world.order_view(order.id)
        assert view is not None and (view["status"], view["payload"], view["sandboxCashierUrl"]) == ("PAID", None, None)
        # the Bill is PAID with its receipt, as myBills shows it
        bill = await Bill.get(id=case.bill.id)
        assert (bill.status, bill.paid_order_id) == (BillStatus.PAID, row.id)
        receipt = await Receipt.get(bill_id=bill.id)
        assert (receipt.amount_fen, receipt.issuer) == (BILL_FEN, bill.issuer)
        listed = await world.my_bill(bill.id)
        assert listed is not None
        assert (listed["status"], listed["applicationId"], listed["receipt"]) == (
            "PAID",
            case.application_id,
            {"receiptNo": receipt.receipt_no, "amountFen": str(BILL_FEN), "issuer": bill.issuer},
        )
        # exactly one payments.bill_paid row, and the case leaves 待缴费 once, however often the relay runs
        [paid] = await fees.bill_paid_events(bill)
        assert (paid.payload["billId"], paid.payload["applicationId"]) == (str(bill.id), case.application_id)
        assert await fees.status_of(case.application_id) is ApplicationStatus.PENDING_PAYMENT
        await fees.run_applications_relay(world)
        await fees.run_applications_relay(world)
        assert await fees.status_of(case.application_id) is ApplicationStatus.IN_PROGRESS
        [step] = await fees.paid_steps(case.application_id)
        assert step.detail == {"billId": str(bill.id)}
        assert await fees.handled_by_applications(paid)
        assert len(await fees.bill_paid_events(bill)) == 1

    async def test_p02_happy_path_wechat_native(self, world: World) -> None:
        # given: O on WeChat Native, whose payload is the code_url to show as a QR code
        bill = await world.bill()
        order = await world.paying(bill, "WECHAT", "NATIVE")
        payload = order.view["payload"]
        assert payload["__typename"] == "QrCodePayload" and payload["codeUrl"].startswith("weixin://wxpay/")

        # when: the payer pays and the sandbox sends its signed, encrypted TRANSACTION.SUCCESS
        await world.pay_at_channel(order)

        # then: the notify carried amount.total=5000 and was answered 204 without a body
        [delivery] = world.wechat_deliveries(order.out_trade_no)
        envelope = json.loads(delivery.body)
        assert envelope["event_type"] == "TRANSACTION.SUCCESS"
        resource = decrypt_resource(world.harness.wechat.apiv3_key, envelope)
        assert (resource["out_trade_no"], resource["trade_state"], resource["amount"]["total"]) == (
            order.out_trade_no,
            "SUCCESS",
            BILL_FEN,
        )
        assert [(a.status, a.body) for a in delivery.attempts] == [(204, "")]
        # O is PAID, the Bill too, with one outbox row announcing it
        row = await world.order_row(order)
        assert (row.status, row.paid_fen, row.channel_trade_no) == (
            OrderStatus.PAID,
            BILL_FEN,
            resource["transaction_id"],
        )
        [event] = await notify_events(row.id)
        assert (event.verified, event.dedupe_key, event.to_status) == (True, envelope["id"], "PAID")
        paid_bill = await Bill.get(id=bill.id)
        assert (paid_bill.status, paid_bill.paid_order_id) == (BillStatus.PAID, row.id)
        assert await Receipt.filter(bill_id=bill.id).count() == 1
        [paid] = await fees.bill_paid_events(paid_bill)
        assert (paid.payload["billId"], paid.payload["applicationId"]) == (str(bill.id), None)
