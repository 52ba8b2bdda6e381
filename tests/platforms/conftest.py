"""The sandboxes on a real loopback port: every client under test talks to them over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from api.kit.clock import ShiftableClock
from api.platforms.alipay import AlipayGateway, generate_rsa_keypair
from api.platforms.province_sso import ProvinceSsoClient
from api.platforms.sandbox import SandboxHub
from api.platforms.sms import AliyunSmsClient
from api.platforms.wechat import WechatClient
from tests.platforms.support import (
    ALIPAY_APP_ID,
    SSO_CLIENT_ID,
    SSO_CLIENT_SECRET,
    SSO_REDIRECT_URI,
    WECHAT_APP_ID,
    WECHAT_SECRET,
    alipay_gateway,
    loopback_socket,
    serving,
    sms_client,
    sso_client,
    wechat_client,
)


@pytest.fixture(scope="session")
def clock() -> ShiftableClock:
    # Shared by the sandboxes and the clients, as one process's clock would be; tests only move it forward.
    return ShiftableClock()


@pytest.fixture(scope="session")
def alipay_app_keys() -> tuple[str, str]:
    return generate_rsa_keypair()


@pytest.fixture(scope="session")
async def sandbox_server(clock: ShiftableClock, alipay_app_keys: tuple[str, str]) -> AsyncIterator[SandboxHub]:
    sock = loopback_socket()
    hub = SandboxHub(f"http://127.0.0.1:{sock.getsockname()[1]}/sandbox", clock=clock)
    hub.wechat.register_app(WECHAT_APP_ID, WECHAT_SECRET)
    hub.alipay.register_app(ALIPAY_APP_ID, alipay_app_keys[1])
    hub.idp.register_client(SSO_CLIENT_ID, SSO_CLIENT_SECRET, [SSO_REDIRECT_URI])
    # Mounted at /sandbox as the composition root does; the bare /sandbox route because a Mount never matches it.
    app = Starlette(routes=[Route("/sandbox", hub.index), Mount("/sandbox", app=hub.app)])
    async with serving(app, sock):
        yield hub


@pytest.fixture
def hub(sandbox_server: SandboxHub) -> Iterator[SandboxHub]:
    sandbox_server.reset()
    yield sandbox_server
    sandbox_server.reset()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


@pytest.fixture
async def impatient_http() -> AsyncIterator[httpx.AsyncClient]:
    """A client that gives up long before a scripted delay ends."""
    async with httpx.AsyncClient(timeout=0.2) as client:
        yield client


@pytest.fixture
def sms(http: httpx.AsyncClient, hub: SandboxHub, clock: ShiftableClock) -> AliyunSmsClient:
    return sms_client(http, hub, clock)


@pytest.fixture
def wechat(http: httpx.AsyncClient, hub: SandboxHub) -> WechatClient:
    return wechat_client(http, hub)


@pytest.fixture
def alipay(
    http: httpx.AsyncClient, hub: SandboxHub, clock: ShiftableClock, alipay_app_keys: tuple[str, str]
) -> AlipayGateway:
    return alipay_gateway(http, hub, clock, alipay_app_keys)


@pytest.fixture
def sso(http: httpx.AsyncClient, hub: SandboxHub, clock: ShiftableClock) -> ProvinceSsoClient:
    return sso_client(http, hub, clock)
