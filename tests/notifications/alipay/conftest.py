"""The Alipay gateway sandbox (with notifications' message method) on a real loopback port, a stand-in for our
app gateway receiving subscription notifies, and the adapter built as the worker builds it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from api.kit.clock import ShiftableClock
from api.platforms.alipay import AlipayGateway, generate_rsa_keypair
from api.platforms.sandbox import SandboxHub
from notifications.alipay_push import AlipayEvent, parse_events
from notifications.channels.alipay import AlipayAdapter
from notifications.errors import NotificationsError
from notifications.sandbox import alipay_messages
from tests.platforms.support import ALIPAY_APP_ID, alipay_gateway, loopback_socket, serving


@dataclass
class NotifyReceiver:
    """What our app gateway does with a subscription notify: verify, read, answer `success`."""

    alipay_public_key_pem: str = ""
    events: list[AlipayEvent] = field(default_factory=list)
    refused: int = 0

    async def endpoint(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        try:
            self.events.extend(parse_events(form, self.alipay_public_key_pem, app_id=ALIPAY_APP_ID))
        except NotificationsError:
            self.refused += 1
            return PlainTextResponse("fail", status_code=400)
        return PlainTextResponse("success")


@dataclass(frozen=True)
class AlipayServer:
    hub: SandboxHub
    notify_url: str


@pytest.fixture(scope="session")
def alipay_clock() -> ShiftableClock:
    return ShiftableClock()


@pytest.fixture(scope="session")
def app_keys() -> tuple[str, str]:
    return generate_rsa_keypair()


@pytest.fixture(scope="session")
def notify_receiver() -> NotifyReceiver:
    return NotifyReceiver()


@pytest.fixture(scope="session")
async def alipay_server(
    alipay_clock: ShiftableClock, app_keys: tuple[str, str], notify_receiver: NotifyReceiver
) -> AsyncIterator[AlipayServer]:
    sock = loopback_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    hub = SandboxHub(f"{base}/sandbox", clock=alipay_clock)
    hub.alipay.register_app(ALIPAY_APP_ID, app_keys[1])
    alipay_messages.register(hub.alipay)  # as the composition root does
    notify_receiver.alipay_public_key_pem = hub.alipay.public_key_pem
    app = Starlette(
        routes=[Route("/notify/alipay", notify_receiver.endpoint, methods=["POST"]), Mount("/sandbox", app=hub.app)]
    )
    async with serving(app, sock):
        yield AlipayServer(hub, f"{base}/notify/alipay")


@pytest.fixture
def hub(alipay_server: AlipayServer, notify_receiver: NotifyReceiver) -> Iterator[SandboxHub]:
    alipay_server.hub.reset()
    notify_receiver.events.clear()
    notify_receiver.refused = 0
    yield alipay_server.hub
    alipay_server.hub.reset()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0)) as client:
        yield client


@pytest.fixture
def gateway(
    http: httpx.AsyncClient, hub: SandboxHub, alipay_clock: ShiftableClock, app_keys: tuple[str, str]
) -> AlipayGateway:
    return alipay_gateway(http, hub, alipay_clock, app_keys)


@pytest.fixture
def adapter(gateway: AlipayGateway) -> AlipayAdapter:
    return AlipayAdapter(gateway)
