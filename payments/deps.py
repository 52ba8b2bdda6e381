"""What payments needs from the process: its channels, the clock, Redis and settings (house rule 6).

Built by the composition root (API lifespan, worker start-up) and passed to every service call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from api.kit.clock import Clock
from api.kit.redis import Redis
from api.models.payment import Channel, PaymentOrder
from api.settings import PaymentsSettings
from payments.channels.base import PaymentChannel


@dataclass(frozen=True)
class MerchantIdentity:
    """Who we are at each channel: every fact received must name us (payments.md §11 step 6)."""

    alipay_app_id: str
    alipay_seller_id: str
    wechat_mchid: str
    wechat_appid: str


@dataclass
class PaymentsDeps:
    channels: Mapping[Channel, PaymentChannel]
    clock: Clock
    settings: PaymentsSettings
    merchant: MerchantIdentity
    redis: Redis | None = None
    # The sandbox cashier page of an order while APP_SANDBOX is on; None in production.
    cashier_url: Callable[[PaymentOrder], str | None] | None = None
    # Asks the workers to run the outbox relays now (after a commit that wrote outbox rows); None: cron only.
    kick_relays: Callable[[], Awaitable[None]] | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def channel(self, name: Channel) -> PaymentChannel | None:
        return self.channels.get(name)
