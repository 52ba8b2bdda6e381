"""What every channel adapter shares (notifications.md §C6): the message going out and the classified result.

An adapter never raises for a provider's answer, a timeout or a refused connection: it returns one `SendResult`
per message, and the sender maps the outcome to a delivery status.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

log = logging.getLogger("zsb.notifications.channels")

Outcome = Literal["sent", "retry", "permanent", "invalid_endpoint", "no_consent", "auth", "technical"]


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_id: str | None = None  # apns-id, msgid, requestId, BizId
    reason: str | None = None  # the provider's reason or code, kept as `last_error` and on the attempt row
    http_status: int | None = None
    retry_after_s: float | None = None
    endpoint_invalid_at: datetime | None = None  # APNs 410: the moment the token stopped being valid
    alert: bool = False  # a configuration or template bug an operator must see (logged at ERROR)


@dataclass(frozen=True)
class OutboundMessage:
    """One delivery, rendered for its channel. `address` is the device token, openid, Alipay id or phone."""

    delivery_id: uuid.UUID
    channel: str  # a DeliveryChannel value
    address: str
    title: str
    body: str
    deeplink: str
    category: str  # a NoticeCategory value
    kind: str  # a NoticeKind value: transactional notices go with priority 10 / NORMAL, campaigns 5 / LOW
    dedup_key: str  # the request's dedup key
    apns_id: str  # uuid5 of dedup key, channel and endpoint: the same on every attempt (§C7)
    collapse_id: str  # the first 32 hex of SHA-256 of the request's dedup key: apns-collapse-id, Huawei tag
    ttl_s: int  # time to live, from the injected clock
    env: str = "prod"  # APNs endpoints: "prod" or "sandbox" (Apple's development environment)
    vendor_template_id: str = ""  # WeChat template_id, Alipay user_template_id, SMS TemplateCode
    vendor_category: str = ""  # Huawei android.category
    sign_name: str = ""  # SMS SignName
    data: Mapping[str, str] = field(default_factory=dict)  # WeChat/Alipay fields, SMS TemplateParam
    extra: Mapping[str, Any] = field(default_factory=dict)  # custom payload keys (delivery id, deeplink)


class ChannelAdapter(Protocol):
    channel: str

    async def send(self, items: Sequence[OutboundMessage]) -> list[SendResult]:
        """One result per item, in order; never raises."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class LateReply:
    """A reply that arrived after its send had timed out: recorded as a `late` attempt (§C6)."""

    delivery_id: uuid.UUID
    result: SendResult
    arrived_at: datetime


async def send_each(
    items: Sequence[OutboundMessage],
    send_one: Callable[[OutboundMessage], Awaitable[SendResult]],
    slots: asyncio.Semaphore,
    provider: str,
) -> list[SendResult]:
    """One provider call per message, at most `slots` at once. A bug of ours becomes a technical failure of that
    message (alerted, never retried blindly), not an exception that would take the rest of the batch down."""

    async def guarded(message: OutboundMessage) -> SendResult:
        async with slots:
            try:
                return await send_one(message)
            except Exception:
                log.exception("%s send of delivery %s failed unexpectedly", provider, message.delivery_id)
                return SendResult("technical", reason="internal error", alert=True)

    return list(await asyncio.gather(*(guarded(item) for item in items)))
