"""What the user-facing notification service tests share: deps on a clock of their own, fresh residents signed in
over HTTP, and the rows the engine would have written before a user acts on them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from api.kit import redis as redis_kit
from api.kit.clock import SettableClock
from api.models import (
    Delivery,
    DeliveryChannel,
    NoticeCategory,
    NoticeKind,
    NoticeStatus,
    NotificationRequest,
)
from api.settings import NotificationsSettings
from notifications.deps import NotificationsDeps
from tests.support.client import Api, LiveServer

# A fixed moment far from today, outside the default quiet hours (10:00 Asia/Shanghai).
MOMENT = datetime(2030, 3, 4, 2, 0, tzinfo=UTC)


@asynccontextmanager
async def deps_for(live: LiveServer, **settings: object) -> AsyncIterator[NotificationsDeps]:
    clock = SettableClock(live.clock)
    clock.set(MOMENT)
    redis = redis_kit.connect(live.settings.redis_url)
    try:
        yield NotificationsDeps(clock=clock, redis=redis, settings=NotificationsSettings.model_validate(settings))
    finally:
        await redis.aclose()


async def resident(api: Api) -> uuid.UUID:
    """A new person, created by signing in with a fresh phone number."""
    return uuid.UUID((await api.sign_in()).person_id)


async def sent_delivery(
    user_id: uuid.UUID,
    *,
    channel: DeliveryChannel = DeliveryChannel.APNS,
    topic: str = "application.accepted",
    campaign_id: uuid.UUID | None = None,
    status: NoticeStatus = NoticeStatus.SENT,
    provider_message_id: str | None = None,
    now: datetime = MOMENT,
) -> Delivery:
    """A request and one delivery of it, as the engine leaves them after a send."""
    key = uuid.uuid4().hex
    dedup = f"{topic}:{key}:1:{user_id}"
    request = await NotificationRequest.create(
        id=uuid.uuid4(),
        created_at=now,
        kind=NoticeKind.CAMPAIGN if campaign_id else NoticeKind.TRANSACTIONAL,
        category=NoticeCategory.CAMPAIGN if campaign_id else NoticeCategory.SERVICE,
        topic=topic,
        key=key,
        state_version=1,
        recipient_user_id=user_id,
        template_code="APPLICATION_ACCEPTED",
        template_version=1,
        dedup_key=dedup,
        campaign_id=campaign_id,
    )
    return await Delivery.create(
        id=uuid.uuid4(),
        request_id=request.id,
        campaign_id=campaign_id,
        recipient_user_id=user_id,
        channel=channel,
        endpoint_key="inbox" if channel is DeliveryChannel.INBOX else uuid.uuid4().hex,
        dedup_key=dedup,
        status=status,
        attempts=1,
        next_attempt_at=now,
        created_at=now,
        sent_at=now,
        provider_message_id=provider_message_id,
    )


BIND_WECHAT = """
mutation B($input: BindWechatInput!) { bindWechat(input: $input) { __typename ... on Error { code message } } }
"""
BIND_ALIPAY = """
mutation B($input: BindAlipayInput!) { bindAlipay(input: $input) { __typename ... on Error { code message } } }
"""


@dataclass(frozen=True)
class Reachable:
    user_id: uuid.UUID
    phone: str
    openid: str
    alipay_user_id: str


async def reachable_resident(api: Api) -> Reachable:
    """A resident signed in by phone who bound WeChat and Alipay through the identity mutations."""
    session = await api.sign_in()
    openid = f"o-notify-{uuid.uuid4().hex[:16]}"
    alipay_user = f"2089{uuid.uuid4().int % 10**12:012d}"
    code = await api.http.post("/sandbox/wechat/codes", json={"openid": openid})
    assert code.status_code == 200, code.text
    bound = await api.data(BIND_WECHAT, {"input": {"code": code.json()["code"]}}, session.access_token)
    assert bound["bindWechat"]["__typename"] == "Me", bound
    auth = await api.http.post("/sandbox/alipay/auth-codes", json={"userId": alipay_user})
    assert auth.status_code == 200, auth.text
    bound = await api.data(BIND_ALIPAY, {"input": {"authCode": auth.json()["authCode"]}}, session.access_token)
    assert bound["bindAlipay"]["__typename"] == "Me", bound
    return Reachable(uuid.UUID(session.person_id), session.phone, openid, alipay_user)
