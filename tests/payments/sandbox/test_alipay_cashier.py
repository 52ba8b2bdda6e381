"""The Alipay sandbox cashier: pages for known trades, app order strings and wap URLs; 支付 and 取消."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, quote, urlencode

import pytest

from api.models.payment import Product
from api.platforms.alipay import generate_rsa_keypair, load_private_key, rsa2_sign, sign_content
from payments.channels.base import Outcome, TradeState
from tests.payments.alipay_support import AlipayWorld, alipay_world, out_trade_no


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[AlipayWorld]:
    async with alipay_world() as built:
        yield built


@pytest.fixture
def env(world: AlipayWorld) -> AlipayWorld:
    world.reset()
    return world


class TestCashierUrl:
    async def test_each_product_has_its_page(self, env: AlipayWorld) -> None:
        channel = env.channel()
        urls = {}
        for product in Product:
            spec = env.spec(product)
            result = await channel.create_order(spec)
            url = env.sandbox.cashier_url(product, spec.out_trade_no, result.payload)
            urls[product] = (spec.out_trade_no, result.payload, url)

        base = env.hub.alipay.base_url
        _, payload, app_url = urls[Product.APP]
        assert app_url == f"{base}/cashier?order_string={quote(payload['orderString'], safe='')}"
        assert urls[Product.WAP][2] == urls[Product.WAP][1]["url"]
        assert urls[Product.H5][2] == urls[Product.H5][1]["url"]
        assert urls[Product.JSAPI][2] == f"{base}/cashier/{urls[Product.JSAPI][0]}"
        assert urls[Product.NATIVE][2] == f"{base}/cashier/{urls[Product.NATIVE][0]}"

    async def test_an_app_order_becomes_payable_but_stays_unknown_to_queries(self, env: AlipayWorld) -> None:
        # given
        channel = env.channel()
        spec = env.spec(Product.APP)
        result = await channel.create_order(spec)

        # when
        env.sandbox.cashier_url(Product.APP, spec.out_trade_no, result.payload)
        before = await channel.query(spec.out_trade_no)
        await env.sandbox.pay(spec.out_trade_no)
        after = await channel.query(spec.out_trade_no)

        # then
        assert before.state is TradeState.NOT_FOUND
        assert (after.state, after.amount_fen) == (TradeState.PAID, 5000)
        [fact] = env.receiver.facts
        assert fact is not None and fact.trade is not None and fact.trade.state is TradeState.PAID

    def test_a_product_without_its_payload_has_no_page(self, env: AlipayWorld) -> None:
        assert env.sandbox.cashier_url(Product.APP, "T1", {}) is None
        assert env.sandbox.cashier_url("WAP", "T1", {"url": 5}) is None


class TestCashierPages:
    async def test_a_known_trade_shows_payee_subject_and_yuan(self, env: AlipayWorld) -> None:
        spec = env.spec(Product.JSAPI, amount_fen=115)
        await env.channel().create_order(spec)

        page = await env.http.get(f"{env.hub.alipay.base_url}/cashier/{spec.out_trade_no}")

        assert page.status_code == 200
        assert "沙箱 / SANDBOX" in page.text
        assert '<span id="amount">1.15</span>' in page.text
        assert "营业执照办理费" in page.text and "2088000000000001" in page.text
        assert f"/cashier/{spec.out_trade_no}/pay" in page.text

    async def test_paying_marks_the_trade_paid_and_notifies_at_once(self, env: AlipayWorld) -> None:
        # given
        channel = env.channel()
        spec = env.spec(Product.NATIVE)
        result = await channel.create_order(spec)

        # when
        page = await env.http.post(f"{result.payload['codeUrl']}/pay")
        await env.sandbox.settle()

        # then
        assert page.status_code == 200 and "支付成功" in page.text
        assert (await channel.query(spec.out_trade_no)).state is TradeState.PAID
        [delivery] = env.sandbox.deliveries
        assert delivery.acknowledged

    async def test_a_wap_payment_sends_the_browser_back_to_the_merchant_and_a_qr_payment_does_not(
        self, env: AlipayWorld
    ) -> None:
        # given: a WAP order that names where the browser comes back to, and a NATIVE (QR) one
        channel = env.channel()
        wap = env.spec(Product.WAP, return_url="http://merchant.test/pay/return")
        wap_url = (await channel.create_order(wap)).payload["url"]
        native = env.spec(Product.NATIVE)
        code_url = (await channel.create_order(native)).payload["codeUrl"]
        opened = await env.http.get(wap_url)

        # when
        wap_paid = await env.http.post(f"{env.hub.alipay.base_url}/cashier/{wap.out_trade_no}/pay")
        native_paid = await env.http.post(f"{code_url}/pay")
        await env.sandbox.settle()

        # then: only the paid WAP page leads back, and only once paid
        assert "merchant.test" not in opened.text
        assert 'href="http://merchant.test/pay/return"' in wap_paid.text and "支付成功" in wap_paid.text
        assert "支付成功" in native_paid.text and 'id="return"' not in native_paid.text

    async def test_paying_twice_pays_once(self, env: AlipayWorld) -> None:
        spec = env.spec(Product.NATIVE)
        result = await env.channel().create_order(spec)
        await env.http.post(f"{result.payload['codeUrl']}/pay")

        page = await env.http.post(f"{result.payload['codeUrl']}/pay")
        await env.sandbox.settle()

        assert "该交易已支付" in page.text
        assert len(env.sandbox.deliveries) == 1

    async def test_cancelling_closes_the_trade(self, env: AlipayWorld) -> None:
        channel = env.channel()
        spec = env.spec(Product.JSAPI)
        await channel.create_order(spec)

        page = await env.http.post(f"{env.hub.alipay.base_url}/cashier/{spec.out_trade_no}/cancel")
        paid = await env.http.post(f"{env.hub.alipay.base_url}/cashier/{spec.out_trade_no}/pay")

        assert "已取消" in page.text
        assert "交易已关闭" in paid.text
        assert (await channel.query(spec.out_trade_no)).state is TradeState.CLOSED
        assert env.sandbox.deliveries == []

    async def test_an_app_order_string_opens_the_trade(self, env: AlipayWorld) -> None:
        # given
        channel = env.channel()
        spec = env.spec(Product.APP, amount_fen=29)
        result = await channel.create_order(spec)

        # when
        page = await env.http.get(
            f"{env.hub.alipay.base_url}/cashier", params={"order_string": result.payload["orderString"]}
        )
        await env.http.post(f"{env.hub.alipay.base_url}/cashier/{spec.out_trade_no}/pay")
        await env.sandbox.settle()

        # then
        assert page.status_code == 200 and '<span id="amount">0.29</span>' in page.text
        fact = await channel.query(spec.out_trade_no)
        assert (fact.outcome, fact.state, fact.amount_fen) == (Outcome.OK, TradeState.PAID, 29)
        assert env.receiver.facts[0] is not None

    @pytest.mark.parametrize("forgery", ["tampered", "other key", "other app", "not an order"])
    async def test_an_order_string_we_did_not_sign_is_refused(self, env: AlipayWorld, forgery: str) -> None:
        # given
        result = await env.channel().create_order(env.spec(Product.APP, amount_fen=5000))
        order_string = result.payload["orderString"]
        if forgery == "tampered":
            order_string = order_string.replace("50.00", "0.01")
        elif forgery in ("other key", "other app"):
            params = dict(parse_qsl(order_string))
            params.pop("sign")
            if forgery == "other app":
                params["app_id"] = "2021000000009999"
            pem = generate_rsa_keypair()[0] if forgery == "other key" else env.app_keys[0]
            key = load_private_key(pem)
            params["sign"] = rsa2_sign(key, sign_content(params))
            order_string = urlencode(params)
        else:
            order_string = "method=alipay.trade.query&app_id=2021000000000001"

        # when
        page = await env.http.get(f"{env.hub.alipay.base_url}/cashier", params={"order_string": order_string})

        # then
        assert page.status_code == 400
        assert env.sandbox.trades() == []

    async def test_an_unknown_trade_has_no_page(self, env: AlipayWorld) -> None:
        base = env.hub.alipay.base_url
        no = out_trade_no()

        pages = [await env.http.get(f"{base}/cashier/{no}"), await env.http.post(f"{base}/cashier/{no}/pay")]

        assert [page.status_code for page in pages] == [404, 404]


class TestCashierUrlOfAForeignOrder:
    async def test_an_order_the_sandbox_cannot_verify_still_gets_a_page_that_says_so(self, env: AlipayWorld) -> None:
        # given: an app whose key the gateway never registered
        channel = env.channel(app_id="2021000000007777")
        spec = env.spec(Product.APP)
        result = await channel.create_order(spec)

        # when
        url = env.sandbox.cashier_url(Product.APP, spec.out_trade_no, result.payload)
        page = await env.http.get(url or "")

        # then
        assert env.sandbox.trades() == []
        assert page.status_code == 400 and "not for this sandbox" in page.text
