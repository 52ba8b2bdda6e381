"""Numbers, request hashes, the audit trail and the outbox rows every payments write shares."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from api.kit.clock import SHANGHAI
from api.kit.errors import InvalidInput
from api.models.outbox import OutboxEvent
from api.models.payment import Channel, EventSource, PaymentEvent

TOPIC_BILL_CREATED = "payments.bill_created"
TOPIC_BILL_PAID = "payments.bill_paid"
TOPIC_BILL_REFUNDED = "payments.bill_refunded"
TOPIC_BILL_DUE_SOON = "payments.bill_due_soon"
TOPIC_ANOMALY = "payments.anomaly"


class Duplicate(Exception):
    """The fact's dedupe key is already recorded: it was processed before, in a committed transaction."""


OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_-]{1,32}")
_KEY = re.compile(r"[\x21-\x7e]{1,64}")  # printable ASCII, no blanks: a UUID in practice
# Personal data a channel sends about the payer (payments.md §15.1): never kept in the audit trail.
PERSONAL_FIELDS = frozenset({"buyer_logon_id", "buyer_id", "buyer_open_id", "openid", "payer", "buyer_user_id"})


def _stamp(now: datetime) -> str:
    return now.astimezone(SHANGHAI).strftime("%Y%m%d%H%M%S")


def new_out_trade_no(now: datetime) -> str:
    """`P` + Beijing time to the second + 48 random bits: 27 characters of [0-9A-Z], within both channels' rules.
    Each is minted once and never reused for another amount (a new amount means a new order)."""
    return f"P{_stamp(now)}{secrets.token_hex(6).upper()}"


def new_out_refund_no(now: datetime) -> str:
    return f"R{_stamp(now)}{secrets.token_hex(6).upper()}"


def new_receipt_no(now: datetime) -> str:
    return f"RC{_stamp(now)}{secrets.token_hex(5).upper()}"


def new_bill_no(now: datetime) -> str:
    """缴款单号: Beijing date and 12 random digits, 20 digits in all, easy to read out and type into lookupBill."""
    return f"{now.astimezone(SHANGHAI).strftime('%Y%m%d')}{secrets.randbelow(10**12):012d}"


def receipt_file_ref(receipt_no: str) -> str:
    """Where the receipt's file is (to be) stored; the rendering of the PDF itself is not part of this issue."""
    return f"receipts/{receipt_no}.pdf"


def check_idempotency_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise InvalidInput(
            "the idempotency key is 1 to 64 printable characters (a UUID per intent)",
            path=["idempotencyKey"],
            code="INVALID_IDEMPOTENCY_KEY",
        )
    return key


def request_hash(**fields: object) -> str:
    """sha256 over the canonical JSON of what a request asks for (sorted keys, no blanks)."""
    canonical = orjson.dumps({k: str(v) for k, v in fields.items()}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def redact(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload without the payer's personal data, at any depth (adapters redact already; this is a second net)."""
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if key in PERSONAL_FIELDS:
            continue
        if isinstance(value, Mapping):
            out[key] = redact(value)
        elif isinstance(value, list | tuple):
            out[key] = [redact(v) if isinstance(v, Mapping) else v for v in value]
        else:
            out[key] = value
    return orjson.loads(orjson.dumps(out, default=str))  # type: ignore[no-any-return]


async def add_event(
    db: BaseDBAsyncClient,
    *,
    channel: Channel,
    source: EventSource,
    now: datetime,
    order_id: Any = None,
    refund_id: Any = None,
    dedupe_key: str | None = None,
    channel_event_id: str | None = None,
    verified: bool = True,
    from_status: str | None = None,
    to_status: str | None = None,
    payload: Mapping[str, Any] | None = None,
) -> PaymentEvent:
    """One audit event. With a dedupe key it is also a notify's dedupe row (UNIQUE(channel, dedupe_key)): a
    duplicate raises `Duplicate`, and the caller's whole transaction rolls back (never committed apart from the
    transition it records, payments.md §11 step 4)."""
    try:
        return await PaymentEvent.create(
            using_db=db,
            order_id=order_id,
            refund_id=refund_id,
            source=source,
            channel=channel,
            channel_event_id=channel_event_id[:128] if channel_event_id else None,
            dedupe_key=dedupe_key[:160] if dedupe_key else None,
            verified=verified,
            from_status=from_status,
            to_status=to_status,
            payload_redacted=redact(payload or {}),
            created_at=now,
        )
    except IntegrityError:
        if dedupe_key is None:
            raise
        raise Duplicate(dedupe_key) from None


async def add_outbox(
    db: BaseDBAsyncClient, *, topic: str, key: Any, state_version: int, payload: dict[str, object], now: datetime
) -> None:
    await OutboxEvent.create(
        using_db=db, topic=topic, key=str(key), state_version=state_version, payload=payload, created_at=now
    )
