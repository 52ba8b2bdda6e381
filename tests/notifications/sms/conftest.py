"""The SMS sandbox (in the platform sandbox hub) and a receipt receiver on one real loopback server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from api.kit.clock import SettableClock, SystemClock
from api.platforms.sandbox import SandboxHub
from api.platforms.sms import AliyunSmsClient
from tests.platforms.support import loopback_socket, serving, sms_client

RECEIPT_SECRET = "receipt-test-secret"


@dataclass
class Receiver:
    """Our receiving end of SmsReport pushes: keeps every raw body and signature header it was sent."""

    url: str = ""
    status: int = 200
    pushes: list[tuple[bytes, str | None]] = field(default_factory=list)

    async def endpoint(self, request: Request) -> Response:
        if self.status != 200:
            return Response(status_code=self.status)
        self.pushes.append((await request.body(), request.headers.get("x-zsb-signature")))
        return JSONResponse({"code": 0, "msg": "成功"})


@dataclass
class SmsWorld:
    hub: SandboxHub
    receiver: Receiver
    clock: SettableClock


@pytest.fixture(scope="session")
async def sms_world() -> AsyncIterator[SmsWorld]:
    sock = loopback_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    clock = SettableClock(SystemClock())
    hub = SandboxHub(f"{base}/sandbox", clock=clock)
    receiver = Receiver(url=f"{base}/notify/sms/receipts")
    app = Starlette(
        routes=[Route("/notify/sms/receipts", receiver.endpoint, methods=["POST"]), Mount("/sandbox", app=hub.app)]
    )
    async with serving(app, sock):
        yield SmsWorld(hub, receiver, clock)


@pytest.fixture
def world(sms_world: SmsWorld) -> Iterator[SmsWorld]:
    sms_world.hub.reset()
    sms_world.hub.sms.set_receipt_url("", "")
    sms_world.hub.sms.receipts.delay_s = None
    sms_world.receiver.pushes.clear()
    sms_world.receiver.status = 200
    yield sms_world
    sms_world.hub.reset()
    sms_world.clock.release()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0)) as client:
        yield client


@pytest.fixture
async def impatient_http() -> AsyncIterator[httpx.AsyncClient]:
    """Gives up long before a scripted delay ends."""
    async with httpx.AsyncClient(timeout=0.3) as client:
        yield client


@pytest.fixture
def client(http: httpx.AsyncClient, world: SmsWorld) -> AliyunSmsClient:
    return sms_client(http, world.hub, world.clock)
