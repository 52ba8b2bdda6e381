"""Alipay trade methods for the project's one Alipay sandbox gateway (payments.md §14), plus their test harness.

The gateway (api.platforms.sandbox.alipay) verifies our request signatures and signs every answer. Here the trade
methods are registered (answered by `alipay_book.TradeBook`), scripted per test, and followed by signed notifies
posted under the sandbox's own clock; the cashier pages, bill files and `_control` routes are `alipay_pages`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.responses import JSONResponse, Response

from api.kit.clock import Clock
from api.models.payment import Product
from api.platforms.alipay.response import node_name
from api.platforms.alipay.rsa2 import rsa2_sign, rsa2_verify, sign_content
from api.platforms.sandbox import AlipayGatewayError, AlipayMethodCall, RecordedRequest
from api.platforms.sandbox.alipay import AlipaySandbox
from payments.channels.base import BillLine
from payments.sandbox import alipay_pages
from payments.sandbox.alipay_book import TradeBook
from payments.sandbox.alipay_trades import (
    APP_PAY,
    BILL_URL,
    CLOSE,
    CREATE,
    PRECREATE,
    QUERY,
    REFUND,
    REFUND_QUERY,
    TRADE_METHODS,
    WAP_PAY,
    SandboxRefund,
    SandboxTrade,
    TradeStatus,
    biz_of,
    notify_fields,
    notify_sign_content,
)
from payments.sandbox.notifier import ALIPAY_RETRIES, Delivery, NotifySender

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
log = logging.getLogger("zsb.sandbox.alipay")
MethodHandler = Callable[[AlipayMethodCall], Awaitable[dict[str, Any] | Response]]


@dataclass
class OperationScript:
    operation: str
    delay_s: float | None
    http_status: int | None
    mis_sign: bool
    perform_anyway: bool
    remaining: int | None  # None: until reset

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "delayS": self.delay_s,
            "httpStatus": self.http_status,
            "misSign": self.mis_sign,
            "performAnyway": self.perform_anyway,
            "times": self.remaining,
        }


def _alipay_accepts(status: int, body: str) -> bool:
    return body == "success"  # Alipay retries on anything else, whatever the HTTP status


class AlipayTradeSandbox:
    """Trades of one app (`app_id`, collecting for `seller_id`) at the shared sandbox gateway."""

    def __init__(
        self,
        gateway: AlipaySandbox,
        *,
        app_id: str,
        seller_id: str,
        clock: Clock,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.gateway = gateway
        self.app_id = app_id
        self.seller_id = seller_id
        self.clock = clock
        self.base_url = gateway.base_url
        self._owned_http: httpx.AsyncClient | None = None
        self._notifier = NotifySender(clock, ALIPAY_RETRIES, _alipay_accepts, http)
        self._scripts: list[OperationScript] = []
        self.book = TradeBook(seller_id=seller_id, clock=clock, base_url=self.base_url, on_refund=self._notify)
        self._installed = False
        if http is None:
            self._owned_http = httpx.AsyncClient(timeout=10.0)
            self._notifier.bind(self._owned_http)

    def install(self) -> None:
        """Register the trade methods with the gateway and serve the cashier, bill files and `_control` routes."""
        if self._installed:
            raise RuntimeError("the Alipay trade sandbox is already installed")
        handlers: dict[str, MethodHandler] = {
            WAP_PAY: self._wap_pay,
            CREATE: self.book.create,
            PRECREATE: self.book.precreate,
            QUERY: self.book.query,
            CLOSE: self.book.close,
            REFUND: self.book.refund,
            REFUND_QUERY: self.book.refund_query,
            BILL_URL: self.book.bill_url,
        }
        for method, handler in handlers.items():
            self.gateway.register_method(method, self._scripted(handler))
        self.gateway.add_routes(alipay_pages.routes(self))
        self._installed = True

    async def aclose(self) -> None:
        if self._owned_http is not None:
            await self._owned_http.aclose()

    # -- harness --

    def trade(self, out_trade_no: str) -> SandboxTrade | None:
        return self.book.trades.get(out_trade_no)

    def trades(self) -> list[SandboxTrade]:
        return list(self.book.trades.values())

    async def pay(self, out_trade_no: str, amount_fen: int | None = None, notify: bool = True) -> SandboxTrade:
        """The payer pays (through the cashier, opened if it was not). `amount_fen` makes Alipay's facts say
        another amount; `notify=False` is a lost notify. Returns once the first notify post has been answered."""
        trade = self.book.trades.get(out_trade_no)
        if trade is None:
            raise KeyError(
                f"the sandbox has not seen {out_trade_no}: app and wap orders become known when their cashier URL "
                "is made (cashier_url) or opened (open_order)"
            )
        if amount_fen is not None and (type(amount_fen) is not int or amount_fen <= 0):
            raise ValueError("amount_fen must be a positive int")
        self.book.complete(trade, amount_fen)
        if notify:
            self._notify(trade)
            await self.settle()
        return trade

    async def close_trade(self, out_trade_no: str) -> SandboxTrade:
        """Close an unpaid trade at Alipay's side (the payer gave up, or Alipay timed it out). No notify."""
        trade = self.book.trades.get(out_trade_no)
        if trade is None:
            raise KeyError(f"no trade {out_trade_no}")
        trade.expire(self.clock.now())
        if trade.status is not TradeStatus.WAIT_BUYER_PAY:
            raise ValueError(f"trade {out_trade_no} is {trade.status}")
        trade.status, trade.closed_at = TradeStatus.TRADE_CLOSED, self.clock.now()
        return trade

    def drop_notifies(self, out_trade_no: str) -> None:
        self._notifier.drop(out_trade_no)

    async def deliver_pending(self) -> list[Delivery]:
        return await self._notifier.deliver_pending()

    async def redeliver(self, delivery_id: int, concurrency: int = 1) -> Delivery:
        await self._notifier.redeliver(delivery_id, concurrency)
        return self._notifier.get(delivery_id)

    def notify_fields(self, out_trade_no: str, **overrides: str) -> dict[str, str]:
        """A notify about a trade in its current state (fresh notify_id), for a test to alter and send."""
        trade = self.book.trades.get(out_trade_no)
        if trade is None:
            raise KeyError(f"no trade {out_trade_no}")
        return notify_fields(trade, seller_id=self.seller_id, now=self.clock.now()) | overrides

    async def send_notify(
        self, fields: dict[str, str], sign_with: rsa.RSAPrivateKey | None = None, *, url: str | None = None
    ) -> Delivery:
        """Post `fields` as a notify, signed with the gateway's Alipay key, or with `sign_with` (a forgery).

        Fields that already carry `sign` are posted as they are. The URL is the trade's notify URL by default.
        """
        fields = dict(fields)
        if "sign" not in fields:
            fields.setdefault("sign_type", "RSA2")
            content = notify_sign_content(fields)
            fields["sign"] = rsa2_sign(sign_with, content) if sign_with is not None else self.gateway.sign(content)
        out_trade_no = fields.get("out_trade_no", "")
        trade = self.book.trades.get(out_trade_no)
        target = url or (trade.notify_url if trade else None)
        if not target:
            raise ValueError("no notify URL: pass url=, or name a trade that has one")
        delivery = self._notifier.queue(out_trade_no, target, {"Content-Type": FORM_CONTENT_TYPE}, _form(fields))
        await self.settle()
        return delivery

    def script(
        self,
        operation: str,
        *,
        delay_s: float | None = None,
        http_status: int | None = None,
        mis_sign: bool = False,
        perform_anyway: bool = False,
        times: int | None = 1,
    ) -> None:
        """Break the answer to the next `times` calls of a method (None: until reset).

        `delay_s` holds the answer back; `http_status` answers that status instead; `mis_sign` signs the answer
        over other content. The operation takes effect unless an HTTP status is scripted, or always with
        `perform_anyway` (then at once, before the delay: Alipay did it, only the answer is late or lost).
        """
        if operation not in TRADE_METHODS or operation == APP_PAY:
            raise ValueError(f"not a scriptable trade method: {operation!r}")
        if delay_s is not None and (isinstance(delay_s, bool) or not isinstance(delay_s, int | float) or delay_s < 0):
            raise ValueError("delay_s must be a non-negative number of seconds")
        if http_status is not None and (type(http_status) is not int or not 100 <= http_status <= 599):
            raise ValueError("http_status must be an HTTP status")
        if times is not None and (type(times) is not int or times < 1):
            raise ValueError("times must be a positive integer or None")
        script = OperationScript(operation, delay_s, http_status, bool(mis_sign), bool(perform_anyway), times)
        self._scripts.append(script)

    def scripts(self) -> list[OperationScript]:
        return list(self._scripts)

    def clear_scripts(self) -> None:
        self._scripts.clear()

    def set_bill(self, bill_date: date, lines: Sequence[BillLine]) -> None:
        """Replace what the bill of `bill_date` says (to stage a reconciliation difference)."""
        self.book.bills[bill_date] = tuple(lines)

    def requests(self, method: str | None = None, *, out_trade_no: str | None = None) -> list[RecordedRequest]:
        """Gateway calls received (failed signature checks included), optionally of one method or trade."""
        found = []
        for recorded in self.gateway.requests():
            fields = {**recorded.query, **(recorded.body if isinstance(recorded.body, dict) else {})}
            if method is not None and fields.get("method") != method:
                continue
            if out_trade_no is not None and _biz_field(fields, "out_trade_no") != out_trade_no:
                continue
            found.append(recorded)
        return found

    async def settle(self) -> None:
        """Wait for the notify posts already started."""
        await self._notifier.settle()

    @property
    def deliveries(self) -> list[Delivery]:
        return list(self._notifier.deliveries)

    def reset(self) -> None:
        """Forget trades, scripts, bills and deliveries (the gateway's own request log is the hub's to reset)."""
        self.book.reset()
        self._scripts.clear()
        self._notifier.reset()

    # -- the cashier, for the composition root and the pages --

    def cashier_url(self, product: Product | str, out_trade_no: str, payload: dict[str, Any]) -> str | None:
        """The sandbox cashier page of an order. For app and wap orders the sandbox also learns the order here,
        as if the phone had been handed it: `pay(out_trade_no)` then works (the trade still answers
        ACQ.TRADE_NOT_EXIST to queries until it is opened or paid)."""
        product = Product(product)
        if product is Product.APP and isinstance(payload.get("orderString"), str):
            self._learn(payload["orderString"])
            return f"{self.base_url}/cashier?order_string={quote(payload['orderString'], safe='')}"
        if product in (Product.WAP, Product.H5) and isinstance(payload.get("url"), str):
            self._learn(payload["url"])
            return str(payload["url"])
        if product in (Product.JSAPI, Product.NATIVE):
            return f"{self.base_url}/cashier/{quote(out_trade_no, safe='')}"
        return None

    def _learn(self, order: str) -> None:
        try:
            self.open_order(order, open_cashier=False)
        except ValueError as exc:
            # Still a page to show: it explains the refusal, as the real cashier would.
            log.warning("the sandbox cannot take an order it is shown: %s", exc)

    def open_order(self, order: str, *, open_cashier: bool = True) -> SandboxTrade:
        """An app order string or a wap URL whose signature checks out: the trade it describes (opened when the
        payer opens the cashier). Raises ValueError for anything we did not sign."""
        query = urlsplit(order).query if order.startswith(("http://", "https://")) else order
        pairs = parse_qsl(query, keep_blank_values=True)
        params = dict(pairs)
        method = params.get("method")
        if len(params) != len(pairs) or method not in (APP_PAY, WAP_PAY):
            raise ValueError("not an app order string or a wap pay URL")
        app_key = self.gateway.app_key(params.get("app_id", ""))
        if params.get("app_id") != self.app_id or app_key is None:
            raise ValueError("the order is not for this sandbox's app")
        if params.get("sign_type") != "RSA2" or not rsa2_verify(app_key, sign_content(params), params.get("sign", "")):
            raise ValueError("the order's signature does not verify against the app's registered key")
        try:
            trade = self.book.offer(method, self.app_id, params, biz_of(params))
        except AlipayGatewayError as exc:
            raise ValueError(str(exc)) from exc
        if open_cashier:
            trade.opened = True
        return trade

    def complete_from_cashier(self, trade: SandboxTrade) -> None:
        """支付 on the cashier page: paid at once and notified at once (the page does not wait for the merchant)."""
        self.book.complete(trade, None)
        self._notify(trade)

    def bill_file(self, token: str) -> bytes | None:
        return self.book.bill_files.get(token)

    # -- trade methods --

    def _scripted(self, handler: MethodHandler) -> MethodHandler:
        async def run(call: AlipayMethodCall) -> dict[str, Any] | Response:
            if call.app_id != self.app_id:
                raise AlipayGatewayError(
                    "40006", "Insufficient Permissions", "isv.insufficient-isv-permissions", "ISV权限不足"
                )
            script = self._take_script(call.method)
            if script is None:
                return await handler(call)
            performs = script.http_status is None or script.perform_anyway
            outcome = await _attempt(handler, call) if performs and script.perform_anyway else None
            if script.delay_s:
                await asyncio.sleep(script.delay_s)
            if performs and outcome is None:
                outcome = await _attempt(handler, call)
            if script.http_status is not None or outcome is None:
                return JSONResponse({"error": "scripted failure"}, status_code=script.http_status or 500)
            name, node = outcome
            if isinstance(node, Response):
                return node
            return await self.gateway.reply(name, node, corrupt=script.mis_sign)

        return run

    def _take_script(self, method: str) -> OperationScript | None:
        for script in self._scripts:
            if script.operation == method:
                if script.remaining is not None:
                    script.remaining -= 1
                    if script.remaining == 0:
                        self._scripts.remove(script)
                return script
        return None

    async def _wap_pay(self, call: AlipayMethodCall) -> Response:
        # A page method: the browser arrives with the signed URL; the gateway has checked its signature.
        try:
            trade = self.book.offer(WAP_PAY, call.app_id, call.params, biz_of(call.params))
        except AlipayGatewayError as refusal:
            return alipay_pages.error_page(refusal.node.get("sub_msg", "参数错误"))
        trade.opened = True
        return alipay_pages.cashier_page(self, trade)

    def _notify(self, trade: SandboxTrade, refund: SandboxRefund | None = None) -> Delivery | None:
        if not trade.notify_url:
            return None  # no notify_url in the order: Alipay notifies nobody
        fields = notify_fields(trade, seller_id=self.seller_id, now=self.clock.now(), refund=refund)
        fields["sign"] = self.gateway.sign(notify_sign_content(fields))
        headers = {"Content-Type": FORM_CONTENT_TYPE}
        return self._notifier.queue(trade.out_trade_no, trade.notify_url, headers, _form(fields))


async def _attempt(handler: MethodHandler, call: AlipayMethodCall) -> tuple[str, dict[str, Any] | Response]:
    try:
        return node_name(call.method), await handler(call)
    except AlipayGatewayError as refusal:
        return "error_response", refusal.node


def _form(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode("utf-8")


def _biz_field(fields: dict[str, Any], name: str) -> Any:
    biz = fields.get("biz_content")
    if isinstance(biz, str):
        try:
            biz = biz_of({"biz_content": biz})
        except AlipayGatewayError:
            return None
    return biz.get(name) if isinstance(biz, dict) else None
