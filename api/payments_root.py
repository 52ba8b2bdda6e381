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

from api.devsecrets import DevSecrets
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
    """Our own keys at both channels."""

    alipay_app_private_key: str
    alipay_app_public_key: str  # registered with the sandbox gateway, as the real console does
    wechat_merchant_private_key: str
    wechat_merchant_public_key: str
    wechat_merchant_serial_no: str


@dataclass(frozen=True)
class Gateways:
    """Where the channels are and the keys they answer with."""

    alipay_url: str
    alipay_public_key: str
    wechat_url: str
    wechat_public_key: str
    wechat_public_key_id: str
    wechat_apiv3_key: str


def channel_keys(settings: Settings, dev: DevSecrets | None) -> ChannelKeys:
    """Explicit keys in production (their public halves live at the channels' consoles); generated otherwise."""
    p = settings.payments
    return ChannelKeys(
        alipay_app_private_key=p.alipay_app_private_key.get_secret_value()
        or (dev.alipay_app_private_key if dev else ""),
        alipay_app_public_key=dev.alipay_app_public_key if dev else "",
        wechat_merchant_private_key=p.wechat_merchant_private_key.get_secret_value()
        or (dev.wechat_merchant_private_key if dev else ""),
        wechat_merchant_public_key=dev.wechat_merchant_public_key if dev else "",
        wechat_merchant_serial_no=p.wechat_merchant_serial_no or (dev.wechat_merchant_serial_no if dev else ""),
    )


def gateways(settings: Settings, dev: DevSecrets | None) -> Gateways:
    """The real gateways from settings, or the sandboxes of the API process (whichever process asks: a standalone
    worker reaches the API's sandboxes over loopback with the keys kept in the local data directory)."""
    p = settings.payments
    if not settings.sandbox_enabled or dev is None:
        return Gateways(
            p.alipay_gateway_url,
            p.alipay_public_key.get_secret_value(),
            p.wechat_gateway_url,
            p.wechat_public_key.get_secret_value(),
            p.wechat_public_key_id,
            p.wechat_apiv3_key.get_secret_value(),
        )
    base = settings.sandbox_base_url
    return Gateways(
        p.alipay_gateway_url or f"{base}/alipay/gateway.do",
        dev.sandbox_alipay_public_key,
        p.wechat_gateway_url or f"{base}/wechatpay",
        dev.sandbox_wechatpay_public_key,
        dev.sandbox_wechatpay_public_key_id,
        dev.sandbox_wechatpay_apiv3_key,
    )


def start_sandboxes(
    settings: Settings,
    hub: SandboxHub,
    keys: ChannelKeys,
    dev: DevSecrets,
    http: httpx.AsyncClient,
    platform_clock: Clock,
) -> PaymentsHarness:
    """Both payment sandboxes inside the hub, knowing our public keys as the real consoles do. The Alipay gateway
    judges our request timestamps by `platform_clock` (ours), which tests move forward."""
    from payments.sandbox.alipay_trade import AlipayTradeSandbox
    from payments.sandbox.wechat_gateway import PlatformKeys, WechatPaySandbox

    s = settings.payments
    # The payment sandboxes keep a clock of their own: tests move it to reach a channel's notify retry.
    clock = ShiftableClock()
    hub.alipay.register_app(s.alipay_app_id, keys.alipay_app_public_key, clock=platform_clock)
    alipay = AlipayTradeSandbox(
        hub.alipay, app_id=s.alipay_app_id, seller_id=s.alipay_seller_id, clock=clock, http=http
    )
    alipay.install()
    platform = PlatformKeys(
        dev.sandbox_wechatpay_private_key, dev.sandbox_wechatpay_public_key_id, dev.sandbox_wechatpay_apiv3_key
    )
    wechat = WechatPaySandbox(
        hub.base_url, clock, mchid=s.wechat_mchid, appid=s.wechat_appid, http=http, platform_keys=platform
    )
    wechat.register_merchant(s.wechat_mchid, keys.wechat_merchant_serial_no, keys.wechat_merchant_public_key)
    hub.add_app(wechat.name, wechat.build_app())
    return PaymentsHarness(alipay, wechat, clock)


async def build_payments(
    settings: Settings,
    *,
    clock: Clock,
    http: httpx.AsyncClient,
    redis: Redis | None,
    stack: AsyncExitStack,
    keys: ChannelKeys,
    gateways: Gateways,
    harness: PaymentsHarness | None = None,
    kick_relays: Callable[[], Awaitable[None]] | None = None,
) -> PaymentsDeps:
    """The channels and what every payment call needs. Bad keys or URLs raise here, at start-up."""
    s = settings.payments
    alipay = AlipayChannel(
        http,
        gateway_url=gateways.alipay_url,
        app_id=s.alipay_app_id,
        seller_id=s.alipay_seller_id,
        app_private_key_pem=keys.alipay_app_private_key,
        alipay_public_key_pem=gateways.alipay_public_key,
        notify_url=s.alipay_notify_url or f"{settings.base_url}/pay/notify/alipay",
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
        apiv3_key=gateways.wechat_apiv3_key,
        public_key_pem=gateways.wechat_public_key,
        public_key_id=gateways.wechat_public_key_id,
        notify_url=s.wechat_notify_url or f"{settings.base_url}/pay/notify/wechat",
        gateway_url=gateways.wechat_url,
        connect_timeout=s.channel_connect_timeout,
        read_timeout=s.channel_read_timeout,
    )
    wx = await stack.enter_async_context(wx)
    wechat = WechatPayChannel(
        wx, mchid=s.wechat_mchid, appid=s.wechat_appid, public_key_id=gateways.wechat_public_key_id, clock=clock
    )
    channels: dict[Channel, PaymentChannel] = {Channel.ALIPAY: alipay, Channel.WECHAT: wechat}
    return PaymentsDeps(
        channels=channels,
        clock=clock,
        settings=s,
        merchant=MerchantIdentity(s.alipay_app_id, s.alipay_seller_id, s.wechat_mchid, s.wechat_appid),
        redis=redis,
        cashier_url=_cashier_urls(harness),
        kick_relays=kick_relays,
    )


def _cashier_urls(harness: PaymentsHarness | None) -> Callable[[PaymentOrder], str | None] | None:
    if harness is None:
        return None

    def cashier_url(order: PaymentOrder) -> str | None:
        sandbox = harness.alipay if order.channel is Channel.ALIPAY else harness.wechat
        return sandbox.cashier_url(order.product, order.out_trade_no, order.prepay_payload or {})

    return cashier_url
