"""The world the payments state machine acts on: the live server, its payment sandboxes and the payments service.

Every method is a coroutine run on the test's event loop (the loop that also serves the live server); the
machine, which hypothesis drives synchronously from a worker thread, calls them through `World.run`.

Notifies are held back: every trade the machine makes has its notifies dropped at the sandbox as soon as it exists,
so nothing reaches our notify route unless the machine delivers it (`deliver`, any order, any number of times, two
at once) or forges one (`forge`, posted straight to the route).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from api.identity.tokens import AccessClaims
from api.models.payment import Bill, BillKind, Channel, PaymentOrder, Product, Refund
from api.payments_root import PaymentsHarness
from payments import service, tasks
from payments.deps import PaymentsDeps
from payments.errors import PaymentsError
from payments.sandbox.alipay_trade import AlipayTradeSandbox
from payments.sandbox.notifier import Delivery
from payments.sandbox.wechat_crypto import encrypt_resource, generate_key
from payments.sandbox.wechat_gateway import WechatPaySandbox
from payments.sandbox.wechat_state import TradeStateError
from tests.support.client import LiveServer

T = TypeVar("T")

FINANCE = "finance:state-machine"
FORGERIES = ("other_key", "altered_amount", "foreign_app", "wrong_serial", "probe")
NOTIFY_PATH = {Channel.ALIPAY: "/pay/notify/alipay", Channel.WECHAT: "/pay/notify/wechat"}


class At:
    """The clock a job runs by: one fixed moment."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


class InjectedCrash(RuntimeError):
    """The process 'dies' here: raised between a committed state change and its side effect."""


@dataclass(frozen=True)
class Posted:
    """What our notify route answered to one post."""

    status: int | None
    body: str

    def acknowledged(self, channel: Channel) -> bool:
        if self.status is None:
            return False
        return self.body == "success" if channel is Channel.ALIPAY else 200 <= self.status < 300

    def rejected(self, channel: Channel) -> bool:
        """The answer to an unverifiable notify: Alipay anything but success, WeChat 401 {"code":"FAIL"}."""
        if channel is Channel.ALIPAY:
            return self.status == 200 and self.body != "success"
        return self.status == 401 and json.loads(self.body or "{}").get("code") == "FAIL"


@dataclass(frozen=True)
class Notice:
    """A signed notify the sandbox made for one of the machine's trades (held back until delivered)."""

    channel: Channel
    delivery_id: int
    out_trade_no: str
    kind: str  # "pay" | "refund"
    amount_fen: int | None  # what a pay notify says was paid


@dataclass
class World:
    live: LiveServer
    deps: PaymentsDeps
    harness: PaymentsHarness
    http: httpx.AsyncClient
    loop: asyncio.AbstractEventLoop
    claims: dict[int, AccessClaims]
    other_key: rsa.RSAPrivateKey
    trades: set[str] = dataclasses.field(default_factory=set)  # every out_trade_no the machine has made
    seen: set[tuple[Channel, int]] = dataclasses.field(default_factory=set)  # deliveries looked at already

    # -- plumbing --

    def run(self, step: Awaitable[T], timeout: float = 60.0) -> T:
        """Run a coroutine (or a query) on the test's loop from the machine's thread and wait for it."""
        return asyncio.run_coroutine_threadsafe(_coroutine(step), self.loop).result(timeout)

    def now(self) -> datetime:
        return self.live.clock.now()

    def deps_at(self, moment: datetime) -> PaymentsDeps:
        return dataclasses.replace(self.deps, clock=At(moment))

    def ctx(self, moment: datetime) -> dict[str, Any]:
        return {"payments": self.deps, "clock": At(moment)}

    def payer_of(self, subject: uuid.UUID) -> AccessClaims:
        return next(c for c in self.claims.values() if c.subject == subject)

    # -- bills and orders --

    async def new_bill(self, payer: int, amount_fen: int) -> Bill:
        return await service.create_bill(
            kind=BillKind.FINE,
            person_id=self.claims[payer].subject,
            enterprise_id=None,
            issuer="云溪市公安局交通警察支队",
            issuer_code="",
            subject="交通违法罚款（状态机）",
            amount_fen=amount_fen,
            lines=[],
            due_at=None,
            now=self.now(),
        )

    async def create(
        self, payer: AccessClaims, bill_id: uuid.UUID, channel: Channel, product: Product, key: str
    ) -> PaymentOrder | PaymentsError:
        try:
            order = await service.create_payment(
                self.deps, payer, bill_id=bill_id, channel=channel, product=product, idempotency_key=key
            )
        except PaymentsError as exc:
            return exc
        self.hold(order)
        return order

    def hold(self, order: PaymentOrder) -> None:
        """Drop the trade's notifies at its sandbox (held for `deliver`) and, as the GraphQL answer does, make the
        sandbox cashier URL, which is how the Alipay sandbox learns an app or wap order."""
        if order.out_trade_no not in self.trades:
            self.trades.add(order.out_trade_no)
            self.sandbox(order.channel).drop_notifies(order.out_trade_no)
        if self.deps.cashier_url is not None:
            self.deps.cashier_url(order)

    def sandbox(self, channel: Channel) -> AlipayTradeSandbox | WechatPaySandbox:
        return self.harness.alipay if channel is Channel.ALIPAY else self.harness.wechat

    async def pay(self, order: PaymentOrder, amount_fen: int | None) -> bool:
        """The payer pays the trade at the channel (its notify queued, held back). False: the channel refuses."""
        try:
            await self.sandbox(order.channel).pay(order.out_trade_no, amount_fen=amount_fen, notify=True)
        except (KeyError, ValueError, TradeStateError):
            return False
        return True

    def payable(self, order: PaymentOrder) -> bool:
        """The channel would take the payer's money for the trade now."""
        if order.channel is Channel.ALIPAY:
            trade = self.harness.alipay.trade(order.out_trade_no)
            if trade is None:
                return False
            trade.expire(self.harness.clock.now())
            return trade.status.value == "WAIT_BUYER_PAY"
        wx = self.harness.wechat.trade(order.out_trade_no)
        return wx is not None and wx.state == "NOTPAY" and not wx.expired(self.harness.clock.now())

    def sandbox_paid(self, order: PaymentOrder) -> int | None:
        """What the channel holds as paid for the trade, or None."""
        if order.channel is Channel.ALIPAY:
            trade = self.harness.alipay.trade(order.out_trade_no)
            return trade.amount_fen if trade is not None and trade.paid else None
        wx = self.harness.wechat.trade(order.out_trade_no)
        if wx is None or not wx.paid:
            return None
        return wx.paid_fen if wx.paid_fen is not None else wx.amount_fen

    def sandbox_refunds(self, order: PaymentOrder) -> dict[str, int]:
        """out_refund_no → amount of every refund the channel made on the trade."""
        if order.channel is Channel.ALIPAY:
            trade = self.harness.alipay.trade(order.out_trade_no)
            return {no: r.amount_fen for no, r in trade.refunds.items()} if trade is not None else {}
        return {
            no: r.amount_fen
            for no, r in self.harness.wechat.refunds().items()
            if r.trade.out_trade_no == order.out_trade_no and r.status == "SUCCESS"
        }

    async def quiesce(self) -> None:
        """Wait for what the sandboxes finish after answering (a WeChat refund completing, its notify queued), so
        that every step ends in the same state whenever it is replayed."""
        for _ in range(200):
            if not any(r.status == "PROCESSING" for r in self.harness.wechat.refunds().values()):
                return
            await asyncio.sleep(0.01)
        raise AssertionError("WeChat sandbox refunds still PROCESSING")

    # -- notifies --

    def new_notices(self) -> list[Notice]:
        """Signed notifies the sandboxes made for the machine's trades since the last look."""
        found = []
        for channel in Channel:
            for delivery in self.sandbox(channel).deliveries:
                if (channel, delivery.id) in self.seen:
                    continue
                self.seen.add((channel, delivery.id))
                if delivery.key in self.trades:
                    found.append(_notice(channel, delivery))
        return found

    def delivery(self, notice: Notice) -> Delivery:
        return next(d for d in self.sandbox(notice.channel).deliveries if d.id == notice.delivery_id)

    async def deliver(self, notice: Notice, concurrency: int) -> list[Posted]:
        """The channel posts the notify (again), `concurrency` times at once."""
        delivery = self.delivery(notice)
        before = len(delivery.attempts)
        await self.sandbox(notice.channel).redeliver(notice.delivery_id, concurrency)
        return [Posted(a.status, a.body) for a in delivery.attempts[before:]]

    async def forge(self, order: PaymentOrder, kind: str) -> Posted:
        """A notify claiming the trade was paid in full that our route must not believe, posted straight to it."""
        if order.channel is Channel.ALIPAY:
            headers, body = await self._forged_alipay(order, kind)
        else:
            headers, body = await self._forged_wechat(order, kind)
        self.seen.update((order.channel, d.id) for d in self.sandbox(order.channel).deliveries)
        response = await self.http.post(NOTIFY_PATH[order.channel], content=body, headers=headers)
        return Posted(response.status_code, response.text)

    async def _forged_alipay(self, order: PaymentOrder, kind: str) -> tuple[dict[str, str], bytes]:
        alipay = self.harness.alipay
        fields = alipay.notify_fields(
            order.out_trade_no, trade_status="TRADE_SUCCESS", gmt_payment=_beijing(self.now())
        )
        if kind == "foreign_app":
            fields["app_id"] = "2021000000009999"  # signed by Alipay, but for another app: not ours to act on
        # The trade's notifies are held back, so this one is queued, signed and never posted by the sandbox.
        delivery = await alipay.send_notify(fields, sign_with=self.other_key if kind == "other_key" else None)
        body = delivery.body
        if kind == "altered_amount":
            signed = dict(parse_qsl(body.decode(), keep_blank_values=True))
            signed["total_amount"] = f"{order.amount_fen // 100 + 1}.{order.amount_fen % 100:02d}"
            body = urlencode(signed).encode()
        return delivery.headers, body

    async def _forged_wechat(self, order: PaymentOrder, kind: str) -> tuple[dict[str, str], bytes]:
        wechat = self.harness.wechat
        resource = _paid_resource(wechat.transaction_resource(order.out_trade_no), order.amount_fen, self.now())
        headers: dict[str, str | None] = {}
        if kind == "wrong_serial":
            headers["Wechatpay-Serial"] = "PUB_KEY_ID_0100000000000000000000000000000000"
        elif kind == "probe":
            headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + "A" * 340
        event = {"event_type": "TRANSACTION.SUCCESS", "summary": "支付成功", "resource": resource}
        sign_with = self.other_key if kind in ("other_key", "foreign_app") else None
        delivery = await wechat.send_notify(event, sign_with=sign_with, headers=headers)
        body = delivery.body
        if kind == "altered_amount":
            envelope = json.loads(body)
            altered = resource | {"amount": resource["amount"] | {"total": order.amount_fen + 100}}
            plain = json.dumps(altered, ensure_ascii=False, separators=(",", ":"))
            envelope["resource"] = encrypt_resource(wechat.apiv3_key, plain, "transaction", "transaction")
            body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        return delivery.headers, body

    # -- queries, closes, refunds --

    async def confirm(self, order: PaymentOrder, moment: datetime) -> PaymentOrder:
        return await service.confirm_payment(self.deps_at(moment), self.payer_of(order.payer_id), order.id)

    async def cancel(self, order: PaymentOrder) -> PaymentOrder | PaymentsError:
        try:
            return await service.cancel_payment(self.deps, self.payer_of(order.payer_id), order.id)
        except PaymentsError as exc:
            return exc

    async def poll_orders(self, moment: datetime) -> int:
        return await tasks.poll_orders(self.ctx(moment))

    async def sweep_expired(self, moment: datetime) -> int:
        return await tasks.sweep_expired(self.ctx(moment))

    async def poll_refunds(self, moment: datetime) -> int:
        return await tasks.poll_refunds(self.ctx(moment))

    async def refund(self, order_id: uuid.UUID, amount_fen: int, expected: int, key: str) -> Refund | PaymentsError:
        try:
            return await service.request_refund(
                self.deps,
                requested_by=FINANCE,
                order_id=order_id,
                amount_fen=amount_fen,
                reason="状态机退款",
                expected_available_fen=expected,
                idempotency_key=key,
            )
        except PaymentsError as exc:
            return exc

    # -- scripted channel trouble --

    def script_failure(self, channel: Channel, operation: str) -> None:
        """The channel's next answer to `operation` is lost (HTTP 500) although it did what was asked."""
        if channel is Channel.ALIPAY:
            self.harness.alipay.script(f"alipay.trade.{operation}", http_status=500, perform_anyway=True)
        else:
            self.harness.wechat.script(operation, http_status=500, perform_anyway=True)

    def clear_scripts(self) -> None:
        self.harness.alipay.clear_scripts()
        self.harness.wechat.clear_scripts()


@contextmanager
def patched(owner: object, name: str, make: Callable[[Any], Any]) -> Iterator[None]:
    """Replace `owner.name` by `make(original)` for the block (a module attribute looked up at call time)."""
    original = getattr(owner, name)
    setattr(owner, name, make(original))
    try:
        yield
    finally:
        setattr(owner, name, original)


def crash_after(original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """The original runs (and commits), then the process dies before what should follow."""

    async def run(*args: Any, **kwargs: Any) -> Any:
        await original(*args, **kwargs)
        raise InjectedCrash("the process died after the commit")

    return run


def crash_instead(_original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """The process dies in the middle of the transaction: nothing of it may be kept."""

    async def run(*_args: Any, **_kwargs: Any) -> Any:
        raise InjectedCrash("the process died inside the transaction")

    return run


async def _coroutine(step: Awaitable[T]) -> T:
    return await step


def _notice(channel: Channel, delivery: Delivery) -> Notice:
    if channel is Channel.ALIPAY:
        fields = dict(parse_qsl(delivery.body.decode(), keep_blank_values=True))
        refund = "out_biz_no" in fields or "gmt_refund" in fields
        amount = None if refund else _fen(fields.get("total_amount", ""))
        return Notice(channel, delivery.id, delivery.key, "refund" if refund else "pay", amount)
    envelope = json.loads(delivery.body)
    kind = "refund" if str(envelope.get("event_type", "")).startswith("REFUND.") else "pay"
    return Notice(channel, delivery.id, delivery.key, kind, None)


def _fen(yuan: str) -> int | None:
    whole, _, cents = yuan.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2]) if whole.isdigit() else None


def _beijing(moment: datetime) -> str:
    from api.kit.clock import SHANGHAI

    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _paid_resource(resource: dict[str, Any], amount_fen: int, now: datetime) -> dict[str, Any]:
    """A SUCCESS transaction resource for the trade, as WeChat would send it had the payer paid it in full."""
    from api.kit.clock import SHANGHAI

    return resource | {
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "transaction_id": "4200000000" + now.strftime("%Y%m%d") + "0000000000",
        "bank_type": "OTHERS",
        "success_time": now.astimezone(SHANGHAI).isoformat(timespec="seconds"),
        "payer": {"openid": "o" + "x" * 27},
        "amount": {"total": amount_fen, "payer_total": amount_fen, "currency": "CNY", "payer_currency": "CNY"},
    }


def other_key() -> rsa.RSAPrivateKey:
    """A key that is neither the channel's nor ours: what a forger signs with."""
    return generate_key()
