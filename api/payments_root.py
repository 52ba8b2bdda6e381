"""Composition of payments: channels pointed at the real gateways, or at the sandboxes of this process.

Part of the composition root (with api.lifespan and api.worker): the only place that knows both the channel
adapters and their sandbox twins.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from api.kit.clock import Clock, ShiftableClock
from api.kit.redis import Redis
from api.models.payment import Channel, PaymentOrder
from api.settings import Settings
from payments.channels.alipay import AlipayChannel
from payments.channels.base import PaymentChannel
from payments.channels.wechat_pay import WechatPayChannel, make_wechat_client
from payments.deps import MerchantIdentity, PaymentsDeps

if TYPE_CHECKING:
    from api.platforms.sandbox import SandboxHub
    from payments.sandbox.alipay_trade import AlipayTradeSandbox
    from payments.sandbox.wechat_gateway import WechatPaySandbox


@dataclass
class PaymentsHarness:
    """What tests and the browser harness drive: both payment sandboxes and the clock their notifies follow."""

    alipay: AlipayTradeSandbox
    wechat: WechatPaySandbox
    clock: ShiftableClock

    def reset(self) -> None:
        self.alipay.reset()
        self.wechat.reset()


@dataclass(frozen=True)
class ChannelKeys:
    alipay_app_private_key: str
    alipay_app_public_key: str  # registered with the sandbox gateway, as the real console does
    wechat_merchant_private_key: str
    wechat_merchant_public_key: str
    wechat_merchant_serial_no: str


async def build_payments(
    settings: Settings,
    *,
    clock: Clock,
    http: httpx.AsyncClient,
    redis: Redis | None,
    stack: AsyncExitStack,
    keys: ChannelKeys,
    hub: SandboxHub | None,
    kick_relays: Callable[[], Awaitable[None]] | None = None,
) -> tuple[PaymentsDeps, PaymentsHarness | None]:
    s = settings.payments
    alipay_notify = s.alipay_notify_url or f"{settings.base_url}/pay/notify/alipay"
    wechat_notify = s.wechat_notify_url or f"{settings.base_url}/pay/notify/wechat"
    harness: PaymentsHarness | None = None
    if hub is not None:
        from payments.sandbox.alipay_trade import AlipayTradeSandbox
        from payments.sandbox.wechat_gateway import WechatPaySandbox

        # The payment sandboxes keep a clock of their own: tests move it to reach a channel's notify retry.
        sandbox_clock = ShiftableClock()
        hub.alipay.register_app(s.alipay_app_id, keys.alipay_app_public_key)
        alipay_sandbox = AlipayTradeSandbox(
            hub.alipay, app_id=s.alipay_app_id, seller_id=s.alipay_seller_id, clock=sandbox_clock, http=http
        )
        alipay_sandbox.install()
        wechat_sandbox = WechatPaySandbox(
            hub.base_url, sandbox_clock, mchid=s.wechat_mchid, appid=s.wechat_appid, http=http
        )
        wechat_sandbox.register_merchant(
            s.wechat_mchid, keys.wechat_merchant_serial_no, keys.wechat_merchant_public_key
        )
        hub.add_app(wechat_sandbox.name, wechat_sandbox.build_app())
        harness = PaymentsHarness(alipay_sandbox, wechat_sandbox, sandbox_clock)
        alipay_gateway, alipay_public = hub.alipay.gateway_url, hub.alipay.public_key_pem
        wechat_gateway, wechat_public = wechat_sandbox.gateway_url, wechat_sandbox.public_key_pem
        wechat_public_id, apiv3_key = wechat_sandbox.public_key_id, wechat_sandbox.apiv3_key
    else:
        alipay_gateway, alipay_public = s.alipay_gateway_url, s.alipay_public_key.get_secret_value()
        wechat_gateway, wechat_public = s.wechat_gateway_url, s.wechat_public_key.get_secret_value()
        wechat_public_id, apiv3_key = s.wechat_public_key_id, s.wechat_apiv3_key.get_secret_value()

    alipay = AlipayChannel(
        http,
        gateway_url=alipay_gateway,
        app_id=s.alipay_app_id,
        seller_id=s.alipay_seller_id,
        app_private_key_pem=keys.alipay_app_private_key,
        alipay_public_key_pem=alipay_public,
        notify_url=alipay_notify,
        clock=clock,
        return_url=f"{settings.base_url}/pay/return",
        connect_timeout=s.channel_connect_timeout,
        read_timeout=s.channel_read_timeout,
    )
    wx = make_wechat_client(
        mchid=s.wechat_mchid,
        appid=s.wechat_appid,
        merchant_private_key_pem=keys.wechat_merchant_private_key,
        merchant_serial_no=keys.wechat_merchant_serial_no,
        apiv3_key=apiv3_key,
        public_key_pem=wechat_public,
        public_key_id=wechat_public_id,
        notify_url=wechat_notify,
        gateway_url=wechat_gateway,
        connect_timeout=s.channel_connect_timeout,
        read_timeout=s.channel_read_timeout,
    )
    wx = await stack.enter_async_context(wx)
    wechat = WechatPayChannel(
        wx, mchid=s.wechat_mchid, appid=s.wechat_appid, public_key_id=wechat_public_id, clock=clock
    )
    channels: dict[Channel, PaymentChannel] = {Channel.ALIPAY: alipay, Channel.WECHAT: wechat}
    merchant = MerchantIdentity(s.alipay_app_id, s.alipay_seller_id, s.wechat_mchid, s.wechat_appid)
    deps = PaymentsDeps(
        channels=channels,
        clock=clock,
        settings=s,
        merchant=merchant,
        redis=redis,
        cashier_url=_cashier_urls(harness),
        kick_relays=kick_relays,
    )
    return deps, harness


def _cashier_urls(harness: PaymentsHarness | None) -> Callable[[PaymentOrder], str | None] | None:
    if harness is None:
        return None

    def cashier_url(order: PaymentOrder) -> str | None:
        sandbox = harness.alipay if order.channel is Channel.ALIPAY else harness.wechat
        return sandbox.cashier_url(order.product, order.out_trade_no, order.prepay_payload or {})

    return cashier_url
