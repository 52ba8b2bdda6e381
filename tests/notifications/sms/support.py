"""Outbound SMS messages as the sender builds them, and waiting for the sandbox's late work."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from notifications.channels.base import OutboundMessage

ACCEPTED = "13800000001"
ILLEGAL = "13800000002"
THROTTLED = "13800000003"


def sms_message(phone: str = ACCEPTED, **overrides: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "delivery_id": uuid.uuid4(),
        "channel": "sms",
        "address": phone,
        "title": "缴费提醒",
        "body": "您有一笔待缴费用将于明日截止。",
        "deeplink": "zsb://bills/B1",
        "category": "critical",
        "kind": "transactional",
        "dedup_key": "payments.bill_due_soon:B1:1:U7",
        "apns_id": str(uuid.uuid4()),
        "collapse_id": "0" * 32,
        "ttl_s": 86400,
        "vendor_template_id": "SMS_BILL_DUE",
        "sign_name": "掌上办政务",
        "data": {"billNo": "B1", "dueDate": "2025-06-02"},
    }
    return OutboundMessage(**(fields | overrides))


async def eventually(condition: Callable[[], bool], timeout_s: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
