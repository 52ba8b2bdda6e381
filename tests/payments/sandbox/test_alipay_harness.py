"""The Alipay trade sandbox's harness, in process and as JSON under the gateway's `/_control/`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from api.models.payment import Product
from payments.channels.base import BillLine, Outcome, RefundSpec, TradeState
from tests.payments.alipay_support import APP_ID, AlipayWorld, alipay_world, out_trade_no


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[AlipayWorld]:
    async with alipay_world() as built:
        yield built


@pytest.fixture
def env(world: AlipayWorld) -> AlipayWorld:
    world.reset()
    return world


async def _order(env: AlipayWorld, product: Product = Product.JSAPI, amount_fen: int = 5000) -> str:
    spec = env.spec(product, amount_fen=amount_fen)
    assert (await env.channel().create_order(spec)).outcome is Outcome.OK
    return spec.out_trade_no


async def _control(env: AlipayWorld, name: str, payload: Any = None) -> Any:
    response = await env.http.post(f"{env.hub.alipay.control_url}/{name}", json=payload or {})
    assert response.status_code in (200, 201), response.text
    return response.json()


class TestPay:
    async def test_an_unknown_trade_cannot_be_paid(self, env: AlipayWorld) -> None:
        with pytest.raises(KeyError, match="cashier_url"):
            await env.sandbox.pay(out_trade_no())

    async def test_a_closed_trade_cannot_be_paid(self, env: AlipayWorld) -> None:
        no = await _order(env)
        await env.sandbox.close_trade(no)

        with pytest.raises(ValueError, match="TRADE_CLOSED"):
            await env.sandbox.pay(no)

    async def test_a_paid_trade_cannot_be_paid_again(self, env: AlipayWorld) -> None:
        no = await _order(env)
        await env.sandbox.pay(no)

        with pytest.raises(ValueError, match="TRADE_SUCCESS"):
            await env.sandbox.pay(no)
        assert len(env.sandbox.deliveries) == 1

    @pytest.mark.parametrize("amount", [0, -1, True])
    async def test_a_bad_amount_is_refused_and_nothing_changes(self, env: AlipayWorld, amount: Any) -> None:
        no = await _order(env)

        with pytest.raises(ValueError, match="amount_fen"):
            await env.sandbox.pay(no, amount_fen=amount)
        assert env.sandbox.trade(no).status == "WAIT_BUYER_PAY"  # type: ignore[union-attr]

    async def test_without_notify_nothing_is_posted(self, env: AlipayWorld) -> None:
        no = await _order(env)

        await env.sandbox.pay(no, notify=False)

        assert env.sandbox.deliveries == []
        assert (await env.channel().query(no)).state is TradeState.PAID

    async def test_an_order_without_notify_url_is_never_notified(self, env: AlipayWorld) -> None:
        spec = env.spec(Product.JSAPI)
        await env.channel(notify_url="http://127.0.0.1:9/unused").create_order(spec)
        env.sandbox.trade(spec.out_trade_no).notify_url = None  # type: ignore[union-attr]

        await env.sandbox.pay(spec.out_trade_no)

        assert env.sandbox.deliveries == []


class TestCloseTrade:
    async def test_an_unknown_trade_is_a_key_error(self, env: AlipayWorld) -> None:
        with pytest.raises(KeyError):
            await env.sandbox.close_trade(out_trade_no())

    async def test_a_paid_trade_cannot_be_closed(self, env: AlipayWorld) -> None:
        no = await _order(env)
        await env.sandbox.pay(no, notify=False)

        with pytest.raises(ValueError, match="TRADE_SUCCESS"):
            await env.sandbox.close_trade(no)


class TestSendNotify:
    async def test_fields_that_carry_a_sign_are_posted_as_they_are(self, env: AlipayWorld) -> None:
        no = await _order(env)
        fields = env.sandbox.notify_fields(no) | {"sign": "bm90IGEgc2lnbmF0dXJl"}

        delivery = await env.sandbox.send_notify(fields)

        assert env.receiver.fields()["sign"] == "bm90IGEgc2lnbmF0dXJl"
        assert delivery.attempts[0].body == "fail"

    async def test_a_notify_needs_somewhere_to_go(self, env: AlipayWorld) -> None:
        with pytest.raises(ValueError, match="notify URL"):
            await env.sandbox.send_notify({"out_trade_no": out_trade_no()})

    async def test_an_explicit_url_is_used(self, env: AlipayWorld) -> None:
        no = await _order(env)

        delivery = await env.sandbox.send_notify(env.sandbox.notify_fields(no), url=env.notify_url)

        assert delivery.url == env.notify_url and delivery.acknowledged


class TestScript:
    @pytest.mark.parametrize(
        ("operation", "options"),
        [
            ("alipay.trade.pay", {}),
            ("alipay.trade.app.pay", {}),
            ("alipay.trade.query", {"delay_s": -1}),
            ("alipay.trade.query", {"http_status": 99}),
            ("alipay.trade.query", {"times": 0}),
        ],
    )
    def test_a_bad_script_is_refused(self, env: AlipayWorld, operation: str, options: dict[str, Any]) -> None:
        with pytest.raises(ValueError):  # noqa: PT011 — each case has its own message
            env.sandbox.script(operation, **options)
        assert env.sandbox.scripts() == []

    async def test_a_script_lasts_its_times(self, env: AlipayWorld) -> None:
        no = await _order(env)
        env.sandbox.script("alipay.trade.query", http_status=503, times=2)
        channel = env.channel()

        outcomes = [(await channel.query(no)).outcome for _ in range(3)]

        assert outcomes == [Outcome.UNKNOWN, Outcome.UNKNOWN, Outcome.OK]

    async def test_a_script_without_times_lasts_until_reset(self, env: AlipayWorld) -> None:
        no = await _order(env)
        env.sandbox.script("alipay.trade.query", http_status=503, times=None)

        outcomes = [(await env.channel().query(no)).outcome for _ in range(3)]
        env.sandbox.reset()

        assert outcomes == [Outcome.UNKNOWN] * 3
        assert env.sandbox.scripts() == []

    async def test_another_app_may_not_use_the_trade_methods(self, env: AlipayWorld) -> None:
        env.hub.alipay.register_app("2021000000000002", env.app_keys[1])

        fact = await env.channel(app_id="2021000000000002").query(out_trade_no())

        assert fact.outcome is Outcome.REJECTED
        assert "isv.insufficient-isv-permissions" in fact.reason


class TestRequests:
    async def test_calls_are_listed_by_method_and_trade(self, env: AlipayWorld) -> None:
        channel = env.channel()
        first, second = await _order(env), await _order(env)
        await channel.query(first)
        await channel.query(second)
        await channel.query(second)

        assert len(env.sandbox.requests()) == 5
        assert len(env.sandbox.requests("alipay.trade.create")) == 2
        assert len(env.sandbox.requests("alipay.trade.query", out_trade_no=second)) == 2
        assert len(env.sandbox.requests(out_trade_no=first)) == 2


class TestControl:
    async def test_pay_close_and_deliveries_over_http(self, env: AlipayWorld) -> None:
        # given
        paid, closed = await _order(env), await _order(env)

        # when
        trade = await _control(env, "pay", {"outTradeNo": paid, "amountFen": "5000"})
        await _control(env, "close_trade", {"outTradeNo": closed})
        deliveries = (await env.http.get(f"{env.hub.alipay.control_url}/deliveries")).json()
        trades = (await env.http.get(f"{env.hub.alipay.control_url}/trades")).json()

        # then
        assert (trade["outTradeNo"], trade["status"], trade["amountFen"]) == (paid, "TRADE_SUCCESS", "5000")
        [delivery] = deliveries
        assert (delivery["key"], delivery["acknowledged"], delivery["attempts"][0]["body"]) == (paid, True, "success")
        assert {t["outTradeNo"]: t["status"] for t in trades} == {paid: "TRADE_SUCCESS", closed: "TRADE_CLOSED"}

    async def test_drop_deliver_pending_and_redeliver_over_http(self, env: AlipayWorld) -> None:
        # given
        no = await _order(env)
        await _control(env, "drop_notifies", {"outTradeNo": no})
        await _control(env, "pay", {"outTradeNo": no})

        # when
        pending = await _control(env, "deliver_pending")
        [delivery] = env.sandbox.deliveries
        again = await _control(env, "redeliver", {"deliveryId": delivery.id, "concurrency": 2})

        # then
        assert pending == []
        assert [a["body"] for a in again["attempts"]] == ["success", "success"]
        assert len(env.receiver.bodies) == 2

    async def test_a_forged_notify_over_http(self, env: AlipayWorld) -> None:
        no = await _order(env)

        delivery = await _control(env, "send_notify", {"fields": env.sandbox.notify_fields(no), "forged": True})
        genuine = await _control(env, "send_notify", {"fields": env.sandbox.notify_fields(no)})

        assert delivery["attempts"][0]["body"] == "fail"
        assert genuine["attempts"][0]["body"] == "success"

    async def test_an_operation_script_over_http_and_the_gateways_own_scripts_still_work(
        self, env: AlipayWorld
    ) -> None:
        # given
        no = await _order(env)
        listing = await _control(env, "script", {"operation": "alipay.trade.query", "httpStatus": 502})
        await _control(
            env,
            "script",
            {"match": {"method": "alipay.trade.close"}, "action": {"status": 503}, "times": 1},
        )

        # when
        shown = (await env.http.get(f"{env.hub.alipay.control_url}/script")).json()
        query = await env.channel().query(no)
        close = await env.channel().close(no)
        cleared = await env.http.delete(f"{env.hub.alipay.control_url}/script")

        # then
        assert listing == [
            {
                "operation": "alipay.trade.query",
                "delayS": None,
                "httpStatus": 502,
                "misSign": False,
                "performAnyway": False,
                "times": 1,
            }
        ]
        assert len(shown) == 2
        assert (query.outcome, close.outcome) == (Outcome.UNKNOWN, Outcome.UNKNOWN)
        assert cleared.status_code == 204
        assert env.sandbox.scripts() == [] and env.hub.alipay.requests()

    async def test_set_bill_over_http(self, env: AlipayWorld) -> None:
        at = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)
        line = {"kind": "pay", "outTradeNo": "T1", "channelTradeNo": "2026", "amountFen": "5000", "at": at.isoformat()}

        answer = await _control(env, "set_bill", {"billDate": "2026-04-01", "lines": [line]})
        download = await env.channel().download_bill(date(2026, 4, 1))

        assert answer == {"billDate": "2026-04-01", "lines": 1}
        assert download.lines == (BillLine("pay", "T1", "2026", 5000, at),)

    @pytest.mark.parametrize(
        ("name", "payload", "status"),
        [
            ("pay", {"outTradeNo": "NOPE"}, 404),
            ("pay", {"outTradeNo": ""}, 400),
            ("pay", {"outTradeNo": "X", "amountFen": 1.5}, 400),
            ("pay", [], 400),
            ("redeliver", {"deliveryId": "1"}, 400),
            ("redeliver", {"deliveryId": 999999}, 404),
            ("send_notify", {"fields": {"a": 1}}, 400),
            ("set_bill", {"billDate": "2026-04-01", "lines": [{"kind": "gift"}]}, 400),
            ("set_bill", {"billDate": "yesterday", "lines": []}, 400),
            ("script", {"operation": "alipay.trade.nope"}, 400),
        ],
    )
    async def test_bad_control_calls_change_nothing(
        self, env: AlipayWorld, name: str, payload: Any, status: int
    ) -> None:
        response = await env.http.post(f"{env.hub.alipay.control_url}/{name}", json=payload)

        assert response.status_code == status
        assert "error" in response.json()
        assert (env.sandbox.trades(), env.sandbox.deliveries, env.sandbox.scripts()) == ([], [], [])

    async def test_the_gateway_still_lists_its_requests(self, env: AlipayWorld) -> None:
        no = await _order(env)

        requests = (await env.http.get(f"{env.hub.alipay.control_url}/requests")).json()

        assert [r["body"]["biz_content"]["out_trade_no"] for r in requests] == [no]
        assert requests[0]["query"]["app_id"] == APP_ID


class TestRefundNotifiesFollowTheTrade:
    async def test_refund_notifies_go_to_the_orders_notify_url(self, env: AlipayWorld) -> None:
        no = await _order(env)
        await env.sandbox.pay(no)

        await env.channel().refund(RefundSpec(no, out_trade_no("R"), 5000, 5000))
        await env.sandbox.settle()

        assert [d.url for d in env.sandbox.deliveries] == [env.notify_url, env.notify_url]
        assert env.sandbox.deliveries[1].acknowledged


class TestExpiry:
    async def test_an_expired_app_order_cannot_be_paid(self, env: AlipayWorld) -> None:
        # given
        spec = env.spec(Product.APP, expires_at=env.clock.now() + timedelta(minutes=5))
        result = await env.channel().create_order(spec)
        env.sandbox.cashier_url(Product.APP, spec.out_trade_no, result.payload)

        # when
        env.sandbox_clock.advance(timedelta(minutes=6))

        # then
        with pytest.raises(ValueError, match="TRADE_CLOSED"):
            await env.sandbox.pay(spec.out_trade_no)
