"""What the engine tests share: deps with their own clock and Redis, a scripted adapter at the process boundary
(an adapter is any object with `channel`, `send` and `aclose`; the conformance tests use the real sandboxes),
and readers of the ledger."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import fakeredis

from api.kit.clock import SettableClock
from api.models.notifications import (
    Delivery,
    DeliveryAttempt,
    NoticeCategory,
    NoticeKind,
    PushEnv,
    PushPlatform,
    StatBucket,
    TemplateChannel,
)
from api.settings import NotificationsSettings
from notifications import devices, templates
from notifications.channels.base import ChannelAdapter, OutboundMessage, SendResult
from notifications.deps import NotificationsDeps
from notifications.requests import NewRequest, insert_requests
from notifications.template_checks import TemplateInput
from tests.support.client import LiveServer

# 14:00 in Shanghai: outside the default quiet window.
AFTERNOON = datetime(2031, 3, 3, 6, 0, tzinfo=UTC)


class ScriptedAdapter:
    """Answers per address from a script (then `sent`), records every message; `gate` holds sends until set."""

    def __init__(self, channel: str, script: dict[str, list[SendResult]] | None = None) -> None:
        self.channel = channel
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.sent: list[OutboundMessage] = []
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.hold: set[str] = set()  # addresses the gate holds; empty: every send waits for it

    async def send(self, items: Sequence[OutboundMessage]) -> list[SendResult]:
        self.calls += 1
        self.sent.extend(items)
        if self.gate is not None and (not self.hold or any(m.address in self.hold for m in items)):
            await self.gate.wait()
        answers = []
        for m in items:
            queue = self.script.get(m.address)
            answers.append(queue.pop(0) if queue else SendResult("sent", provider_id=m.apns_id, http_status=200))
        return answers

    async def aclose(self) -> None:
        return None


def make_deps(live: LiveServer, *, adapters: Sequence[ChannelAdapter] = (), **settings: Any) -> NotificationsDeps:
    clock = SettableClock(live.clock)
    clock.set(AFTERNOON)
    return NotificationsDeps(
        clock=clock,
        redis=fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=False),
        settings=NotificationsSettings(**settings),
        adapters={a.channel: a for a in adapters},
    )


async def push_template(deps: NotificationsDeps, category: NoticeCategory, **extra: Any) -> str:
    code = f"T_{uuid.uuid4().hex[:10].upper()}"
    spec = TemplateInput(
        code=code,
        category=category,
        title="办件通知 {no}",
        body="您的办件 {no} 有新进展",
        deeplink="zsb://applications/{no}",
        channels=[TemplateChannel.PUSH],
        **extra,
    )
    await templates.save_template(deps, "test", spec)
    return code


async def iphone(deps: NotificationsDeps, user: uuid.UUID, token: str | None = None) -> str:
    token = token or uuid.uuid4().hex + uuid.uuid4().hex
    await devices.register_device(deps, user, PushPlatform.IOS, token, PushEnv.PROD, "1.0")
    return token


async def campaign_request(
    deps: NotificationsDeps, code: str, user: uuid.UUID, campaign_id: uuid.UUID | None = None
) -> uuid.UUID:
    template = await templates.current_template(code)
    assert template is not None
    campaign_id = campaign_id or uuid.uuid4()
    key = f"campaign:{campaign_id}:1:{user}"
    row = NewRequest(
        kind=NoticeKind.CAMPAIGN,
        category=template.category,
        topic="campaign",
        key=str(campaign_id),
        state_version=1,
        recipient_user_id=user,
        template_code=code,
        template_version=template.version,
        params={"no": "C1"},
        dedup_key=key,
        campaign_id=campaign_id,
    )
    return (await insert_requests([row], now=deps.clock.now()))[key]


async def deliveries(request_id: uuid.UUID) -> dict[str, Delivery]:
    """The request's deliveries by channel (one per channel in these tests)."""
    return {str(d.channel): d for d in await Delivery.filter(request_id=request_id)}


async def attempts(delivery_id: uuid.UUID) -> list[DeliveryAttempt]:
    return list(await DeliveryAttempt.filter(delivery_id=delivery_id).order_by("id"))


async def stat(scope: str, channel: str, metric: str) -> int:
    rows = await StatBucket.filter(scope=scope, channel=channel, metric=metric)
    return sum(row.count for row in rows)
