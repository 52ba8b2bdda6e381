"""WechatPayChannel.parse_notify: notifies the sandbox posts over real HTTP to a receiver that answers through the
channel (parse → reject / ack), and the forgeries a merchant must refuse before and inside the SDK."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from payments.channels.base import Outcome, RefundSpec, RefundState, TradeState
from payments.sandbox.wechat_crypto import encrypt_resource, generate_key
from tests.payments.wechat_support import APPID, MCHID, WechatEnv, order, wechat_env


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WechatEnv]:
    async with wechat_env() as world:
        yield world


@pytest.fixture(scope="module")
def stranger_key() -> rsa.RSAPrivateKey:
    return generate_key()


@pytest.fixture(autouse=True)
async def fresh(env: WechatEnv) -> AsyncIterator[None]:
    yield
    await env.sandbox.settle()
    assert env.sandbox.certificate_hits == 0  # no notify, however forged, makes anyone fetch certificates
    env.sandbox.reset()
    env.receiver.received.clear()
    env.receiver.accept = True


async def _paid(env: WechatEnv, amount_fen: int = 5000) -> str:
    spec = order(amount_fen=amount_fen, clock=env.clock)
    assert (await env.channel.create_order(spec)).outcome is Outcome.OK
    await env.sandbox.pay(spec.out_trade_no)
    await env.sandbox.settle()
    return spec.out_trade_no


async def _created(env: WechatEnv) -> str:
    spec = order(clock=env.clock)
    assert (await env.channel.create_order(spec)).outcome is Outcome.OK
    return spec.out_trade_no


async def _send(env: WechatEnv, event: dict[str, Any], **kwargs: Any) -> int | None:
    """Posts the notify through the sandbox; the status our receiver answered."""
    delivery = await env.sandbox.send_notify(event, **kwargs)
    await env.sandbox.settle()
    return delivery.attempts[-1].status


def _payment_event(env: WechatEnv, out_trade_no: str, **overrides: Any) -> dict[str, Any]:
    resource = env.sandbox.transaction_resource(out_trade_no, **overrides)
    return {"event_type": "TRANSACTION.SUCCESS", "summary": "支付成功", "resource": resource}


class TestPaymentNotify:
    async def test_a_payment_notify_is_a_paid_fact_deduplicated_by_its_id_and_acknowledged(
        self, env: WechatEnv
    ) -> None:
        # given
        spec = order(amount_fen=5000, clock=env.clock)
        await env.channel.create_order(spec)

        # when
        await env.sandbox.pay(spec.out_trade_no)
        await env.sandbox.settle()

        # then
        trade = env.sandbox.trade(spec.out_trade_no)
        assert trade is not None and trade.success_time is not None
        [received] = env.receiver.received
        envelope = json.loads(received.body)
        assert (received.status, received.fact is not None) == (204, True)
        assert received.fact is not None and received.fact.trade is not None
        fact = received.fact.trade
        assert (received.fact.dedupe_key, received.fact.channel_event_id) == (envelope["id"], envelope["id"])
        assert (fact.outcome, fact.state, fact.out_trade_no) == (Outcome.OK, TradeState.PAID, spec.out_trade_no)
        assert (fact.channel_trade_no, fact.amount_fen, fact.currency) == (trade.transaction_id, 5000, "CNY")
        assert (fact.merchant_id, fact.app_id) == (MCHID, APPID)
        assert fact.paid_at == trade.success_time.replace(microsecond=0)
        assert fact.payload_redacted["event_type"] == "TRANSACTION.SUCCESS"
        assert "payer" not in fact.payload_redacted and "openid" not in json.dumps(fact.payload_redacted)
        assert env.sandbox.deliveries[0].acknowledged

    async def test_a_redelivered_notify_keeps_its_dedupe_key(self, env: WechatEnv) -> None:
        # given
        await _paid(env)
        [delivery] = env.sandbox.deliveries

        # when
        attempts = await env.sandbox.redeliver(delivery.id, concurrency=2)

        # then
        assert [a.status for a in attempts] == [204, 204]
        assert len({f.dedupe_key for f in env.receiver.facts()}) == 1
        assert len(env.receiver.facts()) == 3

    async def test_a_plain_mapping_of_headers_is_read_case_insensitively(self, env: WechatEnv) -> None:
        # given the headers as the sandbox sent them, in WeChat's capitalisation
        await _paid(env)
        [delivery] = env.sandbox.deliveries

        # when
        fact = env.channel.parse_notify(delivery.headers, delivery.body)

        # then
        assert fact is not None and fact.trade is not None and fact.trade.state is TradeState.PAID

    async def test_another_merchant_or_app_is_reported_as_received_for_the_service_to_flag(
        self, env: WechatEnv
    ) -> None:
        # given
        out_trade_no = await _created(env)
        event = _payment_event(env, out_trade_no, trade_state="SUCCESS", transaction_id="4200XYZ", mchid="1900009999")
        event["resource"]["appid"] = "wx-someone-else"
        event["resource"]["amount"] = {"total": 5000, "currency": "CNY"}

        # when
        status = await _send(env, event)

        # then
        [fact] = env.receiver.facts()
        assert status == 204
        assert fact.trade is not None
        assert (fact.trade.merchant_id, fact.trade.app_id) == ("1900009999", "wx-someone-else")

    async def test_an_amount_other_than_the_order_is_reported_as_paid(self, env: WechatEnv) -> None:
        # given
        spec = order(amount_fen=5000, clock=env.clock)
        await env.channel.create_order(spec)

        # when
        await env.sandbox.pay(spec.out_trade_no, amount_fen=1)
        await env.sandbox.settle()

        # then
        [fact] = env.receiver.facts()
        assert fact.trade is not None and (fact.trade.state, fact.trade.amount_fen) == (TradeState.PAID, 1)

    async def test_a_success_event_for_an_unpaid_trade_is_refused(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)

        # when
        status = await _send(env, _payment_event(env, out_trade_no))  # trade_state NOTPAY

        # then
        assert (status, env.receiver.facts()) == (401, [])

    async def test_an_event_type_we_do_not_handle_is_refused(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _paid(env)
        event = _payment_event(env, out_trade_no) | {"event_type": "MARKETING.FAVOR.USED"}

        # when
        status = await _send(env, event)

        # then
        assert status == 401


class TestRefundNotify:
    @pytest.mark.parametrize(
        ("ending", "state"),
        [("SUCCESS", RefundState.SUCCEEDED), ("ABNORMAL", RefundState.ABNORMAL), ("CLOSED", RefundState.FAILED)],
    )
    async def test_refund_events_are_refund_facts(self, env: WechatEnv, ending: str, state: RefundState) -> None:
        # given
        out_trade_no = await _paid(env)
        env.sandbox.refund_result = ending

        # when
        await env.channel.refund(RefundSpec(out_trade_no, "R-N1", 2000, 5000))
        await env.sandbox.settle()

        # then
        refund = env.sandbox.refund_record("R-N1")
        assert refund is not None
        [received] = [r for r in env.receiver.received if r.fact is not None and r.fact.refund is not None]
        assert received.status == 204
        assert received.fact is not None and received.fact.refund is not None
        fact = received.fact.refund
        assert (fact.outcome, fact.out_refund_no, fact.state) == (Outcome.OK, "R-N1", state)
        assert (fact.out_trade_no, fact.channel_refund_id, fact.amount_fen) == (out_trade_no, refund.refund_id, 2000)
        assert fact.payload_redacted["event_type"] == f"REFUND.{ending}"
        assert "user_received_account" not in fact.payload_redacted

    async def test_a_refund_of_another_merchant_is_refused(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _paid(env)
        env.sandbox.refund_result = None
        await env.channel.refund(RefundSpec(out_trade_no, "R-N2", 1000, 5000))
        refund = env.sandbox.refund_record("R-N2")
        assert refund is not None
        resource = refund.to_json(notify=True) | {"mchid": "1900009999", "refund_status": "SUCCESS"}

        # when
        status = await _send(env, {"event_type": "REFUND.SUCCESS", "resource": resource})

        # then
        assert status == 401


class TestForgeries:
    async def test_a_notify_signed_with_another_key_is_refused_and_delivered_again(
        self, env: WechatEnv, stranger_key: rsa.RSAPrivateKey
    ) -> None:
        # given
        out_trade_no = await _created(env)
        event = _payment_event(env, out_trade_no, trade_state="SUCCESS", transaction_id="4200F1")

        # when
        delivery = await env.sandbox.send_notify(event, sign_with=stranger_key)
        await env.sandbox.settle()

        # then
        assert [a.status for a in delivery.attempts] == [401]
        assert delivery.attempts[0].body == '{"code":"FAIL","message":"失败"}'
        assert (delivery.acknowledged, delivery.next_at is not None) == (False, True)
        assert env.receiver.facts() == []

    async def test_an_altered_body_is_refused(self, env: WechatEnv) -> None:
        # given a real notify whose body changed after signing
        await _paid(env)
        [delivery] = env.sandbox.deliveries
        altered = delivery.body.replace(
            b'"summary":"\xe6\x94\xaf\xe4\xbb\x98\xe6\x88\x90\xe5\x8a\x9f"', b'"summary":"x"'
        )
        assert altered != delivery.body

        # when
        fact = env.channel.parse_notify(delivery.headers, altered)

        # then
        assert fact is None

    @pytest.mark.parametrize(
        "headers",
        [
            {"Wechatpay-Serial": "PUB_KEY_ID_0110000000000000000000000000000000"},
            {"Wechatpay-Serial": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"},  # looks like a certificate serial
            {"Wechatpay-Serial": ""},  # int('0x', 16) inside the SDK
            {"Wechatpay-Serial": None},
            {"Wechatpay-Signature-Type": None},  # the SDK raises on it
            {"Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"},
            {"Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + base64.b64encode(b"probe" * 20).decode()},
            {"Wechatpay-Signature": None},
            {"Wechatpay-Timestamp": None},
            {"Wechatpay-Nonce": ""},
        ],
        ids=[
            "foreign-key-id",
            "certificate-serial",
            "empty-serial",
            "no-serial",
            "no-signature-type",
            "other-signature-type",
            "probe",
            "no-signature",
            "no-timestamp",
            "empty-nonce",
        ],
    )
    async def test_headers_that_fail_before_the_sdk_are_refused_without_error(
        self, env: WechatEnv, headers: dict[str, str | None]
    ) -> None:
        # given an otherwise genuine payment notify
        out_trade_no = await _created(env)
        event = _payment_event(env, out_trade_no, trade_state="SUCCESS", transaction_id="4200F2")

        # when
        status = await _send(env, event, headers=headers)

        # then
        assert (status, env.receiver.facts()) == (401, [])

    async def test_a_tampered_ciphertext_is_refused(self, env: WechatEnv) -> None:
        # given a resource whose ciphertext was altered before the (valid) signature was made
        out_trade_no = await _created(env)
        plain = env.sandbox.transaction_resource(out_trade_no, trade_state="SUCCESS", transaction_id="4200F3")
        sealed = encrypt_resource(env.sandbox.apiv3_key, json.dumps(plain), "transaction", "transaction")
        raw = bytearray(base64.b64decode(sealed["ciphertext"]))
        raw[5] ^= 0x01
        sealed["ciphertext"] = base64.b64encode(bytes(raw)).decode()

        # when
        status = await _send(env, {"event_type": "TRANSACTION.SUCCESS", "resource": sealed})

        # then
        assert status == 401

    async def test_a_resource_sealed_with_another_apiv3_key_is_refused(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)
        plain = env.sandbox.transaction_resource(out_trade_no, trade_state="SUCCESS", transaction_id="4200F4")
        sealed = encrypt_resource("0" * 32, json.dumps(plain), "transaction", "transaction")

        # when
        status = await _send(env, {"event_type": "TRANSACTION.SUCCESS", "resource": sealed})

        # then
        assert status == 401

    async def test_an_unencrypted_resource_type_is_refused(self, env: WechatEnv) -> None:
        # given
        out_trade_no = await _created(env)
        event = _payment_event(env, out_trade_no, trade_state="SUCCESS", transaction_id="4200F5")
        event["resource_type"] = "plain-resource"

        # when
        status = await _send(env, event)

        # then
        assert status == 401

    @pytest.mark.parametrize("body", [b"\xff\xfe not utf-8", b"not json", b"[]", b""])
    def test_bodies_that_are_not_a_notify_are_refused(self, env: WechatEnv, body: bytes) -> None:
        # given genuine-looking headers
        headers = {
            "Wechatpay-Timestamp": "1700000000",
            "Wechatpay-Nonce": "n",
            "Wechatpay-Signature": base64.b64encode(b"x" * 256).decode(),
            "Wechatpay-Serial": env.sandbox.public_key_id,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }

        # when
        fact = env.channel.parse_notify(headers, body)

        # then
        assert fact is None
