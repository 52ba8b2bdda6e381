"""Composition of notifications: the API's deps (no adapters, §C1), the workers' deps with every channel adapter
pointed at the real providers or at the sandboxes of this process, and those sandboxes.

Part of the composition root (with api.lifespan, api.worker and api.cli): the only place that knows both the
adapters and their sandbox twins. Adapters are built inside the running loop (aioapns captures it) and closed on
the exit stack they were built on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from api.kit.clock import Clock, SettableClock
from api.kit.redis import Redis
from api.platforms.alipay import AlipayGateway
from api.platforms.sms import AliyunSmsClient
from api.platforms.wechat.token import StableTokenSource
from api.settings import Environment, Settings
from notifications.channels.alipay import AlipayAdapter
from notifications.channels.apns import build_apns_adapter
from notifications.channels.base import ChannelAdapter, LateReply
from notifications.channels.huawei import HuaweiAdapter
from notifications.channels.sms import SmsAdapter
from notifications.channels.wechat import WechatAdapter
from notifications.deps import NotificationsDeps

if TYPE_CHECKING:
    from api.platforms.sandbox import SandboxHub
    from notifications.sandbox.apns import ApnsSandbox
    from notifications.sandbox.huawei import HuaweiSandbox

log = logging.getLogger("zsb.notifications")

# Where providers call us back (api.http.notify_callbacks).
WECHAT_PUSH_PATH = "/notify/wechat/messages"
SMS_RECEIPTS_PATH = "/notify/sms/receipts"
ALIPAY_MESSAGES_PATH = "/notify/alipay/messages"
HUAWEI_PRODUCTION_URL = "https://push-api.cloud.huawei.com"
HUAWEI_PRODUCTION_OAUTH_URL = "https://oauth-login.cloud.huawei.com/oauth2/v3/token"

LateReplyHandler = Callable[[NotificationsDeps, LateReply], Awaitable[None]]


@dataclass
class NotificationsSandboxes:
    """The two sandboxes notifications ship (APNs over raw h2, Huawei); SMS, WeChat and Alipay live in the hub."""

    apns: ApnsSandbox
    huawei: HuaweiSandbox
    hub: SandboxHub


def notifications_clock(settings: Settings, clock: Clock) -> Clock:
    """Tests set notifications' time to any moment (22:30 on a given day) without touching the server's clock."""
    return SettableClock(clock) if settings.env is Environment.TEST else clock


def api_deps(settings: Settings, clock: Clock, redis: Redis) -> NotificationsDeps:
    return NotificationsDeps(
        clock=clock,
        redis=redis,
        settings=settings.notifications,
        wechat_app_id=settings.wechat.app_id,
        alipay_app_id=settings.alipay.app_id,
    )


async def start_sandboxes(
    settings: Settings, hub: SandboxHub, clock: Clock, stack: AsyncExitStack
) -> NotificationsSandboxes:
    """APNs on its own TLS port (its control app under the hub), Huawei inside the hub; the hub's SMS, WeChat and
    Alipay sandboxes learn our callback URLs and the Alipay message method."""
    from starlette.routing import Mount

    from notifications.sandbox import alipay_messages
    from notifications.sandbox.apns import ApnsSandbox
    from notifications.sandbox.huawei import HuaweiSandbox

    n = settings.notifications
    directory = settings.var_dir / "sandbox" / "apns"
    directory.mkdir(parents=True, exist_ok=True)
    # The embedded mode keeps the log as JSON lines: what each phone received, readable after the fact.
    log_path = None if settings.env is Environment.TEST else directory / "requests.jsonl"
    apns = ApnsSandbox(clock, directory=directory, topic=n.apns_topic, log_path=log_path)
    await apns.start()
    stack.push_async_callback(apns.stop)
    hub.app.router.routes.append(Mount("/apns", app=apns.control_app()))
    hub.add_listing("apns", f"https://localhost:{apns.port}", f"{hub.base_url}/apns/_control")
    huawei = HuaweiSandbox(
        hub.base_url,
        clock,
        client_id=n.huawei_client_id,
        client_secret=n.huawei_client_secret.get_secret_value(),
        app_id=n.huawei_app_id,
    )
    hub.add_app(huawei.name, huawei.build_app(), control_url=huawei.control_url)
    base = settings.base_url
    hub.sms.set_receipt_url(f"{base}{SMS_RECEIPTS_PATH}", n.sms_receipt_secret.get_secret_value())
    hub.wechat.set_push_url(f"{base}{WECHAT_PUSH_PATH}", n.wechat_push_token.get_secret_value())
    alipay_messages.register(hub.alipay)
    return NotificationsSandboxes(apns=apns, huawei=huawei, hub=hub)


@dataclass(frozen=True)
class ProviderClients:
    """The shared platform clients the SMS and Alipay adapters wrap (built by the caller from its settings)."""

    sms: AliyunSmsClient
    alipay: AlipayGateway
    wechat_base_url: str
    wechat_app_secret: str


async def worker_deps(
    settings: Settings,
    *,
    clock: Clock,
    redis: Redis,
    http: httpx.AsyncClient,
    clients: ProviderClients,
    stack: AsyncExitStack,
    sandboxes: NotificationsSandboxes | None,
    on_late_reply: LateReplyHandler,
) -> NotificationsDeps:
    """The deps the notify:tx and notify:campaign workers run with: the API's, plus every channel adapter."""
    deps = api_deps(settings, clock, redis)

    async def late(reply: LateReply) -> None:
        await on_late_reply(deps, reply)

    adapters: list[ChannelAdapter] = []
    apns = await _apns(settings, clock, sandboxes, late)
    if apns is not None:
        adapters.append(apns)
    adapters.append(_huawei(settings, clock, redis, http, sandboxes))
    adapters += _platform_adapters(settings, clock, redis, http, clients)
    for adapter in adapters:
        stack.push_async_callback(adapter.aclose)
        deps.adapters[adapter.channel] = adapter
    return deps


async def _apns(
    settings: Settings,
    clock: Clock,
    sandboxes: NotificationsSandboxes | None,
    on_late_reply: Callable[[LateReply], Awaitable[None]],
) -> ChannelAdapter | None:
    n = settings.notifications
    if sandboxes is not None and not n.apns_host:
        box = sandboxes.apns
        # Both environments of a device (Apple's development one included) go to the one sandbox.
        return await build_apns_adapter(
            host="localhost",
            port=box.port,
            topic=n.apns_topic,
            key_pem=box.provider_key_pem,
            key_id=box.key_id,
            team_id=box.team_id,
            ca_file=str(box.ca_file),
            connections=n.apns_connections,
            timeout_s=n.apns_timeout_s,
            clock=clock,
            on_late_reply=on_late_reply,
        )
    if not n.apns_host:
        log.warning("no APNs host configured and no APNs sandbox in this process: iOS pushes end as technical failures")
        return None
    return await build_apns_adapter(
        host=n.apns_host,
        port=n.apns_port,
        topic=n.apns_topic,
        key_pem=n.apns_key.get_secret_value(),
        key_id=n.apns_key_id,
        team_id=n.apns_team_id,
        ca_file=n.apns_ca_file or None,
        connections=n.apns_connections,
        timeout_s=n.apns_timeout_s,
        clock=clock,
        on_late_reply=on_late_reply,
        development_host=n.apns_development_host or None,
    )


def _huawei(
    settings: Settings,
    clock: Clock,
    redis: Redis,
    http: httpx.AsyncClient,
    sandboxes: NotificationsSandboxes | None,
) -> ChannelAdapter:
    n = settings.notifications
    if settings.sandbox_enabled:
        fallback_base = f"{settings.sandbox_base_url}/huawei"
        fallback_oauth = f"{fallback_base}/oauth2/v3/token"
    else:
        fallback_base, fallback_oauth = HUAWEI_PRODUCTION_URL, HUAWEI_PRODUCTION_OAUTH_URL
    return HuaweiAdapter(
        http,
        redis,
        base_url=n.huawei_base_url or fallback_base,
        oauth_url=n.huawei_oauth_url or fallback_oauth,
        app_id=n.huawei_app_id,
        client_id=n.huawei_client_id,
        client_secret=n.huawei_client_secret.get_secret_value(),
        clock=clock,
    )


def _platform_adapters(
    settings: Settings, clock: Clock, redis: Redis, http: httpx.AsyncClient, clients: ProviderClients
) -> list[ChannelAdapter]:
    tokens = StableTokenSource(
        http,
        redis,
        base_url=clients.wechat_base_url,
        app_id=settings.wechat.app_id,
        app_secret=clients.wechat_app_secret,
        clock=clock,
    )
    return [
        SmsAdapter(clients.sms, clock=clock),
        WechatAdapter(http, tokens, base_url=clients.wechat_base_url, clock=clock),
        AlipayAdapter(clients.alipay),
    ]


def provider_clients(settings: Settings, http: httpx.AsyncClient) -> ProviderClients:
    """The platform clients the SMS, WeChat and Alipay adapters wrap: real providers from settings, or the sandboxes
    of the API process (in it, or on this machine for a standalone worker; keys from the local data directory)."""
    from api import devsecrets

    dev = None if settings.is_production else devsecrets.load_or_create(settings.var_dir)
    sandbox_base = settings.sandbox_base_url
    if settings.sandbox_enabled:
        from api.platforms.sandbox import SANDBOX_SMS_ACCESS_KEY_ID, SANDBOX_SMS_ACCESS_KEY_SECRET

        sms_key, sms_secret = SANDBOX_SMS_ACCESS_KEY_ID, SANDBOX_SMS_ACCESS_KEY_SECRET
    else:
        sms_key, sms_secret = settings.sms.access_key_id, settings.sms.access_key_secret.get_secret_value()
    alipay_private = settings.alipay.app_private_key.get_secret_value() or (dev.alipay_app_private_key if dev else "")
    alipay_public = settings.alipay.alipay_public_key or (dev.sandbox_alipay_public_key if dev else "")
    return ProviderClients(
        sms=AliyunSmsClient(
            http,
            base_url=settings.sms.base_url or f"{sandbox_base}/sms",
            access_key_id=sms_key,
            access_key_secret=sms_secret,
            sign_name=settings.sms.sign_name,
        ),
        alipay=AlipayGateway(
            http,
            gateway_url=settings.alipay.base_url or f"{sandbox_base}/alipay/gateway.do",
            app_id=settings.alipay.app_id,
            app_private_key_pem=alipay_private,
            alipay_public_key_pem=alipay_public,
        ),
        wechat_base_url=settings.wechat.base_url or f"{sandbox_base}/wechat",
        wechat_app_secret=settings.wechat.app_secret.get_secret_value(),
    )
