"""The WeChat Pay sandbox's harness over HTTP (`/_control/…`, JSON) and its cashier page (`/cashier/{no}`).

Everything a test can do in process can be done here by another process or a browser test (payments.md §14).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from payments.sandbox.cashier import render_cashier
from payments.sandbox.wechat_scripts import OpScript
from payments.sandbox.wechat_state import TradeStateError

if TYPE_CHECKING:
    from payments.sandbox.wechat_gateway import WechatPaySandbox

Endpoint = Callable[[Request], Awaitable[Response]]


class _BadRequest(ValueError):
    pass


async def _payload(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        payload = json.loads(raw) if raw else {}
    except ValueError as exc:
        raise _BadRequest("the body must be JSON") from exc
    if not isinstance(payload, dict):
        raise _BadRequest("the body must be a JSON object")
    return payload


def _string(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise _BadRequest(f"`{key}` must be a non-empty string")
    return value


def _guarded(handler: Callable[[Request], Awaitable[Any]]) -> Endpoint:
    """Maps harness errors to answers: unknown trade 404, state conflict 409, bad input 400."""

    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except KeyError as exc:
            return JSONResponse({"error": f"unknown {exc.args[0] if exc.args else 'key'}"}, status_code=404)
        except TradeStateError as exc:
            return JSONResponse({"error": str(exc), "code": exc.code}, status_code=409)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

    return endpoint


def control_routes(sandbox: WechatPaySandbox) -> list[BaseRoute]:
    posts = _trade_controls(sandbox) | _notify_controls(sandbox)
    routes: list[BaseRoute] = [
        Route(f"/_control/{name}", _guarded(handler), methods=["POST"]) for name, handler in posts.items()
    ]

    async def deliveries(request: Request) -> Any:
        return [delivery.to_json() for delivery in sandbox.deliveries]

    async def status(request: Request) -> Any:
        return {
            "certificateHits": sandbox.certificate_hits,
            "publicKeyId": sandbox.public_key_id,
            "trades": {no: t.to_json() for no, t in sandbox.trades().items()},
            "refunds": {no: r.to_json() for no, r in sandbox.refunds().items()},
        }

    routes += [
        Route("/_control/deliveries", _guarded(deliveries), methods=["GET"]),
        Route("/_control/status", _guarded(status), methods=["GET"]),
    ]
    return routes


Control = Callable[[Request], Awaitable[Any]]


def _trade_controls(sandbox: WechatPaySandbox) -> dict[str, Control]:
    async def pay(request: Request) -> Any:
        p = await _payload(request)
        amount, notify = p.get("amountFen"), p.get("notify", True)
        if amount is not None and type(amount) is not int:
            raise _BadRequest("`amountFen` must be an integer")
        if not isinstance(notify, bool):
            raise _BadRequest("`notify` must be a boolean")
        transaction = await sandbox.pay(_string(p, "outTradeNo"), amount, notify)
        await sandbox.settle()  # a remote caller cannot call settle(): the notify has been answered on return
        return transaction

    async def close_trade(request: Request) -> Any:
        await sandbox.close_trade(_string(await _payload(request), "outTradeNo"))
        return {"closed": True}

    async def set_bill(request: Request) -> Any:
        p = await _payload(request)
        lines = p.get("lines")
        if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
            raise _BadRequest("`lines` must be a list of objects")
        sandbox.set_bill(date.fromisoformat(_string(p, "billDate")), lines)
        return {"billDate": p["billDate"], "lines": len(lines)}

    async def complete_refund(request: Request) -> Any:
        p = await _payload(request)
        status, notify = p.get("status", "SUCCESS"), p.get("notify", True)
        if not isinstance(status, str) or not isinstance(notify, bool):
            raise _BadRequest("`status` must be a string and `notify` a boolean")
        await sandbox.complete_refund(_string(p, "outRefundNo"), status, notify)
        await sandbox.settle()
        return {"completed": True}

    async def refund_result(request: Request) -> Any:
        result = (await _payload(request)).get("result")
        if result not in (None, "SUCCESS", "ABNORMAL", "CLOSED"):
            raise _BadRequest("`result` must be SUCCESS, ABNORMAL, CLOSED or null")
        sandbox.refund_result = result
        return {"result": result}

    return {
        "pay": pay,
        "close_trade": close_trade,
        "set_bill": set_bill,
        "complete_refund": complete_refund,
        "refund_result": refund_result,
    }


def _notify_controls(sandbox: WechatPaySandbox) -> dict[str, Control]:
    async def drop_notifies(request: Request) -> Any:
        sandbox.drop_notifies(_string(await _payload(request), "outTradeNo"))
        return {"dropped": True}

    async def deliver_pending(request: Request) -> Any:
        return [delivery.to_json() for delivery in await sandbox.deliver_pending()]

    async def redeliver(request: Request) -> Any:
        p = await _payload(request)
        delivery_id, concurrency = p.get("deliveryId"), p.get("concurrency", 1)
        if type(delivery_id) is not int or type(concurrency) is not int or not 1 <= concurrency <= 50:
            raise _BadRequest("`deliveryId` must be an integer and `concurrency` 1 to 50")
        attempts = await sandbox.redeliver(delivery_id, concurrency)
        return [{"at": a.at.isoformat(), "status": a.status, "body": a.body} for a in attempts]

    async def send_notify(request: Request) -> Any:
        p = await _payload(request)
        event, headers, pem = p.get("event"), p.get("headers"), p.get("signWithPrivateKeyPem")
        if not isinstance(event, dict) or not isinstance(headers, dict | None) or not isinstance(pem, str | None):
            raise _BadRequest("`event` must be an object, `headers` an object, `signWithPrivateKeyPem` a string")
        key = _private_key(pem) if pem else None
        delivery = await sandbox.send_notify(event, sign_with=key, headers=headers)
        await sandbox.settle()
        return delivery.to_json()

    async def settle(request: Request) -> Any:
        await sandbox.settle()
        return {"settled": True}

    return {
        "drop_notifies": drop_notifies,
        "deliver_pending": deliver_pending,
        "redeliver": redeliver,
        "send_notify": send_notify,
        "settle": settle,
    }


def _private_key(pem: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError) as exc:
        raise _BadRequest("`signWithPrivateKeyPem` is not a private key PEM") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise _BadRequest("`signWithPrivateKeyPem` must be an RSA key")
    return key


async def control_script(sandbox: WechatPaySandbox, request: Request, generic: Endpoint) -> Response:
    """`/_control/script`: `{"operation": …, "delayS", "httpStatus", "misSign", "probeSignature",
    "performAnyway", "times"}`, or the generic `{"match", "action", "times"}` of every sandbox."""
    if request.method == "GET":
        generic_listing = json.loads(bytes((await generic(request)).body))
        return JSONResponse({"generic": generic_listing, "operations": [s.to_json() for s in sandbox.op_scripts()]})
    if request.method == "DELETE":
        sandbox.clear_scripts()
        return Response(status_code=204)
    raw = await request.body()
    try:
        payload = json.loads(raw)
    except ValueError:
        return JSONResponse({"error": "the script must be JSON"}, status_code=400)
    if not isinstance(payload, dict) or "operation" not in payload:
        return await generic(request)
    try:
        sandbox.op_scripts_add(
            OpScript.build(
                payload.get("operation"),
                payload.get("delayS"),
                payload.get("httpStatus"),
                payload.get("misSign", False),
                payload.get("probeSignature", False),
                payload.get("performAnyway", False),
                payload.get("times", 1),
            )
        )
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse([s.to_json() for s in sandbox.op_scripts()], status_code=201)


def cashier_routes(sandbox: WechatPaySandbox) -> list[BaseRoute]:
    def page(out_trade_no: str, state: str, status: int = 200) -> Response:
        trade = sandbox.trade(out_trade_no)
        if trade is None:
            return HTMLResponse("<!doctype html><p>沙箱中没有这笔订单</p>", status_code=404)
        base = f"{sandbox.base_url}/cashier/{out_trade_no}"
        html = render_cashier(
            channel="微信支付",
            payee=f"商户号 {trade.mchid}",
            subject=trade.description,
            amount_fen=trade.amount_fen,
            pay_action=f"{base}/pay",
            cancel_action=f"{base}/cancel",
            state=state,
        )
        return HTMLResponse(html, status_code=status)

    def describe(out_trade_no: str) -> str:
        trade = sandbox.trade(out_trade_no)
        if trade is None:
            return ""
        if trade.paid:
            return "已支付"
        if trade.state == "CLOSED":
            return "订单已关闭"
        return "订单已过期" if trade.expired(sandbox.clock.now()) else ""

    async def show(request: Request) -> Response:
        out_trade_no = request.path_params["out_trade_no"]
        return page(out_trade_no, describe(out_trade_no))

    async def pay(request: Request) -> Response:
        out_trade_no = request.path_params["out_trade_no"]
        if sandbox.trade(out_trade_no) is None:
            return page(out_trade_no, "", 404)
        try:
            await sandbox.pay(out_trade_no)
        except TradeStateError as exc:
            return page(out_trade_no, str(exc), 409)
        await sandbox.settle()  # the notify has been answered by the time the page says so
        return page(out_trade_no, "支付成功")

    async def cancel(request: Request) -> Response:
        # The payer walks away; the trade stays payable until it expires or is closed, as at WeChat.
        out_trade_no = request.path_params["out_trade_no"]
        return page(out_trade_no, describe(out_trade_no) or "已取消支付")

    return [
        Route("/cashier/{out_trade_no}", show, methods=["GET"]),
        Route("/cashier/{out_trade_no}/pay", pay, methods=["POST"]),
        Route("/cashier/{out_trade_no}/cancel", cancel, methods=["POST"]),
    ]
