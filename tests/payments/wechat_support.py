"""A WeChat Pay world for tests: the sandbox in a SandboxHub on a real loopback uvicorn, a notify receiver that
answers through the channel, and the real `AsyncWeChatPay` from `make_wechat_client`, entered, pointed at it."""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from wechatpayv3.async_ import AsyncWeChatPay

from api.kit.clock import ShiftableClock
from api.models.payment import Product
from api.platforms.alipay import generate_rsa_keypair
from api.platforms.sandbox import SandboxHub
from payments.channels.base import NotifyFact, OrderSpec
from payments.channels.wechat_pay import WechatPayChannel, make_wechat_client
from payments.sandbox.wechat_gateway import WechatPaySandbox
from tests.platforms.support import loopback_socket, serving

MCHID = "1900000001"
APPID = "wx-sandbox-pay-app"
NOTIFY_PATH = "/pay/notify/wechat"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    fact: NotifyFact | None
    status: int


@dataclass
class NotifyReceiver:
    """Our notify route in miniature: parse through the channel, then reject / acknowledge / ask for a retry."""

    channel: WechatPayChannel | None = None
    accept: bool = True  # False: answer as if the database were down (503, retried)
    received: list[Received] = field(default_factory=list)

    async def handle(self, request: Request) -> Response:
        assert self.channel is not None
        body = await request.body()
        fact = self.channel.parse_notify(request.headers, body)
        response = self.channel.reject() if fact is None else self.channel.ack(self.accept)
        self.received.append(Received(dict(request.headers), body, fact, response.status_code))
        return response

    def facts(self) -> list[NotifyFact]:
        return [r.fact for r in self.received if r.fact is not None]


@dataclass
class WechatEnv:
    clock: ShiftableClock
    hub: SandboxHub
    sandbox: WechatPaySandbox
    base_url: str
    http: httpx.AsyncClient
    receiver: NotifyReceiver
    merchant_private_pem: str
    merchant_public_pem: str
    serial_no: str
    stack: AsyncExitStack
    wx: AsyncWeChatPay = field(init=False)
    channel: WechatPayChannel = field(init=False)

    @property
    def notify_url(self) -> str:
        return f"{self.base_url}{NOTIFY_PATH}"

    def client(self, **overrides: Any) -> AsyncWeChatPay:
        """Another client of our merchant (not entered), e.g. with a short read timeout or another key."""
        settings: dict[str, Any] = {
            "mchid": MCHID,
            "appid": APPID,
            "merchant_private_key_pem": self.merchant_private_pem,
            "merchant_serial_no": self.serial_no,
            "apiv3_key": self.sandbox.apiv3_key,
            "public_key_pem": self.sandbox.public_key_pem,
            "public_key_id": self.sandbox.public_key_id,
            "notify_url": self.notify_url,
            "gateway_url": self.sandbox.gateway_url,
        }
        return make_wechat_client(**(settings | overrides))

    async def channel_with(self, **overrides: Any) -> WechatPayChannel:
        """A channel over another entered client (closed with the environment)."""
        wx = await self.stack.enter_async_context(self.client(**overrides))
        return WechatPayChannel(
            wx, mchid=MCHID, appid=APPID, public_key_id=self.sandbox.public_key_id, clock=self.clock
        )

    def merchant_public_key(self) -> rsa.RSAPublicKey:
        key = serialization.load_pem_public_key(self.merchant_public_pem.encode())
        assert isinstance(key, rsa.RSAPublicKey)
        return key


@asynccontextmanager
async def wechat_env() -> AsyncIterator[WechatEnv]:
    clock = ShiftableClock()
    sock = loopback_socket()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=5.0))
        hub = SandboxHub(f"{base_url}/sandbox", clock=clock)
        sandbox = WechatPaySandbox(hub.base_url, clock, mchid=MCHID, appid=APPID, http=http)
        hub.add_app("wechatpay", sandbox.build_app())
        private_pem, public_pem = generate_rsa_keypair()
        serial_no = secrets.token_hex(20).upper()
        sandbox.register_merchant(MCHID, serial_no, public_pem)
        receiver = NotifyReceiver()
        app = Starlette(
            routes=[
                Route("/sandbox", hub.index),
                Mount("/sandbox", app=hub.app),
                Route(NOTIFY_PATH, receiver.handle, methods=["POST"]),
            ]
        )
        await stack.enter_async_context(serving(app, sock))
        env = WechatEnv(clock, hub, sandbox, base_url, http, receiver, private_pem, public_pem, serial_no, stack)
        env.wx = await stack.enter_async_context(env.client())
        env.channel = WechatPayChannel(
            env.wx, mchid=MCHID, appid=APPID, public_key_id=sandbox.public_key_id, clock=clock
        )
        receiver.channel = env.channel
        sandbox.default_notify_url = env.notify_url
        yield env


def order(
    product: Product = Product.NATIVE,
    *,
    amount_fen: int = 5000,
    out_trade_no: str | None = None,
    payer: str | None = None,
    expires_in: timedelta = timedelta(minutes=30),
    clock: ShiftableClock | None = None,
) -> OrderSpec:
    now = clock.now() if clock else datetime.now(UTC)
    return OrderSpec(
        out_trade_no=out_trade_no or new_out_trade_no(),
        amount_fen=amount_fen,
        subject="营业执照办理费",
        product=product,
        expires_at=now + expires_in,
        payer_channel_id=payer,
    )


def new_out_trade_no() -> str:
    return "T" + secrets.token_hex(12)


def verify_client_sign(key: rsa.RSAPublicKey, signature: str, *parts: str) -> bool:
    message = "".join(f"{part}\n" for part in parts).encode()
    try:
        key.verify(base64.b64decode(signature), message, padding.PKCS1v15(), hashes.SHA256())
    except Exception:
        return False
    return True
