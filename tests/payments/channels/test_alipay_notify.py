"""AlipayChannel.parse_notify, .ack and .reject: notifies as the sandbox posts them, and forgeries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from api.models.payment import Product
from api.platforms.alipay import load_private_key, rsa2_sign
from payments.channels.base import NotifyFact, Outcome, RefundSpec, RefundState, TradeState
from payments.sandbox.alipay_trades import notify_sign_content
from tests.payments.alipay_support import APP_ID, SELLER_ID, AlipayWorld, alipay_world, out_trade_no


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[AlipayWorld]:
    async with alipay_world() as built:
        yield built


@pytest.fixture
def env(world: AlipayWorld) -> AlipayWorld:
    world.reset()
    return world


async def _order(env: AlipayWorld, amount_fen: int = 5000) -> str:
    spec = env.spec(Product.JSAPI, amount_fen=amount_fen)
    assert (await env.channel().create_order(spec)).outcome is Outcome.OK
    return spec.out_trade_no


def _signed(fields: dict[str, str], key: rsa.RSAPrivateKey) -> bytes:
    """A notify body signed as Alipay signs (every field but sign and sign_type, blank ones included)."""
    return urlencode(fields | {"sign": rsa2_sign(key, notify_sign_content(fields))}).encode()


def _gateway_signed(env: AlipayWorld, fields: dict[str, str]) -> bytes:
    return urlencode(fields | {"sign": env.hub.alipay.sign(notify_sign_content(fields))}).encode()


def _parse(env: AlipayWorld, body: bytes) -> NotifyFact | None:
    return env.channel().parse_notify({"content-type": "application/x-www-form-urlencoded"}, body)


class TestParseNotify:
    async def test_a_payment_notify_is_acknowledged_and_read(self, env: AlipayWorld) -> None:
        # given
        no = await _order(env, 5000)

        # when
        trade = await env.sandbox.pay(no)

        # then
        [delivery] = env.sandbox.deliveries
        assert delivery.acknowledged and delivery.attempts[0].body == "success"
        [fact] = env.receiver.facts
        fields = env.receiver.fields()
        assert fact is not None and fact.trade is not None and fact.refund is None
        assert fact.dedupe_key == fields["notify_id"] == fact.channel_event_id
        t = fact.trade
        assert (t.outcome, t.out_trade_no, t.state, t.amount_fen) == (Outcome.OK, no, TradeState.PAID, 5000)
        assert (t.channel_trade_no, t.merchant_id, t.app_id) == (trade.trade_no, SELLER_ID, APP_ID)
        assert trade.paid_at is not None and t.paid_at == trade.paid_at.replace(microsecond=0).astimezone(UTC)
        assert "buyer_id" in fields and "buyer_logon_id" in fields
        assert "buyer_id" not in t.payload_redacted and "buyer_logon_id" not in t.payload_redacted
        assert "sign" not in t.payload_redacted
        assert t.payload_redacted["total_amount"] == "50.00"

    async def test_a_replayed_notify_verifies_again_with_the_same_dedupe_key(self, env: AlipayWorld) -> None:
        no = await _order(env)
        await env.sandbox.pay(no)
        [delivery] = env.sandbox.deliveries

        await env.sandbox.redeliver(delivery.id, concurrency=3)

        facts = env.receiver.facts
        assert len(facts) == 4 and all(f is not None for f in facts)
        assert len({f.dedupe_key for f in facts if f}) == 1

    async def test_an_altered_amount_fails(self, env: AlipayWorld) -> None:
        no = await _order(env)
        await env.sandbox.pay(no)

        forged = env.receiver.bodies[0].replace(b"total_amount=50.00", b"total_amount=0.01")

        assert forged != env.receiver.bodies[0]
        assert _parse(env, forged) is None

    async def test_a_notify_signed_with_another_key_fails(self, env: AlipayWorld) -> None:
        no = await _order(env)
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)

        delivery = await env.sandbox.send_notify(env.sandbox.notify_fields(no), sign_with=other)

        assert env.receiver.facts == [None]
        assert delivery.attempts[0].body == "fail"

    async def test_a_notify_signed_with_our_own_app_key_fails(self, env: AlipayWorld) -> None:
        no = await _order(env)

        body = _signed(env.sandbox.notify_fields(no), load_private_key(env.app_keys[0]))

        assert _parse(env, body) is None

    async def test_another_apps_notify_fails_though_alipay_signed_it(self, env: AlipayWorld) -> None:
        no = await _order(env)

        body = _gateway_signed(env, env.sandbox.notify_fields(no, app_id="2021000000009999"))

        assert _parse(env, body) is None

    async def test_another_seller_is_reported_not_hidden(self, env: AlipayWorld) -> None:
        no = await _order(env)

        fact = _parse(env, _gateway_signed(env, env.sandbox.notify_fields(no, seller_id="2088999999999999")))

        assert fact is not None and fact.trade is not None
        assert fact.trade.merchant_id == "2088999999999999"

    @pytest.mark.parametrize(
        ("change", "why"),
        [
            (lambda f: f | {"sign": ""}, "blank sign"),
            (lambda f: {k: v for k, v in f.items() if k != "sign"}, "no sign"),
            (lambda f: {k: v for k, v in f.items() if k != "sign_type"}, "no sign_type"),
            (lambda f: f | {"sign_type": "RSA"}, "RSA1"),
            (lambda f: f | {"sign": "!!!not base64!!!"}, "junk sign"),
            (lambda f: f | {"extra": ""}, "a blank field added after signing"),
            (lambda f: {k: v for k, v in f.items() if k != "subject"}, "a field removed after signing"),
        ],
        ids=lambda value: value if isinstance(value, str) else "",
    )
    async def test_a_broken_signature_fails(self, env: AlipayWorld, change: object, why: str) -> None:
        no = await _order(env)
        fields = env.sandbox.notify_fields(no)
        fields["sign"] = env.hub.alipay.sign(notify_sign_content(fields))

        body = urlencode(change(fields)).encode()  # type: ignore[operator]

        assert _parse(env, body) is None

    async def test_blank_fields_are_signed_too(self, env: AlipayWorld) -> None:
        no = await _order(env)

        fact = _parse(env, _gateway_signed(env, env.sandbox.notify_fields(no, body="", passback_params="")))

        assert fact is not None and fact.trade is not None
        assert fact.trade.payload_redacted["body"] == ""

    @pytest.mark.parametrize(
        "body",
        [b"", b"%ff%fe=1", b"\xff\xfe", b"a=1&a=2", b"no-equals-sign"],
        ids=["empty", "bad escape", "not utf-8", "repeated field", "not a form"],
    )
    async def test_garbage_fails(self, env: AlipayWorld, body: bytes) -> None:
        assert _parse(env, body) is None

    async def test_a_repeated_field_fails_even_when_one_copy_was_signed(self, env: AlipayWorld) -> None:
        no = await _order(env)
        body = _gateway_signed(env, env.sandbox.notify_fields(no))

        assert _parse(env, body + b"&total_amount=0.01") is None

    @pytest.mark.parametrize(
        "overrides",
        [{"total_amount": ""}, {"total_amount": "0.00"}, {"trade_status": "TRADE_PAUSED"}, {"notify_id": ""}],
        ids=["blank amount", "zero amount", "unknown status", "no notify_id"],
    )
    async def test_a_signed_notify_that_cannot_be_read_is_refused(
        self, env: AlipayWorld, overrides: dict[str, str]
    ) -> None:
        no = await _order(env)

        assert _parse(env, _gateway_signed(env, env.sandbox.notify_fields(no, **overrides))) is None

    @pytest.mark.parametrize(
        ("status", "state"),
        [
            ("TRADE_FINISHED", TradeState.PAID),
            ("WAIT_BUYER_PAY", TradeState.PENDING),
            ("TRADE_CLOSED", TradeState.CLOSED),
        ],
    )
    async def test_trade_states(self, env: AlipayWorld, status: str, state: TradeState) -> None:
        no = await _order(env)

        fact = _parse(env, _gateway_signed(env, env.sandbox.notify_fields(no, trade_status=status)))

        assert fact is not None and fact.trade is not None and fact.trade.state is state

    async def test_a_closed_trade_with_refund_fee_of_the_total_is_refunded_never_failed(self, env: AlipayWorld) -> None:
        # given: P07's notify, as sent by hand without the refund fields
        no = await _order(env, 5000)
        fields = env.sandbox.notify_fields(no, trade_status="TRADE_CLOSED", refund_fee="50.00")

        # when
        fact = _parse(env, _gateway_signed(env, fields))

        # then
        assert fact is not None and fact.trade is not None
        assert (fact.trade.state, fact.trade.refunded_fen, fact.trade.amount_fen) == (TradeState.REFUNDED, 5000, 5000)
        assert fact.dedupe_key == fields["notify_id"]

    async def test_a_closed_trade_with_a_partial_refund_fee_is_closed(self, env: AlipayWorld) -> None:
        no = await _order(env, 5000)

        fields = env.sandbox.notify_fields(no, trade_status="TRADE_CLOSED", refund_fee="10.00")

        fact = _parse(env, _gateway_signed(env, fields))

        assert fact is not None and fact.trade is not None
        assert (fact.trade.state, fact.trade.refunded_fen) == (TradeState.CLOSED, 1000)

    async def test_a_refund_notify_is_a_refund_fact_keyed_by_trade_status_and_refund_time(
        self, env: AlipayWorld
    ) -> None:
        # given
        no = await _order(env, 5000)
        await env.sandbox.pay(no)
        refund_no = out_trade_no("R")

        # when
        await env.channel().refund(RefundSpec(no, refund_no, 2000, 5000))
        await env.sandbox.settle()

        # then
        fields = env.receiver.fields()
        fact = env.receiver.facts[-1]
        assert fact is not None and fact.refund is not None and fact.trade is None
        assert fact.dedupe_key == f"{fields['trade_no']}:TRADE_SUCCESS:{fields['gmt_refund']}"
        r = fact.refund
        assert (r.outcome, r.out_refund_no, r.out_trade_no) == (Outcome.OK, refund_no, no)
        assert r.state is RefundState.SUCCEEDED
        assert r.amount_fen is None  # refund_fee is the trade's total refunded, not this refund's amount
        assert r.payload_redacted["refund_fee"] == "20.00"

    async def test_a_refund_notify_with_this_refunds_amount_reads_it(self, env: AlipayWorld) -> None:
        no = await _order(env, 5000)
        gmt = datetime(2026, 1, 1, 12, 0, 0, 320000).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        fields = env.sandbox.notify_fields(
            no, out_biz_no="R1", refund_fee="40.00", send_back_fee="20.00", gmt_refund=gmt
        )

        fact = _parse(env, _gateway_signed(env, fields))

        assert fact is not None and fact.refund is not None
        assert (fact.refund.out_refund_no, fact.refund.amount_fen) == ("R1", 2000)
        assert fact.dedupe_key.endswith(":2026-01-01 12:00:00.320")

    async def test_a_refund_notify_without_out_biz_no_is_a_trade_fact(self, env: AlipayWorld) -> None:
        no = await _order(env, 5000)
        fields = env.sandbox.notify_fields(
            no, refund_fee="50.00", gmt_refund="2026-01-01 12:00:00", trade_status="TRADE_CLOSED"
        )

        fact = _parse(env, _gateway_signed(env, fields))

        assert fact is not None and fact.trade is not None
        assert fact.trade.state is TradeState.REFUNDED
        assert fact.dedupe_key == f"{fields['trade_no']}:TRADE_CLOSED:2026-01-01 12:00:00"


class TestAck:
    def test_accepted_is_exactly_success(self, env: AlipayWorld) -> None:
        response = env.channel().ack(True)

        assert (response.status_code, bytes(response.body)) == (200, b"success")
        assert response.headers["content-type"].startswith("text/plain")

    def test_not_accepted_asks_for_a_redelivery(self, env: AlipayWorld) -> None:
        assert bytes(env.channel().ack(False).body) == b"fail"

    def test_a_rejected_notify_is_not_success(self, env: AlipayWorld) -> None:
        assert bytes(env.channel().reject().body) == b"fail"


class TestDeliveries:
    async def test_an_unacknowledged_notify_is_posted_again_on_alipays_schedule(self, env: AlipayWorld) -> None:
        # given
        no = await _order(env)
        env.receiver.answer = "fail"
        await env.sandbox.pay(no)
        [delivery] = env.sandbox.deliveries

        # when
        early = await env.sandbox.deliver_pending()
        env.sandbox_clock.advance(timedelta(minutes=4))
        env.receiver.answer = None
        due = await env.sandbox.deliver_pending()

        # then
        assert early == []
        assert [d.id for d in due] == [delivery.id]
        assert [a.body for a in delivery.attempts] == ["fail", "success"]
        assert delivery.acknowledged and delivery.next_at is None
        assert env.receiver.bodies[0] == env.receiver.bodies[1]  # the same notify_id, as Alipay retries

    async def test_any_answer_but_success_is_a_failure(self, env: AlipayWorld) -> None:
        no = await _order(env)
        env.receiver.answer = "success\n"

        await env.sandbox.pay(no)

        [delivery] = env.sandbox.deliveries
        assert not delivery.acknowledged

    async def test_dropped_notifies_never_arrive(self, env: AlipayWorld) -> None:
        no = await _order(env)
        env.sandbox.drop_notifies(no)

        await env.sandbox.pay(no)

        [delivery] = env.sandbox.deliveries
        assert delivery.dropped and delivery.attempts == []
        assert env.receiver.bodies == []
