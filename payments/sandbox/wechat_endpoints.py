"""The WeChat Pay v3 merchant endpoints of the sandbox: what each does once the caller is authenticated."""

from __future__ import annotations

import gzip
import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from starlette.background import BackgroundTask
from starlette.responses import Response

from api.kit.clock import Clock
from api.platforms.sandbox.base import Handler, ProviderCall
from payments.channels.base import BillLine
from payments.sandbox.wechat_scripts import Reply, error
from payments.sandbox.wechat_state import (
    TRADE_TYPES,
    Refund,
    Trade,
    bill_lines_of,
    new_prepay_id,
    new_refund_id,
    render_trade_bill,
)

if TYPE_CHECKING:
    from payments.sandbox.wechat_scripts import OpScript

_OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
_OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
_AMOUNTS = ("refund", "total")
_CERTIFICATES_GONE = "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥"


def _param(message: str) -> Reply:
    return error(400, "PARAM_ERROR", message)


class WechatEndpoints:
    """Mixed into WechatPaySandbox, which provides the state below and `serve` (auth, scripts, signing)."""

    clock: Clock
    mchid: str
    appid: str
    base_url: str
    gateway_url: str
    refund_result: str | None
    certificate_hits: int
    _trades: dict[str, Trade]
    _refunds: dict[str, Refund]
    _bills: dict[date, list[BillLine]]
    _bill_files: dict[str, bytes]
    _op_scripts: list[OpScript]

    async def serve(
        self, call: ProviderCall, operation: str, perform: Callable[[str, ProviderCall], Awaitable[Reply]]
    ) -> Response:
        raise NotImplementedError

    async def complete_refund(self, out_refund_no: str, status: str = "SUCCESS", notify: bool = True) -> None:
        raise NotImplementedError

    async def _respond(
        self, reply: Reply, *, mis_sign: bool = False, probe: bool = False, background: BackgroundTask | None = None
    ) -> Response:
        raise NotImplementedError

    def endpoint_routes(self) -> list[tuple[str, list[str], Handler]]:
        def route(operation: str, perform: Callable[[str, ProviderCall], Awaitable[Reply]]) -> Handler:
            async def handler(call: ProviderCall) -> Response:
                return await self.serve(call, operation, perform)

            return handler

        return [
            ("/v3/certificates", ["GET"], self._certificates),
            ("/v3/pay/transactions/out-trade-no/{out_trade_no}", ["GET"], route("query", self._query)),
            ("/v3/pay/transactions/out-trade-no/{out_trade_no}/close", ["POST"], route("close", self._close)),
            ("/v3/pay/transactions/{kind}", ["POST"], route("pay", self._create)),
            ("/v3/refund/domestic/refunds", ["POST"], route("refund", self._refund)),
            ("/v3/refund/domestic/refunds/{out_refund_no}", ["GET"], route("query_refund", self._query_refund)),
            ("/v3/bill/tradebill", ["GET"], route("tradebill", self._tradebill)),
            ("/v3/billdownload/file", ["GET"], route("billdownload", self._billdownload)),
        ]

    async def _certificates(self, call: ProviderCall) -> Response:
        # Public-key mode has no platform certificates; a client that still asks for them is misconfigured.
        self.certificate_hits += 1
        return await self._respond(error(404, "RESOURCE_NOT_EXISTS", _CERTIFICATES_GONE))

    # -- orders --

    async def _create(self, mchid: str, call: ProviderCall) -> Reply:
        kind = call.request.path_params["kind"]
        body = call.body
        if kind not in TRADE_TYPES:
            return error(404, "RESOURCE_NOT_EXISTS", "无此接口")
        if not isinstance(body, dict):
            return _param("请求体不是合法的JSON")
        problem = self._order_problem(kind, mchid, body)
        if problem is not None:
            return problem
        out_trade_no = body["out_trade_no"]
        existing = self._trades.get(out_trade_no)
        if existing is not None:
            if existing.paid:
                return error(400, "ORDERPAID", "该订单已支付")
            if existing.state == "CLOSED":
                return error(400, "ORDER_CLOSED", "订单已关闭")
            if existing.request != body or existing.kind != kind:
                return error(400, "INVALID_REQUEST", "201 商户订单号重复")
            return Reply(200, self._prepay_answer(existing))
        now = self.clock.now()
        trade = Trade(
            mchid=mchid,
            appid=body["appid"],
            kind=kind,
            out_trade_no=out_trade_no,
            description=body["description"],
            amount_fen=body["amount"]["total"],
            notify_url=body["notify_url"],
            request=body,
            created_at=now,
            time_expire=datetime.fromisoformat(body["time_expire"]) if body.get("time_expire") else None,
            prepay_id=new_prepay_id(now),
            openid=(body.get("payer") or {}).get("openid"),
        )
        self._trades[out_trade_no] = trade
        return Reply(200, self._prepay_answer(trade))

    def _order_problem(self, kind: str, mchid: str, body: dict[str, Any]) -> Reply | None:
        if body.get("mchid") != mchid:
            return _param("mchid与请求签名的商户号不一致")
        if body.get("appid") != self.appid:
            return error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        if not isinstance(body.get("description"), str) or not 1 <= len(body["description"]) <= 127:
            return _param("description 长度应为1到127")
        if not isinstance(body.get("out_trade_no"), str) or not _OUT_TRADE_NO.fullmatch(body["out_trade_no"]):
            return _param("out_trade_no 应为6到32位数字、大小写字母_-|*")
        if not isinstance(body.get("notify_url"), str) or not body["notify_url"].startswith(("https://", "http://")):
            return _param("notify_url 应为http(s)地址")
        amount = body.get("amount")
        if not isinstance(amount, dict) or type(amount.get("total")) is not int or amount["total"] < 1:
            return _param("amount.total 应为正整数（分）")
        if amount.get("currency", "CNY") != "CNY":
            return _param("amount.currency 仅支持CNY")
        if body.get("time_expire") is not None:
            try:
                expire = datetime.fromisoformat(body["time_expire"])
            except (TypeError, ValueError):
                return _param("time_expire 应为RFC3339格式")
            if expire.tzinfo is None or expire <= self.clock.now():
                return _param("time_expire 应为带时区且晚于当前的时间")
        if kind == "jsapi" and not isinstance((body.get("payer") or {}).get("openid"), str):
            return _param("JSAPI 下单需要 payer.openid")
        if kind == "h5":
            scene = body.get("scene_info") or {}
            if not isinstance(scene.get("payer_client_ip"), str) or not isinstance(scene.get("h5_info"), dict):
                return _param("H5 下单需要 scene_info.payer_client_ip 与 scene_info.h5_info")
        return None

    def _prepay_answer(self, trade: Trade) -> dict[str, Any]:
        if trade.kind == "native":
            return {"code_url": f"weixin://wxpay/bizpayurl?pr={trade.prepay_id[-12:]}"}
        if trade.kind == "h5":
            return {"h5_url": f"{self.base_url}/cashier/{trade.out_trade_no}"}
        return {"prepay_id": trade.prepay_id}

    def _own_trade(self, mchid: str, out_trade_no: str) -> Trade | None:
        trade = self._trades.get(out_trade_no)
        return trade if trade is not None and trade.mchid == mchid else None

    async def _query(self, mchid: str, call: ProviderCall) -> Reply:
        if call.query.get("mchid") != mchid:
            return _param("mchid 与请求签名的商户号不一致")
        trade = self._own_trade(mchid, call.request.path_params["out_trade_no"])
        if trade is None:
            return error(404, "ORDER_NOT_EXIST", "订单不存在")
        return Reply(200, trade.to_json())

    async def _close(self, mchid: str, call: ProviderCall) -> Reply:
        if not isinstance(call.body, dict) or call.body.get("mchid") != mchid:
            return _param("mchid 与请求签名的商户号不一致")
        trade = self._own_trade(mchid, call.request.path_params["out_trade_no"])
        if trade is None:
            return error(404, "ORDER_NOT_EXIST", "订单不存在")
        if trade.paid:
            return error(400, "ORDERPAID", "订单已支付")
        trade.state = "CLOSED"
        return Reply(204)

    # -- refunds --

    async def _refund(self, mchid: str, call: ProviderCall) -> Reply:
        body = call.body
        if not isinstance(body, dict):
            return _param("请求体不是合法的JSON")
        out_refund_no, amount = body.get("out_refund_no"), body.get("amount")
        if not isinstance(out_refund_no, str) or not _OUT_REFUND_NO.fullmatch(out_refund_no):
            return _param("out_refund_no 应为1到64位数字、大小写字母_-|*@")
        if not isinstance(amount, dict) or any(
            type(amount.get(k)) is not int or amount[k] < 1 for k in ("refund", "total")
        ):
            return _param("amount.refund 与 amount.total 应为正整数（分）")
        reason = body.get("reason")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 80):
            return _param("reason 不超过80个字符")
        trade = self._refunded_trade(mchid, body)
        if trade is None:
            return error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        existing = self._refunds.get(out_refund_no)
        if existing is not None:
            if existing.mchid != mchid or existing.request != body:
                return error(400, "INVALID_REQUEST", "商户退款单号已被使用，请求参数与原请求不一致")
            return Reply(200, existing.to_json())  # the same refund, refunded once
        if not trade.paid:
            return error(400, "INVALID_REQUEST", "订单未支付，不能退款")
        paid = trade.paid_fen if trade.paid_fen is not None else trade.amount_fen
        if amount["total"] != paid:
            return error(400, "INVALID_REQUEST", "订单金额与原订单不一致")
        reserved = sum(r.amount_fen for r in self._refunds.values() if r.trade is trade and r.status != "CLOSED")
        if reserved + amount["refund"] > paid:
            return error(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        now = self.clock.now()
        refund = Refund(
            mchid=mchid,
            out_refund_no=out_refund_no,
            refund_id=new_refund_id(now),
            trade=trade,
            amount_fen=amount["refund"],
            reason=reason or "",
            notify_url=body.get("notify_url") or trade.notify_url,
            request=body,
            created_at=now,
        )
        self._refunds[out_refund_no] = refund
        trade.state = "REFUND"
        reply = Reply(200, refund.to_json())
        result = self.refund_result
        if result is not None:

            async def finish() -> None:
                if self._refunds.get(out_refund_no) is refund and refund.status == "PROCESSING":  # not reset
                    await self.complete_refund(out_refund_no, result)

            reply.after.append(finish)
        return reply

    def _refunded_trade(self, mchid: str, body: dict[str, Any]) -> Trade | None:
        if isinstance(body.get("out_trade_no"), str):
            return self._own_trade(mchid, body["out_trade_no"])
        transaction_id = body.get("transaction_id")
        return next((t for t in self._trades.values() if t.mchid == mchid and t.transaction_id == transaction_id), None)

    async def _query_refund(self, mchid: str, call: ProviderCall) -> Reply:
        refund = self._refunds.get(call.request.path_params["out_refund_no"])
        if refund is None or refund.mchid != mchid:
            return error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return Reply(200, refund.to_json())

    # -- bills --

    async def _tradebill(self, mchid: str, call: ProviderCall) -> Reply:
        try:
            bill_date = date.fromisoformat(call.query.get("bill_date", ""))
        except ValueError:
            return _param("bill_date 应为 YYYY-MM-DD")
        bill_type, tar_type = call.query.get("bill_type", "ALL"), call.query.get("tar_type")
        if bill_type not in ("ALL", "SUCCESS", "REFUND") or tar_type not in (None, "GZIP"):
            return _param("bill_type 或 tar_type 不支持")
        lines = self._bills.get(bill_date)
        if lines is None:
            lines = bill_lines_of(
                [t for t in self._trades.values() if t.mchid == mchid],
                [r for r in self._refunds.values() if r.mchid == mchid],
                bill_date,
            )
            if not lines:
                return error(400, "NO_STATEMENT_EXIST", "账单文件不存在")
        wanted = {"ALL": ("pay", "refund"), "SUCCESS": ("pay",), "REFUND": ("refund",)}[bill_type]
        content = render_trade_bill([x for x in lines if x.kind in wanted], mchid=mchid, appid=self.appid)
        token = secrets.token_urlsafe(18)
        self._bill_files[token] = gzip.compress(content, mtime=0) if tar_type == "GZIP" else content
        return Reply(
            200,
            {
                "hash_type": "SHA1",
                "hash_value": hashlib.sha1(content, usedforsecurity=False).hexdigest(),
                "download_url": f"{self.gateway_url}/v3/billdownload/file?token={token}",
            },
        )

    async def _billdownload(self, mchid: str, call: ProviderCall) -> Reply:
        data = self._bill_files.get(call.query.get("token", ""))
        if data is None:
            return error(404, "RESOURCE_NOT_EXISTS", "账单下载链接无效")
        return Reply(200, data)
