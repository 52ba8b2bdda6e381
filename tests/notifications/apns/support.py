"""Messages and keys for the APNs adapter tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from notifications.channels.base import OutboundMessage

TOPIC = "cn.gov.zsb.test"
NOW = datetime(2025, 6, 1, 2, 30, 0, 123000, tzinfo=UTC)


def valid_token() -> str:
    return uuid.uuid4().hex * 2


def message(token: str, **fields: object) -> OutboundMessage:
    values: dict[str, object] = {
        "delivery_id": uuid.uuid4(),
        "channel": "apns",
        "address": token,
        "title": "办件受理",
        "body": "您的申请 C42 已受理。",
        "deeplink": "zsb://applications/C42",
        "category": "service",
        "kind": "transactional",
        "dedup_key": f"application.accepted:C42:1:{uuid.uuid4()}",
        "apns_id": str(uuid.uuid4()),
        "collapse_id": uuid.uuid4().hex,
        "ttl_s": 3600,
    }
    return OutboundMessage(**(values | fields))  # type: ignore[arg-type]


def foreign_key_pem() -> str:
    """An ES256 key the sandbox does not know: its JWTs are InvalidProviderToken."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode("ascii")
