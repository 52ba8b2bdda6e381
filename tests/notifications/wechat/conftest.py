"""The WeChat sandbox on a real loopback port, a stand-in for our message-push endpoint beside it, and clients
built as the worker builds them."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from api.kit.clock import ShiftableClock
from api.kit.redis import Redis, connect
from api.platforms.sandbox import SandboxHub
from api.platforms.wechat import StableTokenSource
from notifications.channels.wechat import WechatAdapter
from notifications.wechat_push import WechatEvent, parse_events, verify_signature
from tests.platforms.support import loopback_socket, serving

PUSH_TOKEN = "push-token-for-tests"
ONE_TIME_TEMPLATES = ("TPL-accepted", "TPL-other")
LONG_TERM_TEMPLATE = "TPL-long"
_apps = itertools.count(1)


@dataclass
class PushReceiver:
    """What our message-push endpoint does first: check the signature, then read the events."""

    token: str = PUSH_TOKEN
    events: list[WechatEvent] = field(default_factory=list)
    refused: int = 0

    async def endpoint(self, request: Request) -> Response:
        query = request.query_params
        signed = verify_signature(
            self.token, query.get("signature", ""), query.get("timestamp", ""), query.get("nonce", "")
        )
        if not signed:
            self.refused += 1
            return PlainTextResponse("forbidden", status_code=403)
        self.events.extend(parse_events(await request.body()))
        return PlainTextResponse("success")


@dataclass(frozen=True)
class WechatApp:
    app_id: str
    secret: str


@pytest.fixture(scope="session")
def wechat_clock() -> ShiftableClock:
    return ShiftableClock()


@pytest.fixture(scope="session")
def push_receiver() -> PushReceiver:
    return PushReceiver()


@pytest.fixture(scope="session")
async def wechat_server(wechat_clock: ShiftableClock, push_receiver: PushReceiver) -> AsyncIterator[SandboxHub]:
    sock = loopback_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    hub = SandboxHub(f"{base}/sandbox", clock=wechat_clock)
    hub.wechat.set_push_url(f"{base}/notify/wechat", PUSH_TOKEN)
    # Every template the tests use, so that any other id is refused with 40037.
    for template_id in ONE_TIME_TEMPLATES:
        hub.wechat.register_template(template_id)
    hub.wechat.register_template(LONG_TERM_TEMPLATE, long_term=True)
    app = Starlette(
        routes=[
            Route("/notify/wechat", push_receiver.endpoint, methods=["POST"]),
            Mount("/sandbox", app=hub.app),
        ]
    )
    async with serving(app, sock):
        yield hub


@pytest.fixture
def hub(wechat_server: SandboxHub, push_receiver: PushReceiver) -> Iterator[SandboxHub]:
    wechat_server.reset()
    push_receiver.events.clear()
    push_receiver.refused = 0
    yield wechat_server
    wechat_server.reset()


@pytest.fixture
def wechat_app(hub: SandboxHub) -> WechatApp:
    """A mini-program of its own per test: its token cache key is its own too, even on a shared Redis."""
    app = WechatApp(f"wx-notify-{next(_apps)}", "wx-notify-secret")
    hub.wechat.register_app(app.app_id, app.secret)
    return app


@pytest.fixture
async def redis(backend_urls: tuple[str, str]) -> AsyncIterator[Redis]:
    client = connect(backend_urls[1])
    yield client
    await client.aclose()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0)) as client:
        yield client


def token_source(
    http: httpx.AsyncClient, redis: Redis, hub: SandboxHub, app: WechatApp, clock: ShiftableClock, **kwargs: str
) -> StableTokenSource:
    return StableTokenSource(
        http,
        redis,
        base_url=hub.wechat.base_url,
        app_id=app.app_id,
        app_secret=kwargs.get("secret", app.secret),
        clock=clock,
    )


@pytest.fixture
def tokens(
    http: httpx.AsyncClient, redis: Redis, hub: SandboxHub, wechat_app: WechatApp, wechat_clock: ShiftableClock
) -> StableTokenSource:
    return token_source(http, redis, hub, wechat_app, wechat_clock)


@pytest.fixture
def adapter(
    http: httpx.AsyncClient, tokens: StableTokenSource, hub: SandboxHub, wechat_clock: ShiftableClock
) -> WechatAdapter:
    return WechatAdapter(http, tokens, base_url=hub.wechat.base_url, clock=wechat_clock)
