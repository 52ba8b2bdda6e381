"""The Alipay world of the payments tests: the sandbox hub with the trade methods installed, a notify receiver,
and the channel under test, all on one uvicorn server on a loopback port in the test's event loop."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from api.kit.clock import ShiftableClock
from api.models.payment import Product
from api.platforms.alipay import generate_rsa_keypair
from api.platforms.sandbox import SandboxHub
from payments.channels.alipay import AlipayChannel
from payments.channels.base import NotifyFact, OrderSpec
from payments.sandbox.alipay_trade import AlipayTradeSandbox
from tests.platforms.support import loopback_socket, serving

APP_ID = "2021000000000001"
SELLER_ID = "2088000000000001"
_numbers = itertools.count(1)


def out_trade_no(prefix: str = "T") -> str:
    """Unique per test run: out_trade_nos are never reused at a channel."""
    return f"{prefix}{secrets.token_hex(6)}{next(_numbers):04d}"


@dataclass
class Receiver:
    """Our notify URL in these tests: answers through the channel (or as told), and keeps what it saw."""

    channel: AlipayChannel | None = None
    answer: str | None = None  # None: the channel's verdict
    bodies: list[bytes] = field(default_factory=list)
    facts: list[NotifyFact | None] = field(default_factory=list)

    def reset(self) -> None:
        self.answer = None
        self.bodies.clear()
        self.facts.clear()

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        self.bodies.append(body)
        fact = self.channel.parse_notify(request.headers, body) if self.channel else None
        self.facts.append(fact)
        if self.answer is not None:
            return PlainTextResponse(self.answer)
        assert self.channel is not None
        return self.channel.ack(True) if fact is not None else self.channel.reject()

    def fields(self, index: int = -1) -> dict[str, str]:
        return dict(parse_qsl(self.bodies[index].decode("utf-8"), keep_blank_values=True))


@dataclass
class AlipayWorld:
    base_url: str
    hub: SandboxHub
    sandbox: AlipayTradeSandbox
    receiver: Receiver
    http: httpx.AsyncClient
    clock: ShiftableClock  # ours and the gateway's (its timestamp check); never moved
    sandbox_clock: ShiftableClock  # the trade sandbox's: moved to reach notify retries and expiries
    app_keys: tuple[str, str]

    @property
    def notify_url(self) -> str:
        return f"{self.base_url}/notify"

    def channel(self, **overrides: Any) -> AlipayChannel:
        options: dict[str, Any] = {
            "gateway_url": self.hub.alipay.gateway_url,
            "app_id": APP_ID,
            "seller_id": SELLER_ID,
            "app_private_key_pem": self.app_keys[0],
            "alipay_public_key_pem": self.hub.alipay.public_key_pem,
            "notify_url": self.notify_url,
            "clock": self.clock,
            "return_url": f"{self.base_url}/return",
        }
        return AlipayChannel(self.http, **(options | overrides))

    def spec(self, product: Product, amount_fen: int = 5000, **overrides: Any) -> OrderSpec:
        # A day ahead: tests move the sandbox's clock by minutes, never past an order's expiry by accident.
        values: dict[str, Any] = {
            "out_trade_no": out_trade_no(),
            "amount_fen": amount_fen,
            "subject": "营业执照办理费",
            "product": product,
            "expires_at": self.clock.now() + timedelta(days=1),
        }
        if product is Product.JSAPI:
            values["payer_channel_id"] = "2088102177846880"
        return OrderSpec(**(values | overrides))

    def reset(self) -> None:
        self.sandbox.reset()
        self.hub.reset()
        self.receiver.reset()


@asynccontextmanager
async def alipay_world() -> AsyncIterator[AlipayWorld]:
    sock = loopback_socket()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    clock, sandbox_clock = ShiftableClock(), ShiftableClock()
    hub = SandboxHub(f"{base_url}/sandbox", clock=clock)
    app_keys = generate_rsa_keypair()
    hub.alipay.register_app(APP_ID, app_keys[1])  # what the lead's composition root does from settings
    async with httpx.AsyncClient(timeout=5.0) as http:
        sandbox = AlipayTradeSandbox(hub.alipay, app_id=APP_ID, seller_id=SELLER_ID, clock=sandbox_clock, http=http)
        sandbox.install()
        receiver = Receiver()
        app = Starlette(
            routes=[
                Route("/sandbox", hub.index),
                Mount("/sandbox", app=hub.app),
                Route("/notify", receiver.endpoint, methods=["POST"]),
            ]
        )
        async with serving(app, sock):
            world = AlipayWorld(base_url, hub, sandbox, receiver, http, clock, sandbox_clock, app_keys)
            receiver.channel = world.channel()
            yield world
            await sandbox.settle()


class FixedClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment
