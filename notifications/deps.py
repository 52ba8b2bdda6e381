"""What the notifications services are built with, wired once per process (house rule 6).

The API process gets no adapters: it never calls a provider (§C1), it writes rows and enqueues ids. The worker's
`on_startup` adds the adapters, built inside the running loop (aioapns captures the loop it was built in).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from api.kit.clock import Clock
from api.kit.redis import Redis
from api.settings import NotificationsSettings
from notifications.channels.base import ChannelAdapter

TX_QUEUE = "notify:tx"
CAMPAIGN_QUEUE = "notify:campaign"
INBOX_CHANNEL_PREFIX = "notify:inbox:"  # Redis pub/sub channel of one user's inbox updates, + user id

# enqueue(function name, queue name, *args): an arq enqueue with keep_result=0 (business dedup never relies on arq).
Enqueue = Callable[..., Awaitable[Any]]


@dataclass
class NotificationsDeps:
    clock: Clock
    redis: Redis
    settings: NotificationsSettings
    # Channel adapters by DeliveryChannel value; empty in the API process.
    adapters: dict[str, ChannelAdapter] = field(default_factory=dict)
    # The WeChat app id whose openids identity binds (subscribe messages go to that mini-program).
    wechat_app_id: str = ""
    alipay_app_id: str = ""
