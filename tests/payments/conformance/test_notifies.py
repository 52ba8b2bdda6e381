"""P03–P06 (payments.md §15.2): what the notify routes do with replayed, forged, short-paid and foreign notifies.

Forged and foreign notifies are about orders the payer has not paid at the channel: were one acted upon, the order
would become PAID, and a query (the embedded worker's poller) could never have made it so.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from api import devsecrets
from api.models import ApplicationStatus
from api.models.payment import Anomaly, BillStatus, Channel, EventSource, OrderStatus, PaymentEvent
from payments.channels.rsa2 import load_private_key
from payments.money import yuan_to_fen
from payments.sandbox.alipay_trades import beijing, notify_sign_content
from payments.sandbox.wechat_state import rfc3339
from tests.payments.conformance import fees
from tests.payments.conformance.probes import (
    ANOMALIES,
    NOTIFY_REJECTED,
    decrypt_resource,
    encrypt_resource,
    footprint,
    metric,
    notify_events,
    outbox_topics,
)
from tests.payments.conformance.support import BILL_FEN, Order, World

PRODUCT = {"ALIPAY": "APP", "WECHAT": "NATIVE"}
PAID_AMOUNT = {"total": BILL_FEN, "payer_total": BILL_FEN, "currency": "CNY", "payer_currency": "CNY"}


def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def alipay_success_fields(world: World, order: Order, **overrides: str) -> dict[str, str]:
    """A TRADE_SUCCESS notify for O as the sandbox would word it (the trade itself stays unpaid)."""
    now = world.harness.clock.now()
    fields = world.harness.alipay.notify_fields(order.out_trade_no, trade_status="TRADE_SUCCESS")
    return fields | {"gmt_payment": beijing(now), "buyer_id": "2088102177846880"} | overrides


def wechat_success_resource(world: World, order: Order, **overrides: Any) -> dict[str, Any]:
    """A SUCCESS transaction for O as a TRANSACTION.SUCCESS notify carries it (the trade itself stays unpaid)."""
    paid = {
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "transaction_id": "4200002024010112345678901234",
        "bank_type": "OTHERS",
        "success_time": rfc3339(world.harness.clock.now()),
        "payer": {"openid": "oSandboxForgedPayer000000000"},
        "amount": PAID_AMOUNT,
    }
    return world.harness.wechat.transaction_resource(order.out_trade_no, **(paid | overrides))


def success_event(resource: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"event_type": "TRANSACTION.SUCCESS", "summary": "支付成功", "resource": resource, **extra}


class TestNotifies:
    @pytest.mark.postgres_only
    @pytest.mark.usefixtures("quiet_relays")
    async def test_p03_replayed_notify(self, world: World) -> None:
        # given: P01 done: an application's Bill paid on Alipay APP through one acknowledged notify
        case = await fees.fee_case(world)
        order = await world.paying(case.bill, "ALIPAY", "APP")
        await world.harness.alipay.pay(order.out_trade_no)
        [delivery] = world.alipay_deliveries(order.out_trade_no)
        assert [a.body for a in delivery.attempts] == ["success"]
        after_first = await footprint(case.bill.id)
        assert after_first["bill"][0] is BillStatus.PAID

        # when: the same body is delivered 5 more times, 2 of them concurrently
        for _ in range(3):
            await world.harness.alipay.redeliver(delivery.id)
        await world.harness.alipay.redeliver(delivery.id, concurrency=2)

        # then: every delivery was acknowledged, one PaymentEvent holds the dedupe key, nothing else moved
        assert [(a.status, a.body) for a in delivery.attempts] == [(200, "success")] * 6
        notify_id = dict(_form(delivery.body))["notify_id"]
        assert await PaymentEvent.filter(channel=Channel.ALIPAY, dedupe_key=notify_id).count() == 1
        assert await footprint(case.bill.id) == after_first
        assert len(await fees.bill_paid_events(case.bill)) == 1
        # and the application steps out of 待缴费 once
        await fees.run_applications_relay(world)
        await fees.run_applications_relay(world)
        assert await fees.status_of(case.application_id) is ApplicationStatus.IN_PROGRESS
        assert len(await fees.paid_steps(case.application_id)) == 1

    @pytest.mark.parametrize("channel", ["ALIPAY", "WECHAT"])
    async def test_p04_forged_notify(self, world: World, channel: str) -> None:
        # given: O in PAYING, the payer has paid nothing
        bill = await world.bill()
        order = await world.paying(bill, channel, PRODUCT[channel])
        before = await footprint(bill.id)
        rejected_before = await metric(world.api, NOTIFY_REJECTED, channel=channel)

        # when: notifies saying O is paid arrive, altered after signing or signed with keys that are not the channel's
        if channel == "ALIPAY":
            answers = await _forge_alipay(world, order)
        else:
            answers = await _forge_wechat(world, order)

        # then: none is acknowledged; WeChat hears 4xx {"code":"FAIL"}
        for status, body in answers:
            if channel == "ALIPAY":
                assert body != "success", body
            else:
                assert status is not None and 400 <= status < 500, (status, body)
                assert json.loads(body)["code"] == "FAIL", body
        # nothing changed, no verified PaymentEvent, and each forgery was counted
        assert await footprint(bill.id) == before
        assert await PaymentEvent.filter(order_id=order.id, verified=True, source=EventSource.NOTIFY).count() == 0
        assert (await world.order_row(order)).status is OrderStatus.PAYING
        assert await metric(world.api, NOTIFY_REJECTED, channel=channel) == rejected_before + len(answers)

    @pytest.mark.parametrize("channel", ["ALIPAY", "WECHAT"])
    async def test_p05_amount_mismatch(self, world: World, channel: str) -> None:
        # given: O in PAYING
        bill = await world.bill()
        order = await world.paying(bill, channel, PRODUCT[channel])
        before = await footprint(bill.id)
        flagged_before = await metric(world.api, ANOMALIES, channel=channel, anomaly="AMOUNT_MISMATCH")

        # when: the channel signs a payment of 1 fen for O (Alipay 0.01, WeChat total=1)
        await world.pay_at_channel(order, amount_fen=1)

        # then: acknowledged, O stays PAYING flagged AMOUNT_MISMATCH, the Bill stays UNPAID, an alert is raised
        [delivery] = world.deliveries(channel, order.out_trade_no)
        _assert_acknowledged(channel, delivery.attempts[-1].status, delivery.attempts[-1].body)
        sent = _sent_amount_fen(world, channel, delivery.body)
        assert sent == 1
        row = await world.order_row(order)
        assert (row.status, row.anomaly, row.paid_fen, row.paid_at) == (
            OrderStatus.PAYING,
            Anomaly.AMOUNT_MISMATCH,
            0,
            None,
        )
        mismatched = await footprint(bill.id)
        assert (mismatched["bill"], mismatched["receipts"], mismatched["refunds"]) == (before["bill"], 0, [])
        assert before["bill"][0] is BillStatus.UNPAID
        assert await outbox_topics(bill.id) == ["payments.bill_created", "payments.anomaly"]
        assert await metric(world.api, ANOMALIES, channel=channel, anomaly="AMOUNT_MISMATCH") == flagged_before + 1
        [event] = await notify_events(row.id)
        assert (event.verified, event.from_status, event.to_status) == (True, "PAYING", "PAYING")

        # when: a correct notify for O arrives later
        if channel == "ALIPAY":
            full = {k: "50.00" for k in ("total_amount", "receipt_amount", "buyer_pay_amount", "invoice_amount")}
            fields = world.harness.alipay.notify_fields(order.out_trade_no, **full)
            later = await world.harness.alipay.send_notify(fields)
        else:
            resource = world.harness.wechat.transaction_resource(order.out_trade_no, amount=PAID_AMOUNT)
            later = await world.harness.wechat.send_notify(success_event(resource))
            await world.harness.wechat.settle()

        # then: it still makes O PAID, with the Bill and its one bill_paid row
        _assert_acknowledged(channel, later.attempts[-1].status, later.attempts[-1].body)
        row = await world.order_row(order)
        assert (row.status, row.paid_fen) == (OrderStatus.PAID, BILL_FEN)
        assert (await footprint(bill.id))["bill"][0] is BillStatus.PAID
        assert (await outbox_topics(bill.id)).count("payments.bill_paid") == 1

    @pytest.mark.parametrize(
        ("channel", "field", "foreign"),
        [
            ("ALIPAY", "app_id", "2021009999999999"),
            ("ALIPAY", "seller_id", "2088009999999999"),
            ("WECHAT", "mchid", "1900009999"),
            ("WECHAT", "appid", "wx9999999999999999"),
        ],
    )
    async def test_p06_wrong_merchant_or_app(self, world: World, channel: str, field: str, foreign: str) -> None:
        # given: O in PAYING
        bill = await world.bill()
        order = await world.paying(bill, channel, PRODUCT[channel])
        before = await footprint(bill.id)
        rejected_before = await metric(world.api, NOTIFY_REJECTED, channel=channel)
        flagged_before = await metric(world.api, ANOMALIES, channel=channel, anomaly="MERCHANT_MISMATCH")

        # when: a notify signed with the channel's key says O is paid, but to another merchant or app
        if channel == "ALIPAY":
            fields = alipay_success_fields(world, order, **{field: foreign})
            delivery = await world.harness.alipay.send_notify(fields)
        else:
            resource = wechat_success_resource(world, order, **{field: foreign})
            delivery = await world.harness.wechat.send_notify(success_event(resource))
            await world.harness.wechat.settle()
        [attempt] = delivery.attempts
        assert attempt.status is not None

        # then: rejected, or acknowledged and flagged as P05 flags an amount; never a transition
        acknowledged = attempt.body == "success" if channel == "ALIPAY" else 200 <= attempt.status < 300
        row = await world.order_row(order)
        assert (row.status, row.paid_fen, row.channel_trade_no) == (OrderStatus.PAYING, 0, None)
        after = await footprint(bill.id)
        assert (after["bill"], after["receipts"]) == (before["bill"], 0)
        assert "payments.bill_paid" not in await outbox_topics(bill.id)
        if acknowledged:
            assert row.anomaly is Anomaly.MERCHANT_MISMATCH
            assert await outbox_topics(bill.id) == ["payments.bill_created", "payments.anomaly"]
            flagged = await metric(world.api, ANOMALIES, channel=channel, anomaly="MERCHANT_MISMATCH")
            assert flagged == flagged_before + 1
        else:
            if channel == "WECHAT":
                assert 400 <= attempt.status < 500 and json.loads(attempt.body)["code"] == "FAIL"
            assert after == before
            assert await metric(world.api, NOTIFY_REJECTED, channel=channel) == rejected_before + 1


async def _forge_alipay(world: World, order: Order) -> list[tuple[int | None, str]]:
    sandbox = world.harness.alipay
    genuine = alipay_success_fields(world, order)
    # total_amount changed after the channel signed
    signed = genuine | {"sign": sandbox.gateway.sign(notify_sign_content(genuine))}
    altered = await sandbox.send_notify(signed | {"total_amount": "0.01", "notify_id": _fresh(genuine)})
    # signed with a key that is not Alipay's
    stranger = await sandbox.send_notify(genuine | {"notify_id": _fresh(genuine)}, sign_with=other_key())
    # signed with our own app key (whose public half the gateway knows, but which proves nothing about Alipay)
    app_key = load_private_key(devsecrets.load_or_create(world.live.settings.var_dir).alipay_app_private_key)
    ours = await sandbox.send_notify(genuine | {"notify_id": _fresh(genuine)}, sign_with=app_key)
    return [(d.attempts[-1].status, d.attempts[-1].body) for d in (altered, stranger, ours)]


async def _forge_wechat(world: World, order: Order) -> list[tuple[int | None, str]]:
    sandbox = world.harness.wechat
    resource = wechat_success_resource(world, order)
    # signed with a key that is not WeChat's
    stranger = await sandbox.send_notify(success_event(resource), sign_with=other_key())
    await sandbox.settle()
    answers = [(stranger.attempts[-1].status, stranger.attempts[-1].body)]
    # amount.total changed after WeChat signed: a genuine signature (caught on its way elsewhere) over other bytes
    caught = await sandbox.send_notify(success_event(resource, notify_url=f"http://127.0.0.1:{_closed_port()}/"))
    await sandbox.settle()
    envelope = json.loads(caught.body)
    opened = decrypt_resource(sandbox.apiv3_key, envelope)
    envelope["resource"] = encrypt_resource(sandbox.apiv3_key, opened | {"amount": PAID_AMOUNT | {"total": 1}})
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
    response = await world.api.http.post("/pay/notify/wechat", content=body, headers=caught.headers)
    answers.append((response.status_code, response.text))
    return answers


def _closed_port() -> int:
    """A loopback port nobody listens on: a post there is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _fresh(fields: dict[str, str]) -> str:
    """Each forgery carries a notify_id of its own (a dedupe key never seen)."""
    return f"{fields['notify_id'][:20]}{datetime.now(UTC).strftime('%H%M%S%f')}"


def _form(body: bytes) -> list[tuple[str, str]]:
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True)


def _assert_acknowledged(channel: str, status: int | None, body: str) -> None:
    if channel == "ALIPAY":
        assert (status, body) == (200, "success")
    else:
        assert (status, body) == (204, "")


def _sent_amount_fen(world: World, channel: str, body: bytes) -> int:
    if channel == "ALIPAY":
        return yuan_to_fen(dict(_form(body))["total_amount"])
    opened = decrypt_resource(world.harness.wechat.apiv3_key, json.loads(body))
    total: int = opened["amount"]["total"]
    return total
