"""What the scenarios look at: a bill's whole footprint in the database (to prove nothing changed), payments'
metrics as /metrics serves them, the sandboxes' request logs per trade, WeChat notify resources decrypted, and
the database made unavailable for a while (P19)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from prometheus_client.parser import text_string_to_metric_families
from tortoise import connections
from tortoise.exceptions import DBConnectionError

from api.models import OutboxEvent
from api.models.payment import Bill, EventSource, PaymentEvent, PaymentOrder, Receipt, Refund
from api.platforms.sandbox.base import RecordedRequest
from tests.support.client import Api

NOTIFY_REJECTED = "zsb_payment_notify_rejected_total"
ANOMALIES = "zsb_payment_anomalies_total"


async def footprint(bill_id: object) -> dict[str, Any]:
    """Every row a payment of this bill can write: the bill, its orders, their events, refunds, the receipt and
    the outbox rows keyed by the bill."""
    bill = await Bill.get(id=bill_id)
    orders = await PaymentOrder.filter(bill_id=bill.id).order_by("created_at")
    order_ids = [o.id for o in orders]
    events = await PaymentEvent.filter(order_id__in=order_ids).order_by("id") if order_ids else []
    return {
        "bill": (bill.status, bill.version, bill.paid_order_id, bill.paid_at, bill.refunded_fen),
        "orders": [
            (o.id, o.status, o.version, o.paid_fen, o.refunded_fen, o.channel_trade_no, o.anomaly, o.paid_at)
            for o in orders
        ],
        "events": [(e.id, e.source, e.verified, e.dedupe_key, e.from_status, e.to_status) for e in events],
        "refunds": [
            (r.id, r.status, r.amount_fen, r.version) for r in await Refund.filter(bill_id=bill.id).order_by("id")
        ],
        "receipts": await Receipt.filter(bill_id=bill.id).count(),
        "outbox": [(e.id, e.topic) for e in await OutboxEvent.filter(key=str(bill.id)).order_by("id")],
    }


async def outbox_topics(bill_id: object) -> list[str]:
    return [e.topic for e in await OutboxEvent.filter(key=str(bill_id)).order_by("id")]


async def notify_events(order_id: object) -> list[PaymentEvent]:
    return list(await PaymentEvent.filter(order_id=order_id, source=EventSource.NOTIFY).order_by("id"))


async def metric(api: Api, name: str, **labels: str) -> float:
    """One sample of a counter as GET /metrics serves it (0 while the labelled child does not exist yet)."""
    response = await api.http.get("/metrics")
    assert response.status_code == 200, response.text
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def biz_of(recorded: RecordedRequest) -> dict[str, Any]:
    """The business content of a recorded Alipay gateway call (query plus form, as the gateway received them)."""
    fields: dict[str, Any] = dict(recorded.query)
    if isinstance(recorded.body, dict):
        fields |= recorded.body
    raw = fields.get("biz_content")  # the gateway records it parsed when it is JSON
    biz = json.loads(raw) if isinstance(raw, str) and raw else raw
    assert isinstance(biz, dict), recorded
    return biz


def wechat_calls(recorded: list[RecordedRequest], out_trade_no: str) -> list[RecordedRequest]:
    """WeChat Pay sandbox calls about one trade: its number in the path (query, close) or the JSON body (prepay,
    refund)."""
    found = []
    for call in recorded:
        body = call.body if isinstance(call.body, dict) else {}
        if out_trade_no in call.path.split("/") or body.get("out_trade_no") == out_trade_no:
            found.append(call)
    return found


def decrypt_resource(apiv3_key: str, envelope: dict[str, Any]) -> dict[str, Any]:
    """A WeChat notify's resource, opened as the merchant does (AEAD_AES_256_GCM with the APIv3 key)."""
    resource = envelope["resource"]
    assert resource["algorithm"] == "AEAD_AES_256_GCM", resource
    plain = AESGCM(apiv3_key.encode()).decrypt(
        resource["nonce"].encode(),
        base64.b64decode(resource["ciphertext"]),
        (resource.get("associated_data") or "").encode(),
    )
    opened: dict[str, Any] = json.loads(plain)
    return opened


def encrypt_resource(apiv3_key: str, plain: dict[str, Any], associated_data: str = "transaction") -> dict[str, str]:
    """A resource sealed with the real APIv3 key (for a forgery whose only flaw is its signature)."""
    nonce = uuid.uuid4().hex[:12]
    data = json.dumps(plain, ensure_ascii=False, separators=(",", ":")).encode()
    sealed = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), data, associated_data.encode())
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(sealed).decode(),
        "associated_data": associated_data,
        "original_type": "transaction",
        "nonce": nonce,
    }


@contextmanager
def database_down() -> Iterator[None]:
    """The database refuses every connection, as when it is down or unreachable: every query and every
    transaction of this process (the live server's included) raises DBConnectionError until the block ends.
    Tortoise's default client is one object shared by every task that is not inside a transaction, so this
    covers the notify route; background jobs meeting it fail and retry, as they would."""
    client = connections.get("default")

    def refuse(*_args: object, **_kwargs: object) -> Any:
        raise DBConnectionError("connection refused: the database is down (conformance P19)")

    for name in ("acquire_connection", "_in_transaction"):
        setattr(client, name, refuse)
    try:
        yield
    finally:
        for name in ("acquire_connection", "_in_transaction"):
            delattr(client, name)
