"""The WeChat Pay sandbox's harness: paying, notify delivery on WeChat's schedule, scripts, the HTTP control
endpoints other processes drive it with, the cashier page, and reset."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from api.kit.clock import SHANGHAI
from api.models.payment import Product
from payments.channels.base import Outcome, RefundSpec, RefundState, TradeState
from payments.sandbox.notifier import WECHAT_RETRIES
from payments.sandbox.wechat_crypto import generate_key
from payments.sandbox.wechat_state import TradeStateError
from tests.payments.wechat_support import WechatEnv, order, wechat_env


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WechatEnv]:
    async with wechat_env() as world:
        yield world


@pytest.fixture(autouse=True)
async def fresh(env: WechatEnv) -> AsyncIterator[None]:
    yield
    await env.sandbox.settle()
    assert env.sandbox.certificate_hits == 0
    env.sandbox.reset()
    env.receiver.received.clear()
    env.receiver.accept = True


async def _created(env: WechatEnv, product: Product = Product.NATIVE, amount_fen: int = 5000) -> str:
    spec = order(product, amount_fen=amount_fen, clock=env.clock, payer="o-payer-9")
    assert (await env.channel.create_order(spec)).outcome is Outcome.OK
    return spec.out_trade_no


def _control(env: WechatEnv, name: str) -> str:
    return f"{env.sandbox.control_url}/{name}"


class TestPay:
    async def test_paying_sends_one_payment_notify_and_the_query_says_paid(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)

        # when
        transaction = await env.sandbox.pay(out_trade_no)
        await env.sandbox.settle()

        # then
        assert (transaction["trade_state"], transaction["amount"]["total"]) == ("SUCCESS", 5000)
        [delivery] = env.sandbox.deliveries
        assert (delivery.key, delivery.url, delivery.acknowledged) == (out_trade_no, env.notify_url, True)
        assert json.loads(delivery.body)["event_type"] == "TRANSACTION.SUCCESS"
        assert (await env.channel.query(out_trade_no)).state is TradeState.PAID

    async def test_a_lost_notify_leaves_only_the_query(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)

        # when
        await env.sandbox.pay(out_trade_no, notify=False)

        # then
        assert env.sandbox.deliveries == []
        assert (await env.channel.query(out_trade_no)).state is TradeState.PAID

    async def test_paying_twice_is_refused(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)
        await env.sandbox.pay(out_trade_no)

        # then
        with pytest.raises(TradeStateError, match="该订单已支付") as refused:
            await env.sandbox.pay(out_trade_no)
        assert refused.value.code == "ORDERPAID"

    async def test_a_closed_trade_cannot_be_paid(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)
        await env.sandbox.close_trade(out_trade_no)

        # then
        with pytest.raises(TradeStateError, match="订单已关闭"):
            await env.sandbox.pay(out_trade_no)
        assert (await env.channel.query(out_trade_no)).state is TradeState.CLOSED

    async def test_an_expired_trade_cannot_be_paid(self, env: WechatEnv) -> None:
        # given
        spec = order(clock=env.clock, expires_in=timedelta(minutes=1))
        await env.channel.create_order(spec)
        env.clock.advance(timedelta(minutes=1))

        # then
        with pytest.raises(TradeStateError, match="订单已过期"):
            await env.sandbox.pay(spec.out_trade_no)

    async def test_a_trade_the_sandbox_does_not_know_is_a_key_error(self, env: WechatEnv) -> None:
        with pytest.raises(KeyError):
            await env.sandbox.pay("T-UNKNOWN-0")


class TestNotifyDelivery:
    async def test_an_unacknowledged_notify_is_posted_again_on_wechats_schedule(self, env: WechatEnv) -> None:
        # given our side answers 503 (database down)
        env.receiver.accept = False
        out_trade_no = await _created(env)
        await env.sandbox.pay(out_trade_no)
        await env.sandbox.settle()
        [delivery] = env.sandbox.deliveries
        first = delivery.attempts[0]
        assert (first.status, delivery.next_at) == (503, first.at + WECHAT_RETRIES[0])

        # when not yet due, then due
        env.clock.advance(timedelta(seconds=14))
        early = await env.sandbox.deliver_pending()
        env.receiver.accept = True
        env.clock.advance(timedelta(seconds=1))
        due = await env.sandbox.deliver_pending()

        # then
        assert (early, [d.id for d in due]) == ([], [delivery.id])
        assert [a.status for a in delivery.attempts] == [503, 204]
        assert (delivery.acknowledged, delivery.next_at) == (True, None)

    async def test_wechat_gives_up_after_its_last_retry(self, env: WechatEnv) -> None:
        # given
        env.receiver.accept = False
        await env.sandbox.pay(await _created(env))
        await env.sandbox.settle()
        [delivery] = env.sandbox.deliveries

        # when
        for wait in WECHAT_RETRIES:
            env.clock.advance(wait)
            await env.sandbox.deliver_pending()

        # then
        assert len(delivery.attempts) == 1 + len(WECHAT_RETRIES)
        assert (delivery.acknowledged, delivery.next_at) == (False, None)

    async def test_dropped_notifies_are_never_posted(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)
        env.sandbox.drop_notifies(out_trade_no)

        # when
        await env.sandbox.pay(out_trade_no)
        env.clock.advance(timedelta(minutes=1))
        await env.sandbox.deliver_pending()

        # then
        [delivery] = env.sandbox.deliveries
        assert (delivery.dropped, delivery.attempts, env.receiver.received) == (True, [], [])

    async def test_a_redelivery_posts_the_same_notify_concurrently(self, env: WechatEnv) -> None:
        # given
        await env.sandbox.pay(await _created(env))
        await env.sandbox.settle()
        [delivery] = env.sandbox.deliveries

        # when
        attempts = await env.sandbox.redeliver(delivery.id, concurrency=3)

        # then
        assert [a.status for a in attempts] == [204, 204, 204]
        assert {r.body for r in env.receiver.received} == {delivery.body}


class TestRefundCompletion:
    async def test_a_refund_left_processing_ends_as_told_with_its_notify(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)
        await env.sandbox.pay(out_trade_no)
        env.sandbox.refund_result = None
        await env.channel.refund(RefundSpec(out_trade_no, "R-H1", 5000, 5000))
        await env.sandbox.settle()
        assert (await env.channel.query_refund(out_trade_no, "R-H1")).state is RefundState.PROCESSING

        # when
        await env.sandbox.complete_refund("R-H1", "ABNORMAL")
        await env.sandbox.complete_refund("R-H1", "SUCCESS")
        await env.sandbox.settle()

        # then
        events = [json.loads(d.body)["event_type"] for d in env.sandbox.deliveries]
        assert events == ["TRANSACTION.SUCCESS", "REFUND.ABNORMAL", "REFUND.SUCCESS"]
        assert (await env.channel.query_refund(out_trade_no, "R-H1")).state is RefundState.SUCCEEDED
        with pytest.raises(TradeStateError, match="SUCCESS"):
            await env.sandbox.complete_refund("R-H1", "CLOSED")


class TestScripts:
    async def test_a_script_applies_the_given_number_of_times(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)
        env.sandbox.script("query", http_status=500, times=2)

        # when
        outcomes = [(await env.channel.query(out_trade_no)).outcome for _ in range(3)]

        # then
        assert outcomes == [Outcome.UNKNOWN, Outcome.UNKNOWN, Outcome.OK]

    def test_an_unknown_operation_is_refused(self, env: WechatEnv) -> None:
        with pytest.raises(ValueError, match="operation must be one of"):
            env.sandbox.script("teleport", http_status=500)

    async def test_scripts_over_http(self, env: WechatEnv) -> None:
        # given
        url = _control(env, "script")

        # when
        created = await env.http.post(url, json={"operation": "refund", "httpStatus": 503, "times": 2})
        bad = await env.http.post(url, json={"operation": "refund", "delayS": -1})
        generic = await env.http.post(url, json={"match": {"path": "/v3/certificates"}, "action": {"status": 500}})
        listed = await env.http.get(url)
        cleared = await env.http.delete(url)

        # then
        assert created.status_code == 201
        assert created.json() == [
            {
                "operation": "refund",
                "delayS": 0.0,
                "httpStatus": 503,
                "misSign": False,
                "probeSignature": False,
                "performAnyway": False,
                "times": 2,
            }
        ]
        assert (bad.status_code, bad.json()) == (400, {"error": "delay_s must be a non-negative number of seconds"})
        assert generic.status_code == 201
        assert [s["operation"] for s in listed.json()["operations"]] == ["refund"]
        assert listed.json()["generic"][0]["match"] == {"path": "/v3/certificates"}
        assert cleared.status_code == 204
        assert env.sandbox.op_scripts() == []


class TestRequests:
    async def test_the_log_is_filtered_by_operation_in_process_and_over_http(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)
        await env.channel.query(out_trade_no)
        await env.channel.close(out_trade_no)

        # when
        queries = env.sandbox.requests("query")
        over_http = await env.http.get(_control(env, "requests"), params={"operation": "close"})

        # then
        assert [r.path for r in queries] == [f"/v3/pay/transactions/out-trade-no/{out_trade_no}"]
        assert [r["path"] for r in over_http.json()] == [f"/v3/pay/transactions/out-trade-no/{out_trade_no}/close"]
        assert len(env.sandbox.requests()) == 3


class TestHttpControl:
    async def test_pay_answers_once_our_notify_route_has_answered(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)

        # when
        response = await env.http.post(_control(env, "pay"), json={"outTradeNo": out_trade_no, "amountFen": 4999})

        # then
        assert (response.status_code, response.json()["amount"]["total"]) == (200, 4999)
        assert [r.status for r in env.receiver.received] == [204]

    async def test_harness_errors_are_answered_as_such(self, env: WechatEnv) -> None:
        # given
        paid = await _created(env)
        await env.sandbox.pay(paid)

        # when
        unknown = await env.http.post(_control(env, "pay"), json={"outTradeNo": "T-NOPE-1"})
        twice = await env.http.post(_control(env, "pay"), json={"outTradeNo": paid})
        bad = await env.http.post(_control(env, "pay"), json={"outTradeNo": 5})

        # then
        assert (unknown.status_code, unknown.json()) == (404, {"error": "unknown T-NOPE-1"})
        assert (twice.status_code, twice.json()) == (409, {"error": "该订单已支付", "code": "ORDERPAID"})
        assert (bad.status_code, bad.json()) == (400, {"error": "`outTradeNo` must be a non-empty string"})

    async def test_close_drop_deliver_and_redeliver(self, env: WechatEnv) -> None:
        # given
        closed, lost, paid = [await _created(env) for _ in range(3)]
        await env.sandbox.pay(paid)
        await env.sandbox.settle()

        # when
        close = await env.http.post(_control(env, "close_trade"), json={"outTradeNo": closed})
        drop = await env.http.post(_control(env, "drop_notifies"), json={"outTradeNo": lost})
        await env.http.post(_control(env, "pay"), json={"outTradeNo": lost})
        pending = await env.http.post(_control(env, "deliver_pending"))
        deliveries = (await env.http.get(_control(env, "deliveries"))).json()
        again = await env.http.post(_control(env, "redeliver"), json={"deliveryId": deliveries[0]["id"]})

        # then
        assert (close.status_code, drop.status_code, pending.json()) == (200, 200, [])
        assert (await env.channel.query(closed)).state is TradeState.CLOSED
        assert [(d["key"], d["dropped"], d["acknowledged"]) for d in deliveries] == [
            (paid, False, True),
            (lost, True, False),
        ]
        assert [a["status"] for a in again.json()] == [204]

    async def test_send_notify_signed_with_a_given_key(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)
        pem = (
            generate_key()
            .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            .decode()
        )
        resource = env.sandbox.transaction_resource(out_trade_no, trade_state="SUCCESS", transaction_id="4200C1")
        event = {"event_type": "TRANSACTION.SUCCESS", "resource": resource}

        # when
        forged = await env.http.post(_control(env, "send_notify"), json={"event": event, "signWithPrivateKeyPem": pem})
        genuine = await env.http.post(_control(env, "send_notify"), json={"event": event})

        # then
        assert [a["status"] for a in forged.json()["attempts"]] == [401]
        assert [a["status"] for a in genuine.json()["attempts"]] == [204]

    async def test_set_bill_then_the_channel_downloads_it(self, env: WechatEnv) -> None:
        # given
        day = env.clock.now().astimezone(SHANGHAI) - timedelta(days=2)
        line = {"kind": "pay", "outTradeNo": "T-B", "channelTradeNo": "4200B", "amountFen": 42, "at": day.isoformat()}

        # when
        response = await env.http.post(
            _control(env, "set_bill"), json={"billDate": day.date().isoformat(), "lines": [line]}
        )

        # then
        assert response.json() == {"billDate": day.date().isoformat(), "lines": 1}
        bill = await env.channel.download_bill(day.date())
        assert [(x.out_trade_no, x.amount_fen) for x in bill.lines] == [("T-B", 42)]

    async def test_refunds_can_be_held_and_completed(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)
        await env.sandbox.pay(out_trade_no)
        await env.http.post(_control(env, "refund_result"), json={"result": None})
        await env.channel.refund(RefundSpec(out_trade_no, "R-C1", 100, 5000))

        # when
        response = await env.http.post(
            _control(env, "complete_refund"), json={"outRefundNo": "R-C1", "status": "CLOSED"}
        )

        # then
        assert response.status_code == 200
        assert (await env.channel.query_refund(out_trade_no, "R-C1")).state is RefundState.FAILED

    async def test_status_and_the_hub_listing(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)

        # when
        status = (await env.http.get(_control(env, "status"))).json()
        listing = (await env.http.get(env.hub.base_url)).json()

        # then
        assert (status["certificateHits"], status["publicKeyId"]) == (0, env.sandbox.public_key_id)
        assert list(status["trades"]) == [out_trade_no]
        assert {"name": "wechatpay", "baseUrl": env.sandbox.base_url, "controlUrl": env.sandbox.control_url} in listing


class TestCashier:
    async def test_the_page_shows_the_sandbox_banner_payee_subject_and_amount(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env, amount_fen=5000)

        # when
        response = await env.http.get(f"{env.sandbox.base_url}/cashier/{out_trade_no}")

        # then
        assert response.status_code == 200
        page = response.text
        for text in ("沙箱 / SANDBOX", "商户号 1900000001", "营业执照办理费", '<span id="amount">50.00</span>'):
            assert text in page
        assert f'action="{env.sandbox.base_url}/cashier/{out_trade_no}/pay"' in page

    async def test_pressing_pay_pays_and_the_notify_has_been_answered(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env, Product.H5)

        # when
        response = await env.http.post(f"{env.sandbox.base_url}/cashier/{out_trade_no}/pay")
        again = await env.http.post(f"{env.sandbox.base_url}/cashier/{out_trade_no}/pay")

        # then
        assert (response.status_code, "支付成功" in response.text) == (200, True)
        assert [r.status for r in env.receiver.received] == [204]
        assert (again.status_code, "该订单已支付" in again.text) == (409, True)
        assert len(env.sandbox.deliveries) == 1

    async def test_cancelling_leaves_the_trade_payable(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)

        # when
        response = await env.http.post(f"{env.sandbox.base_url}/cashier/{out_trade_no}/cancel")

        # then
        assert "已取消支付" in response.text
        assert (await env.channel.query(out_trade_no)).state is TradeState.PENDING

    async def test_an_unknown_trade_has_no_page(self, env: WechatEnv) -> None:
        response = await env.http.get(f"{env.sandbox.base_url}/cashier/T-NOPE-2")
        assert response.status_code == 404

    async def test_cashier_url_names_the_page_of_a_known_trade_only(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env, Product.JSAPI)

        # then
        assert env.sandbox.cashier_url(Product.JSAPI, out_trade_no, {}) == (
            f"{env.sandbox.base_url}/cashier/{out_trade_no}"
        )
        assert env.sandbox.cashier_url(Product.JSAPI, "T-NOPE-3", {}) is None
        assert env.sandbox.cashier_url(Product.WAP, out_trade_no, {}) is None


class TestReset:
    async def test_reset_forgets_what_tests_did_and_keeps_the_merchant(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)
        await env.sandbox.pay(out_trade_no)
        env.sandbox.script("query", http_status=500)
        sandbox = env.sandbox
        sandbox.refund_result = None

        # when
        env.sandbox.reset()

        # then
        assert (env.sandbox.trades(), env.sandbox.deliveries, env.sandbox.requests()) == ({}, [], [])
        assert (env.sandbox.op_scripts(), env.sandbox.refund_result) == ([], "SUCCESS")
        fact = await env.channel.query(out_trade_no)
        assert (fact.outcome, fact.state) == (Outcome.REJECTED, TradeState.NOT_FOUND)
