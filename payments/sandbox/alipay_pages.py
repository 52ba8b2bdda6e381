"""The Alipay trade sandbox over HTTP: the cashier pages, the bill files and the JSON `_control` harness.

Served from the shared Alipay gateway's app (`<hub>/alipay/...`), next to its `/gateway.do`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from html import escape
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from payments.channels.base import BillLine
from payments.sandbox.alipay_trades import SandboxTrade, TradeStatus
from payments.sandbox.cashier import render_cashier

if TYPE_CHECKING:
    from payments.sandbox.alipay_trade import AlipayTradeSandbox

_STATES = {
    TradeStatus.TRADE_SUCCESS: "该交易已支付",
    TradeStatus.TRADE_FINISHED: "该交易已支付",
    TradeStatus.TRADE_CLOSED: "交易已关闭",
}


def cashier_page(
    sandbox: AlipayTradeSandbox, trade: SandboxTrade, state: str | None = None, *, paid_now: bool = False
) -> HTMLResponse:
    base = f"{sandbox.base_url}/cashier/{trade.out_trade_no}"
    html = render_cashier(
        channel="支付宝",
        payee=f"商户 {sandbox.seller_id}",
        subject=trade.subject,
        amount_fen=trade.amount_fen,
        pay_action=f"{base}/pay",
        cancel_action=f"{base}/cancel",
        state=_STATES.get(trade.status, "") if state is None else state,
        return_url=trade.return_url if paid_now else None,
    )
    return HTMLResponse(html)


def error_page(message: str, status: int = 400) -> HTMLResponse:
    # Alipay shows its own error page, never the merchant's; a plain one says the same here.
    head = '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>支付宝</title>'
    body = f'{head}<p class="error">{escape(message)}</p>'
    return HTMLResponse(body, status_code=status)


def routes(sandbox: AlipayTradeSandbox) -> list[BaseRoute]:
    async def cashier_by_order_string(request: Request) -> Response:
        order_string = request.query_params.get("order_string", "")
        try:
            trade = sandbox.open_order(order_string)
        except ValueError as exc:
            return error_page(str(exc))
        return cashier_page(sandbox, trade)

    async def cashier(request: Request) -> Response:
        trade = sandbox.trade(request.path_params["out_trade_no"])
        if trade is None:
            return error_page("交易不存在", 404)
        trade.expire(sandbox.clock.now())
        trade.opened = True
        return cashier_page(sandbox, trade)

    async def cashier_pay(request: Request) -> Response:
        trade = sandbox.trade(request.path_params["out_trade_no"])
        if trade is None:
            return error_page("交易不存在", 404)
        try:
            sandbox.complete_from_cashier(trade)
        except ValueError:
            return cashier_page(sandbox, trade)
        return cashier_page(sandbox, trade, "支付成功", paid_now=True)

    async def cashier_cancel(request: Request) -> Response:
        trade = sandbox.trade(request.path_params["out_trade_no"])
        if trade is None:
            return error_page("交易不存在", 404)
        try:
            await sandbox.close_trade(trade.out_trade_no)
        except ValueError:
            return cashier_page(sandbox, trade)
        return cashier_page(sandbox, trade, "已取消，交易关闭")

    async def bill_file(request: Request) -> Response:
        data = sandbox.bill_file(request.path_params["token"])
        if data is None:
            return Response("账单链接已失效", status_code=404, media_type="text/plain; charset=utf-8")
        return Response(data, media_type="application/zip")

    control = _Control(sandbox)
    return [
        Route("/cashier", cashier_by_order_string, methods=["GET"]),
        Route("/cashier/{out_trade_no}", cashier, methods=["GET"]),
        Route("/cashier/{out_trade_no}/pay", cashier_pay, methods=["POST"]),
        Route("/cashier/{out_trade_no}/cancel", cashier_cancel, methods=["POST"]),
        Route("/bills/{token}", bill_file, methods=["GET"]),
        Route("/_control/script", control.script, methods=["GET", "POST", "DELETE"]),
        Route("/_control/pay", control.json(control.pay), methods=["POST"]),
        Route("/_control/close_trade", control.json(control.close_trade), methods=["POST"]),
        Route("/_control/drop_notifies", control.json(control.drop_notifies), methods=["POST"]),
        Route("/_control/deliver_pending", control.json(control.deliver_pending), methods=["POST"]),
        Route("/_control/redeliver", control.json(control.redeliver), methods=["POST"]),
        Route("/_control/send_notify", control.json(control.send_notify), methods=["POST"]),
        Route("/_control/set_bill", control.json(control.set_bill), methods=["POST"]),
        Route("/_control/deliveries", control.deliveries, methods=["GET"]),
        Route("/_control/trades", control.trades, methods=["GET"]),
    ]


class _Control:
    """The harness as JSON (camelCase, amounts in fen as strings or integers), for other processes and browsers."""

    def __init__(self, sandbox: AlipayTradeSandbox) -> None:
        self.sandbox = sandbox

    def json(self, action: Callable[[dict[str, Any]], Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                raw = await request.body()
                payload = json.loads(raw) if raw else {}
                if not isinstance(payload, dict):
                    raise ValueError("the body must be a JSON object")
                return JSONResponse(await action(payload))
            except KeyError as exc:
                return JSONResponse({"error": f"not found: {exc.args[0] if exc.args else exc}"}, status_code=404)
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)

        return endpoint

    async def pay(self, p: dict[str, Any]) -> Any:
        amount = p.get("amountFen")
        trade = await self.sandbox.pay(
            _str(p, "outTradeNo"), _fen(amount) if amount is not None else None, _bool(p, "notify", True)
        )
        return trade.to_json()

    async def close_trade(self, p: dict[str, Any]) -> Any:
        return (await self.sandbox.close_trade(_str(p, "outTradeNo"))).to_json()

    async def drop_notifies(self, p: dict[str, Any]) -> Any:
        self.sandbox.drop_notifies(_str(p, "outTradeNo"))
        return {"dropped": p["outTradeNo"]}

    async def deliver_pending(self, p: dict[str, Any]) -> Any:
        return [delivery.to_json() for delivery in await self.sandbox.deliver_pending()]

    async def redeliver(self, p: dict[str, Any]) -> Any:
        delivery_id, concurrency = p.get("deliveryId"), p.get("concurrency", 1)
        if type(delivery_id) is not int or type(concurrency) is not int or not 1 <= concurrency <= 50:
            raise ValueError("deliveryId must be an integer, concurrency an integer from 1 to 50")
        return (await self.sandbox.redeliver(delivery_id, concurrency)).to_json()

    async def send_notify(self, p: dict[str, Any]) -> Any:
        fields = p.get("fields")
        if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
            raise ValueError("fields must be an object of strings")
        # A forgery over HTTP: signed with a key nobody registered.
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if _bool(p, "forged", False) else None
        url = p.get("url")
        if url is not None and not isinstance(url, str):
            raise ValueError("url must be a string")
        return (await self.sandbox.send_notify(fields, key, url=url)).to_json()

    async def set_bill(self, p: dict[str, Any]) -> Any:
        bill_date = date.fromisoformat(_str(p, "billDate"))
        lines = p.get("lines")
        if not isinstance(lines, list):
            raise ValueError("lines must be a list")
        parsed = [_bill_line(line) for line in lines]
        self.sandbox.set_bill(bill_date, parsed)
        return {"billDate": bill_date.isoformat(), "lines": len(parsed)}

    async def script(self, request: Request) -> Response:
        """`{"operation": …}` scripts a trade method; anything else is the gateway's generic script."""
        if request.method == "POST":
            raw = await request.body()
            try:
                payload = json.loads(raw) if raw else None
            except ValueError:
                payload = None
            if isinstance(payload, dict) and "operation" in payload:
                try:
                    self.sandbox.script(
                        _str(payload, "operation"),
                        delay_s=payload.get("delayS"),
                        http_status=payload.get("httpStatus"),
                        mis_sign=_bool(payload, "misSign", False),
                        perform_anyway=_bool(payload, "performAnyway", False),
                        times=payload.get("times", 1),
                    )
                except ValueError as exc:
                    return JSONResponse({"error": str(exc)}, status_code=400)
                return JSONResponse([s.to_json() for s in self.sandbox.scripts()], status_code=201)
        response = await self.sandbox.gateway.control_script(request)
        if request.method == "DELETE":
            self.sandbox.clear_scripts()
        elif request.method == "GET" and response.status_code == 200:
            listing = json.loads(bytes(response.body))
            return JSONResponse([*listing, *(s.to_json() for s in self.sandbox.scripts())])
        return response

    async def deliveries(self, request: Request) -> Response:
        return JSONResponse([delivery.to_json() for delivery in self.sandbox.deliveries])

    async def trades(self, request: Request) -> Response:
        return JSONResponse([trade.to_json() for trade in self.sandbox.trades()])


def _str(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def _bool(payload: dict[str, Any], name: str, default: bool) -> bool:
    value = payload.get(name, default)
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


def _fen(value: Any) -> int:
    if isinstance(value, str) and value.isdigit() and value.isascii():
        return int(value)
    if type(value) is int:
        return value
    raise ValueError("amounts are fen: a string of digits or an integer")


def _bill_line(raw: Any) -> BillLine:
    if not isinstance(raw, dict):
        raise ValueError("each bill line must be an object")
    kind = _str(raw, "kind")
    if kind not in ("pay", "refund"):
        raise ValueError("kind must be pay or refund")
    at = datetime.fromisoformat(_str(raw, "at"))
    if at.tzinfo is None:
        raise ValueError("at must carry its UTC offset")
    refund_no = raw.get("outRefundNo")
    if refund_no is not None and not isinstance(refund_no, str):
        raise ValueError("outRefundNo must be a string")
    return BillLine(
        kind=kind,
        out_trade_no=_str(raw, "outTradeNo"),
        channel_trade_no=_str(raw, "channelTradeNo"),
        amount_fen=_fen(raw.get("amountFen")),
        at=at,
        out_refund_no=refund_no,
    )
