"""The demo journey of `make run`: seeded resident 8 finds the fee of their seeded 待缴费 case (普通护照签发), pays it
in the Alipay sandbox cashier, the signed notify makes the order and the bill PAID with a receipt, and the case
leaves 待缴费 through payments.bill_paid."""

from __future__ import annotations

import asyncio
import re
from html import unescape
from typing import Any

from api.applications import payment_relay
from api.models import Application, ApplicationEvent, ApplicationStatus, EventType
from api.seed.context import seed_id
from tests.applications.support import resident_token
from tests.payments.graphql.support import CREATE_PAYMENT, LOOKUP_BILL, PAYMENT_ORDER, pay_input
from tests.support.client import Api

SEEDED_FEE = "JF990000000001"  # api/seed/bills.py FEE_CASES: the fee of case payment-1, resident 8


async def _eventually(check: Any, seconds: float = 15.0) -> Any:
    """The cashier's notify is delivered in the background: wait for its effect, a bounded while."""
    for _ in range(int(seconds / 0.1)):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    return await check()


class TestSeededFeeJourney:
    async def test_resident_8_pays_the_seeded_fee_in_the_sandbox_cashier_and_the_case_moves_on(self, api: Api) -> None:
        # given: the seeded fee, as resident 8 finds it
        token = await resident_token(api, 8)
        application_id = seed_id("application", "payment-1")
        bill = (await api.data(LOOKUP_BILL, {"input": {"billNo": SEEDED_FEE}}, token))["lookupBill"]
        assert (bill["status"], bill["kind"], bill["amountYuan"], bill["applicationId"]) == (
            "UNPAID",
            "APPLICATION_FEE",
            "140.00",
            str(application_id),
        )
        assert [line["name"] for line in bill["lines"]] == ["普通护照签发费", "加注费"]
        case = await Application.get(id=application_id)
        assert case.project_no is not None
        assert bill["applicationProjectNo"] == case.project_no

        # when: paying on Alipay WAP in the sandbox cashier
        order = (await api.data(CREATE_PAYMENT, pay_input(bill["id"], "ALIPAY", "WAP"), token))["createPayment"]
        assert order["payload"]["__typename"] == "RedirectPayload"
        page = await api.http.get(order["sandboxCashierUrl"])
        assert page.status_code == 200
        assert "140.00" in page.text
        action = re.search(r'<form method="post" action="([^"]+/pay)"', page.text)
        assert action is not None
        paid_page = await api.http.post(unescape(action.group(1)))
        assert "支付成功" in paid_page.text

        # then: the order and the bill are PAID with a receipt
        async def order_paid() -> Any:
            found = (await api.data(PAYMENT_ORDER, {"id": order["id"]}, token))["paymentOrder"]
            return found if found["status"] == "PAID" else None

        assert await _eventually(order_paid)
        paid = (await api.data(LOOKUP_BILL, {"input": {"billNo": SEEDED_FEE}}, token))["lookupBill"]
        assert paid["status"] == "PAID"
        assert (paid["receipt"]["amountYuan"], paid["receipt"]["issuer"]) == ("140.00", paid["issuer"])

        # and, once applications' relay has read payments.bill_paid (run here too: the server run has no worker in
        # the process; an embedded worker that got there first leaves this run nothing to do), the case left 待缴费
        await payment_relay.relay_applications({"clock": api.live.clock})
        app = await Application.get(id=application_id)
        assert app.status is ApplicationStatus.IN_PROGRESS
        paid_events = await ApplicationEvent.filter(application_id=application_id, event_type=EventType.PAID)
        assert [e.detail.get("billId") for e in paid_events] == [bill["id"]]
