"""The payments benchmark's server process (`python -m bench.payments_server --serve --port P [--cpu N]`): the
real app with the signing probe installed (payments.md §15.4) and the bare routes of bench.payments under /bare/.

The probe wraps every RSA operation reachable from createPayment where our code imported it: `rsa2_sign` and
`rsa2_verify` in payments.channels.rsa2 and alipay*.py, and `build_authorization`, `rsa_sign` (also the client
payload's signature) and `rsa_verify` in wechatpayv3.async_.core. It adds `time.thread_time()` deltas only on the
event-loop thread. The sandboxes' own signing (their own bindings, or worker threads) is never counted.
"""

from __future__ import annotations

import base64
import functools
import importlib
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from api.kit.errors import AppError
from api.lifespan import Services
from api.settings import Settings
from bench.applications import _claims
from bench.server import build_with, serve_with

F = TypeVar("F", bound=Callable[..., Any])

BILL_FEN = 5000


class SigningProbe:
    """CPU time (`time.thread_time`) spent inside the wrapped RSA operations on the event-loop thread, summed
    until read. Work the sandboxes or worker threads do is not counted; nested wrapped calls count once."""

    def __init__(self) -> None:
        self.loop_thread: int | None = None
        self.seconds = 0.0
        self.calls = 0
        self._inside = False

    def wrap(self, fn: F) -> F:
        @functools.wraps(fn)
        def probed(*args: Any, **kwargs: Any) -> Any:
            if self._inside or threading.get_ident() != self.loop_thread:
                return fn(*args, **kwargs)
            self._inside = True
            started = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.thread_time() - started
                self.calls += 1
                self._inside = False

        return probed  # type: ignore[return-value]

    def take(self) -> tuple[float, int]:
        taken = self.seconds, self.calls
        self.seconds, self.calls = 0.0, 0
        return taken


PROBE = SigningProbe()
PROBED = {
    "payments.channels.rsa2": ("rsa2_sign", "rsa2_verify"),
    "payments.channels.alipay": ("rsa2_sign", "rsa2_verify"),
    "payments.channels.alipay_wire": ("rsa2_sign", "rsa2_verify"),
    "payments.channels.alipay_notify": ("rsa2_sign", "rsa2_verify"),
    "payments.channels.alipay_bill": ("rsa2_sign", "rsa2_verify"),
    "wechatpayv3.async_.core": ("build_authorization", "rsa_sign", "rsa_verify"),
}
_SIGNERS: dict[str, Callable[..., str]] = {}


def install_probe() -> list[str]:
    """Wrap every probed name where a module imported it; returns "module.name" of each wrapped one."""
    wrapped = []
    for module_name, names in PROBED.items():
        module = importlib.import_module(module_name)
        for name in names:
            if hasattr(module, name):
                setattr(module, name, PROBE.wrap(getattr(module, name)))
                wrapped.append(f"{module_name}.{name}")
    wire = importlib.import_module("payments.channels.alipay_wire")
    _SIGNERS["openssl"] = wire.rsa2_sign
    _SIGNERS["sdk"] = PROBE.wrap(_sdk_rsa2_sign)
    return wrapped


def use_signer(kind: str) -> None:
    """The Alipay request signer createPayment uses: OpenSSL (ours) or the SDK's pure-Python RSA (control)."""
    setattr(importlib.import_module("payments.channels.alipay_wire"), "rsa2_sign", _SIGNERS[kind])  # noqa: B010


@functools.cache
def _pkcs1_pem(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    raw: bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return raw.decode("ascii")


def _sdk_rsa2_sign(key: Any, content: str) -> str:
    """What payments.md §5.6 forbids on the loop: the SDK's pure-Python RSA (the same signature, 24–39 ms)."""
    from alipay.aop.api.util.SignatureUtils import sign_with_rsa2

    signed: str = sign_with_rsa2(_pkcs1_pem(key), content, "utf-8")
    return signed


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def bare_routes(prefix: str, services: Callable[[], Services]) -> list[BaseRoute]:
    from api.models.payment import Bill, BillKind, BillStatus, Channel, PaymentOrder, Product
    from payments import service
    from payments.service import records

    async def bills(request: Request) -> Response:
        """Set-up: `count` unpaid bills of the caller, inserted in one statement."""
        claims = await _claims(request, services())
        count = int(orjson.loads(await request.body())["count"])
        now = services().clock.now()
        rows = [
            Bill(
                id=uuid.uuid4(),
                bill_no=records.new_bill_no(now),
                kind=BillKind.FINE,
                person_id=claims.subject,
                issuer="压测交警支队",
                issuer_code="",
                subject="交通违法罚款（压测）",
                lines=[],
                amount_fen=BILL_FEN,
                min_assurance=2,
                status=BillStatus.UNPAID,
            )
            for _ in range(count)
        ]
        await Bill.bulk_create(rows, batch_size=1000)
        return _json({"billIds": [str(row.id) for row in rows]})

    async def create(request: Request) -> Response:
        """The baseline of createPayment: the same token check and service call, the order as JSON."""
        try:
            claims = await _claims(request, services())
            data = orjson.loads(await request.body())
            deps = services().payments
            order = await service.create_payment(
                deps,
                claims,
                bill_id=uuid.UUID(data["billId"]),
                channel=Channel(data["channel"]),
                product=Product(data["product"]),
                idempotency_key=data["idempotencyKey"],
                client_ip=request.client.host if request.client else None,
            )
        except AppError as exc:
            return _json({"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]}, 400)
        cashier = deps.cashier_url(order) if deps.cashier_url is not None else None
        body = {
            "__typename": "PaymentOrder",
            "id": str(order.id),
            "status": order.status.value,
            "outTradeNo": order.out_trade_no,
            "amountFen": str(order.amount_fen),
            "sandboxCashierUrl": cashier,
            "payload": order.prepay_payload,
        }
        return _json({"data": {"createPayment": body}})

    async def probe(request: Request) -> Response:
        """The signing CPU since the last read (and which thread is the event loop's: this one)."""
        PROBE.loop_thread = threading.get_ident()
        if request.method == "POST":
            use_signer(orjson.loads(await request.body())["signer"])
        seconds, calls = PROBE.take()
        return _json({"cpuMs": seconds * 1000, "calls": calls})

    async def notifies(request: Request) -> Response:
        """Set-up: up to `count` PAYING orders of a channel paid at its sandbox; their signed notifies as the
        sandbox would post them (held back, never sent)."""
        data = orjson.loads(await request.body())
        channel = Channel(data["channel"])
        harness = services().payments_sandbox
        assert harness is not None, "the bench server runs with APP_SANDBOX"
        sandbox = harness.alipay if channel is Channel.ALIPAY else harness.wechat
        orders = await PaymentOrder.filter(channel=channel, status="PAYING").limit(int(data["count"]))
        found = []
        for order in orders:
            if sandbox.trade(order.out_trade_no) is None:
                continue
            sandbox.drop_notifies(order.out_trade_no)
            await sandbox.pay(order.out_trade_no, notify=True)
            delivery = sandbox.deliveries[-1]
            assert delivery.key == order.out_trade_no
            found.append({"headers": delivery.headers, "body": base64.b64encode(delivery.body).decode("ascii")})
        return _json({"notifies": found})

    async def verify_only(request: Request) -> Response:
        """The notify baseline: read and verify through the channel adapter, acknowledge; no database."""
        adapter = services().payments.channel(Channel(request.path_params["channel"].upper()))
        assert adapter is not None
        fact = adapter.parse_notify(request.headers, await request.body())
        return adapter.ack(True) if fact is not None else adapter.reject()

    return [
        Route(f"{prefix}/payments/bills", bills, methods=["POST"]),
        Route(f"{prefix}/payments/create", create, methods=["POST"]),
        Route(f"{prefix}/payments/probe", probe, methods=["GET", "POST"]),
        Route(f"{prefix}/payments/notifies", notifies, methods=["POST"]),
        Route(f"{prefix}/pay/notify/{{channel}}", verify_only, methods=["POST"]),
    ]


def build(settings: Settings) -> ASGIApp:
    return build_with(settings, bare_routes)


def _announce_probe() -> None:
    wrapped = install_probe()
    print(f"signing probe on: {', '.join(wrapped)}", flush=True)


def serve() -> None:
    serve_with(bare_routes, before_start=_announce_probe)


if __name__ == "__main__":
    serve()
