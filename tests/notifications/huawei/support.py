"""Outbound messages as the sender would build them for the Huawei channel."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from notifications.channels.base import OutboundMessage


def huawei_message(token: str, **overrides: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "delivery_id": uuid.uuid4(),
        "channel": "huawei",
        "address": token,
        "title": "办件受理通知",
        "body": "您的申请C42已受理。",
        "deeplink": "zsb://applications/C42",
        "category": "service",
        "kind": "transactional",
        "dedup_key": "application.accepted:C42:1:U7",
        "apns_id": str(uuid.uuid4()),
        "collapse_id": "0123456789abcdef0123456789abcdef",
        "ttl_s": 86400,
        "vendor_category": "WORK",
    }
    return OutboundMessage(**(fields | overrides))


async def eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
