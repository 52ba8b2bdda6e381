"""Process-scoped resources, built once at start-up and closed at shutdown (house rule 6)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx
import orjson
from arq.connections import ArqRedis
from starlette.applications import Starlette
from starlette.types import ASGIApp

from api import database, devsecrets
from api.identity.deps import IdentityDeps
from api.identity.tokens import TokenService
from api.kit import heap
from api.kit import redis as redis_kit
from api.kit.clock import Clock
from api.kit.pii import PiiCipher
from api.notifications_root import (
    NotificationsSandboxes,
    api_deps,
    notifications_clock,
    provider_clients,
    worker_deps,
)
from api.notifications_root import start_sandboxes as start_notification_sandboxes
from api.payments_root import PaymentsHarness, build_payments, channel_keys, gateways, start_sandboxes
from api.platforms.alipay import AlipayGateway
from api.platforms.province_sso import ProvinceSsoClient
from api.platforms.sms import AliyunSmsClient
from api.platforms.wechat import WechatClient
from api.settings import Environment, Settings, activate
from api.worker import kick_relays, start_in_process_worker, start_notification_workers
from notifications import default_templates, service
from notifications.deps import NotificationsDeps
from payments.deps import PaymentsDeps
from schema.root import build_schema
from schema.view import GraphQLEndpoint
from sync.deps import SyncDeps

log = logging.getLogger("zsb")


@dataclass
class Services:
    settings: Settings
    clock: Clock
    redis: redis_kit.Redis
    http: httpx.AsyncClient
    identity: IdentityDeps
    graphql: GraphQLEndpoint
    sandbox_app: ASGIApp | None
    sandbox: object | None
    payments: PaymentsDeps
    payments_sandbox: PaymentsHarness | None
    sync: SyncDeps
    # The API side of notifications (no adapters: the API never calls a provider, §C1).
    notifications: NotificationsDeps
    # What the notify:tx and notify:campaign workers of this process run with (adapters included): built in the
    # embedded mode and in tests (which run burst workers themselves); None in a production API process.
    notification_worker: NotificationsDeps | None = None
    notifications_sandbox: NotificationsSandboxes | None = None
    # The key Alipay signs its message pushes with (the gateway's, or the Alipay sandbox's).
    alipay_public_key: str = ""


def _keys(settings: Settings) -> tuple[dict[str, str], str, PiiCipher, str, str]:
    """JWT keys, PII cipher and the Alipay app key: explicit in production, generated under var/ otherwise."""
    explicit_jwt = settings.auth.jwt_keys.get_secret_value()
    dev = None if settings.is_production else devsecrets.load_or_create(settings.var_dir)
    if explicit_jwt:
        jwt_keys: dict[str, str] = orjson.loads(explicit_jwt)
        signing_kid = settings.auth.signing_kid or next(iter(jwt_keys))
    else:
        assert dev is not None
        jwt_keys, signing_kid = dev.jwt_keys, dev.signing_kid
    enc = settings.security.pii_encryption_key.get_secret_value()
    hsh = settings.security.pii_hash_key.get_secret_value()
    pii = PiiCipher(
        base64.b64decode(enc) if enc else dev.pii_encryption_key,  # type: ignore[union-attr]
        base64.b64decode(hsh) if hsh else dev.pii_hash_key,  # type: ignore[union-attr]
    )
    alipay_private = settings.alipay.app_private_key.get_secret_value() or (dev.alipay_app_private_key if dev else "")
    alipay_public = dev.alipay_app_public_key if dev else ""
    return jwt_keys, signing_kid, pii, alipay_private, alipay_public


async def build_services(settings: Settings, clock: Clock, stack: AsyncExitStack) -> Services:
    jwt_keys, signing_kid, pii, alipay_private, alipay_app_public = _keys(settings)
    activate(settings)  # the domain policies (deadlines, windows, limits) follow these settings
    await database.connect(settings.resolved_database_url)
    stack.push_async_callback(database.disconnect)
    redis = redis_kit.connect(settings.redis_url)
    stack.push_async_callback(redis.aclose)
    http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0))
    stack.push_async_callback(http.aclose)

    sandbox_base = settings.sandbox_base_url
    hub = None
    alipay_public = settings.alipay.alipay_public_key
    if settings.sandbox_enabled:
        from api.platforms.sandbox import SANDBOX_SMS_ACCESS_KEY_ID, SANDBOX_SMS_ACCESS_KEY_SECRET, SandboxHub

        sandbox_keys = devsecrets.load_or_create(settings.var_dir)
        # External systems keep real time, whatever tests do to ours.
        hub = SandboxHub(
            sandbox_base,
            alipay_key_pair=(sandbox_keys.sandbox_alipay_private_key, sandbox_keys.sandbox_alipay_public_key),
        )
        hub.wechat.register_app(settings.wechat.app_id, settings.wechat.app_secret.get_secret_value())
        hub.alipay.register_app(settings.alipay.app_id, alipay_app_public)
        hub.idp.register_client(
            settings.province_sso.client_id,
            settings.province_sso.client_secret.get_secret_value(),
            [settings.province_sso.redirect_uri, f"{settings.base_url}/sso/callback"],
        )
        alipay_public = alipay_public or hub.alipay.public_key_pem
        sms_key, sms_secret = SANDBOX_SMS_ACCESS_KEY_ID, SANDBOX_SMS_ACCESS_KEY_SECRET
    else:
        sms_key, sms_secret = settings.sms.access_key_id, settings.sms.access_key_secret.get_secret_value()

    tokens = TokenService(
        keys_pem=jwt_keys,
        signing_kid=signing_kid,
        issuer=settings.auth.issuer,
        audience=settings.auth.audience,
        ttl=timedelta(seconds=settings.auth.access_ttl_seconds),
        clock=clock,
    )
    identity = IdentityDeps(
        clock=clock,
        redis=redis,
        buckets=redis_kit.TokenBucket(redis),
        tokens=tokens,
        pii=pii,
        auth=settings.auth,
        sms=AliyunSmsClient(
            http,
            base_url=settings.sms.base_url or f"{sandbox_base}/sms",
            access_key_id=sms_key,
            access_key_secret=sms_secret,
            sign_name=settings.sms.sign_name,
        ),
        sms_template=settings.sms.template_code,
        wechat=WechatClient(
            http,
            base_url=settings.wechat.base_url or f"{sandbox_base}/wechat",
            app_id=settings.wechat.app_id,
            app_secret=settings.wechat.app_secret.get_secret_value(),
        ),
        alipay=AlipayGateway(
            http,
            gateway_url=settings.alipay.base_url or f"{sandbox_base}/alipay/gateway.do",
            app_id=settings.alipay.app_id,
            app_private_key_pem=alipay_private,
            alipay_public_key_pem=alipay_public,
        ),
        province_sso=ProvinceSsoClient(
            http,
            issuer=settings.province_sso.issuer or f"{sandbox_base}/idp",
            client_id=settings.province_sso.client_id,
            client_secret=settings.province_sso.client_secret.get_secret_value(),
            redirect_uri=settings.province_sso.redirect_uri,
        ),
    )
    dev = None if settings.is_production else devsecrets.load_or_create(settings.var_dir)
    pay_keys = channel_keys(settings, dev)
    payments_sandbox = start_sandboxes(settings, hub, pay_keys, dev, http, clock) if hub is not None and dev else None
    arq_pool = ArqRedis(connection_pool=redis.connection_pool)
    payments = await build_payments(
        settings,
        clock=clock,
        http=http,
        redis=redis,
        stack=stack,
        keys=pay_keys,
        gateways=gateways(settings, dev),
        harness=payments_sandbox,
        kick_relays=functools.partial(kick_relays, arq_pool),
    )
    sync = build_sync(settings, clock, redis, pii)
    notify_clock = notifications_clock(settings, clock)
    notifications = api_deps(settings, notify_clock, redis)
    notify_sandboxes = (
        await start_notification_sandboxes(settings, hub, notify_clock, stack) if hub is not None else None
    )
    notification_worker = None
    if settings.worker_in_process or settings.env is Environment.TEST:
        notification_worker = await worker_deps(
            settings,
            clock=notify_clock,
            redis=redis,
            http=http,
            clients=provider_clients(settings, http),
            stack=stack,
            sandboxes=notify_sandboxes,
            on_late_reply=service.on_late_reply,
        )
    await default_templates.ensure_default_templates(sms_sign_name=settings.sms.sign_name)
    schema = build_schema(settings.graphql, introspection=not settings.is_production)
    graphiql = None if settings.is_production else _graphiql_html(settings)
    endpoint = GraphQLEndpoint(
        schema=schema,
        identity=identity,
        limits=settings.graphql,
        trusted_proxies=settings.security.trusted_proxies,
        graphiql_html=graphiql,
        payments=payments,
        upload_root=settings.var_dir,
        sync=sync,
        notifications=notifications,
    )
    return Services(
        settings,
        clock,
        redis,
        http,
        identity,
        endpoint,
        hub.app if hub else None,
        hub,
        payments,
        payments_sandbox,
        sync,
        notifications,
        notification_worker,
        notify_sandboxes,
        alipay_public,
    )


def build_sync(settings: Settings, clock: Clock, redis: redis_kit.Redis, pii: PiiCipher) -> SyncDeps:
    explicit = settings.sync.cursor_key.get_secret_value()
    key = base64.b64decode(explicit) if explicit else devsecrets.load_or_create(settings.var_dir).sync_cursor_key
    return SyncDeps(
        clock=clock,
        redis=redis,
        pii=pii,
        cursor_key=key,
        upload_root=settings.var_dir,
        min_protocol_version=settings.sync.min_protocol_version,
        max_protocol_version=settings.sync.max_protocol_version,
    )


def _graphiql_html(settings: Settings) -> str:
    from api.graphiql import render

    return render(settings)


def lifespan_for(settings: Settings, clock: Clock) -> object:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            services = await build_services(settings, clock, stack)
            app.state.services = services
            if settings.worker_in_process:
                worker_task = await start_in_process_worker(
                    settings, services.identity, services.redis, services.payments
                )
                stack.push_async_callback(_stop, worker_task)
                if services.notification_worker is not None and settings.notifications.embedded_workers:
                    for task in await start_notification_workers(services.redis, services.notification_worker):
                        stack.push_async_callback(_stop, task)
            heap.settle_after_startup()
            yield

    return lifespan


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
