"""End to end through the sandbox cashier (payments.md §14): the resident opens `sandboxCashierUrl`, presses 支付,
and the order becomes PAID through the channel's notify to our route, as a person would do it in a browser."""

from __future__ import annotations

import html
import re

import pytest

from api.models.payment import Bill, BillStatus, OrderStatus
from tests.payments.conformance.probes import notify_events, outbox_topics
from tests.payments.conformance.support import BILL_FEN, World

_PAY_FORM = re.compile(r'<form method="post" action="([^"]+/pay)"')


class TestCashierFlow:
    @pytest.mark.parametrize(("channel", "product"), [("ALIPAY", "APP"), ("ALIPAY", "WAP"), ("WECHAT", "NATIVE")])
    async def test_a_resident_pays_at_the_sandbox_cashier(self, world: World, channel: str, product: str) -> None:
        # given: O in PAYING with its sandbox cashier page
        bill = await world.bill()
        order = await world.paying(bill, channel, product)
        url = order.view["sandboxCashierUrl"]
        assert isinstance(url, str) and url.startswith(world.live.base_url + "/sandbox/")

        # when: the resident opens the page
        page = await world.api.http.get(url)

        # then: a sandbox page showing the payee, the subject and ¥50.00, with 支付
        assert page.status_code == 200, page.text
        assert "沙箱 / SANDBOX" in page.text and "交通违法罚款" in page.text
        assert '<span id="amount">50.00</span>' in page.text
        found = _PAY_FORM.search(page.text)
        assert found is not None, page.text

        # when: 支付 is pressed
        paid_page = await world.api.http.post(html.unescape(found.group(1)))
        await world.settle()

        # then: the page says so, and O became PAID through the notify route
        assert paid_page.status_code == 200, paid_page.text
        assert "支付成功" in paid_page.text or "已支付" in paid_page.text, paid_page.text
        [delivery] = world.deliveries(channel, order.out_trade_no)
        assert delivery.acknowledged and delivery.url.endswith(f"/pay/notify/{channel.lower()}")
        row = await world.order_row(order)
        assert (row.status, row.paid_fen) == (OrderStatus.PAID, BILL_FEN)
        [event] = await notify_events(row.id)
        assert (event.from_status, event.to_status) == ("PAYING", "PAID")
        assert (await Bill.get(id=bill.id)).status is BillStatus.PAID
        assert (await outbox_topics(bill.id)).count("payments.bill_paid") == 1
        view = await world.order_view(order.id)
        assert view is not None and (view["status"], view["sandboxCashierUrl"]) == ("PAID", None)
