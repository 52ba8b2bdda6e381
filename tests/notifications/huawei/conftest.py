"""The Huawei Push Kit sandbox on a real loopback port; adapters talk to it over real HTTP, tokens in fakeredis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from api.kit.clock import SettableClock, SystemClock
from api.kit.redis import Redis, connect
from notifications.channels.huawei import HuaweiAdapter
from notifications.sandbox.huawei import HuaweiSandbox
from tests.platforms.support import loopback_socket, serving

CLIENT_ID = "100000001"
CLIENT_SECRET = "huawei-test-secret"


@pytest.fixture(scope="session")
def huawei_clock() -> SettableClock:
    return SettableClock(SystemClock())


@pytest.fixture(scope="session")
async def huawei_server(huawei_clock: SettableClock) -> AsyncIterator[HuaweiSandbox]:
    sock = loopback_socket()
    sandbox = HuaweiSandbox(
        f"http://127.0.0.1:{sock.getsockname()[1]}/sandbox",
        huawei_clock,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    app = Starlette(routes=[Mount(f"/sandbox/{sandbox.name}", app=sandbox.build_app())])
    async with serving(app, sock):
        yield sandbox


@pytest.fixture
def huawei(huawei_server: HuaweiSandbox, huawei_clock: SettableClock) -> Iterator[HuaweiSandbox]:
    huawei_server.reset()
    huawei_server.expire_access_tokens()
    yield huawei_server
    huawei_server.reset()
    huawei_clock.release()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0)) as client:
        yield client


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = connect("")
    yield client
    await client.aclose()


def make_adapter(
    http: httpx.AsyncClient,
    redis: Redis,
    sandbox: HuaweiSandbox,
    clock: SettableClock,
    *,
    secret: str = CLIENT_SECRET,
) -> HuaweiAdapter:
    return HuaweiAdapter(
        http,
        redis,
        base_url=sandbox.base_url,
        oauth_url=sandbox.oauth_url,
        app_id=sandbox.app_id,
        client_id=CLIENT_ID,
        client_secret=secret,
        clock=clock,
    )


@pytest.fixture
def adapter(http: httpx.AsyncClient, redis: Redis, huawei: HuaweiSandbox, huawei_clock: SettableClock) -> HuaweiAdapter:
    return make_adapter(http, redis, huawei, huawei_clock)
