"""The Alipay channel (payments.md §5): facts with an `Outcome`, never an exception for channel trouble.

Requests are built by `alipay-sdk-python`, signed with OpenSSL and sent through the shared `httpx.AsyncClient`
to a configurable gateway (Alipay, Alipay's developer sandbox, or this project's sandbox on loopback).
"""

from __future__ import annotations

import logging
from datetime import UTC, date
from typing import Any
from urllib.parse import urlencode

import httpx
from alipay.aop.api.domain.AlipayDataDataserviceBillDownloadurlQueryModel import (
    AlipayDataDataserviceBillDownloadurlQueryModel,
)
from alipay.aop.api.domain.AlipayTradeAppPayModel import AlipayTradeAppPayModel
from alipay.aop.api.domain.AlipayTradeCloseModel import AlipayTradeCloseModel
from alipay.aop.api.domain.AlipayTradeCreateModel import AlipayTradeCreateModel
from alipay.aop.api.domain.AlipayTradeFastpayRefundQueryModel import AlipayTradeFastpayRefundQueryModel
from alipay.aop.api.domain.AlipayTradePrecreateModel import AlipayTradePrecreateModel
from alipay.aop.api.domain.AlipayTradeQueryModel import AlipayTradeQueryModel
from alipay.aop.api.domain.AlipayTradeRefundModel import AlipayTradeRefundModel
from alipay.aop.api.domain.AlipayTradeWapPayModel import AlipayTradeWapPayModel
from alipay.aop.api.request.AlipayDataDataserviceBillDownloadurlQueryRequest import (
    AlipayDataDataserviceBillDownloadurlQueryRequest,
)
from alipay.aop.api.request.AlipayTradeAppPayRequest import AlipayTradeAppPayRequest
from alipay.aop.api.request.AlipayTradeCloseRequest import AlipayTradeCloseRequest
from alipay.aop.api.request.AlipayTradeCreateRequest import AlipayTradeCreateRequest
from alipay.aop.api.request.AlipayTradeFastpayRefundQueryRequest import AlipayTradeFastpayRefundQueryRequest
from alipay.aop.api.request.AlipayTradePrecreateRequest import AlipayTradePrecreateRequest
from alipay.aop.api.request.AlipayTradeQueryRequest import AlipayTradeQueryRequest
from alipay.aop.api.request.AlipayTradeRefundRequest import AlipayTradeRefundRequest
from alipay.aop.api.request.AlipayTradeWapPayRequest import AlipayTradeWapPayRequest
from starlette.responses import PlainTextResponse, Response

from api.kit.clock import Clock
from api.models.payment import Channel, Product
from payments.channels.alipay_bill import BillFormatError, read_bill_zip
from payments.channels.alipay_notify import TRADE_STATES, notify_fact, redact, verify_notify
from payments.channels.alipay_wire import (
    FORM_CONTENT_TYPE,
    AlipayUnverified,
    Answer,
    Verdict,
    beijing,
    make_param_builder,
    open_node,
    parse_beijing,
    signed_params,
)
from payments.channels.base import (
    BillDownload,
    CloseResult,
    CreateResult,
    NotifyFact,
    OrderSpec,
    Outcome,
    RefundFact,
    RefundSpec,
    RefundState,
    TradeFact,
    TradeState,
)
from payments.channels.rsa2 import load_private_key, load_public_key
from payments.money import fen_to_yuan, yuan_to_fen

log = logging.getLogger("zsb.payments.alipay")

_OUTCOME = {Verdict.SUCCESS: Outcome.OK, Verdict.REFUSED: Outcome.REJECTED, Verdict.UNKNOWN: Outcome.UNKNOWN}
# trade.create for an out_trade_no that is already paid: the order must be queried, never marked failed.
_CREATE_PAID = frozenset({"ACQ.TRADE_HAS_SUCCESS", "ACQ.TRADE_HAS_FINISHED"})
_NOT_FOUND = "ACQ.TRADE_NOT_EXIST"


class AlipayChannel:
    name = Channel.ALIPAY
    products = frozenset({Product.APP, Product.WAP, Product.H5, Product.JSAPI, Product.NATIVE})

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        gateway_url: str,
        app_id: str,
        seller_id: str,
        app_private_key_pem: str,
        alipay_public_key_pem: str,
        notify_url: str,
        clock: Clock,
        return_url: str | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
    ) -> None:
        if not gateway_url or not app_id or not seller_id or not notify_url:
            raise ValueError("the Alipay channel needs a gateway URL, an app id, a seller id and a notify URL")
        self._http = http
        self._gateway_url = gateway_url
        self._app_id = app_id
        self._seller_id = seller_id
        # Parsed here so that a bad key stops the process at start-up, never the first payment.
        self._app_key = load_private_key(app_private_key_pem)
        self._alipay_key = load_public_key(alipay_public_key_pem)
        self._notify_url = notify_url
        self._return_url = return_url
        self._clock = clock
        self._timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._builder = make_param_builder(app_id)

    # -- orders --

    async def create_order(self, spec: OrderSpec) -> CreateResult:
        """The phone's payload. A spec the channel cannot take (naive expiry, no buyer for JSAPI) raises
        ValueError before anything is signed: that is the caller's bug, not channel trouble."""
        if spec.product not in self.products:
            raise ValueError(f"Alipay has no product {spec.product}")
        if spec.amount_fen <= 0:
            raise ValueError("an order's amount must be positive")
        common: dict[str, Any] = {
            "out_trade_no": spec.out_trade_no,
            "total_amount": fen_to_yuan(spec.amount_fen),
            "subject": spec.subject,
            "time_expire": beijing(spec.expires_at),  # the channel itself refuses late payment
        }
        if spec.product is Product.APP:
            params = self._signed(AlipayTradeAppPayRequest, AlipayTradeAppPayModel(), common, "QUICK_MSECURITY_PAY")
            return CreateResult(Outcome.OK, {"orderString": urlencode(params)})
        if spec.product in (Product.WAP, Product.H5):
            return_url = spec.return_url or self._return_url
            biz = {**common, "quit_url": return_url}
            params = self._signed(
                AlipayTradeWapPayRequest, AlipayTradeWapPayModel(), biz, "QUICK_WAP_WAY", return_url=return_url
            )
            return CreateResult(Outcome.OK, {"url": f"{self._gateway_url}?{urlencode(params)}"})
        if spec.product is Product.JSAPI:
            if not spec.payer_channel_id:
                raise ValueError("an Alipay JSAPI order needs the payer's Alipay user id")
            # User ids are 2088 plus 12 digits; apps in OpenID mode know their users by open_id instead.
            buyer = "buyer_id" if _is_user_id(spec.payer_channel_id) else "buyer_open_id"
            biz = {**common, buyer: spec.payer_channel_id}
            answer = await self._call(AlipayTradeCreateRequest, AlipayTradeCreateModel(), biz, "JSAPI_PAY")
            return self._created(answer, "trade_no", lambda no: {"tradeNo": no})
        answer = await self._call(AlipayTradePrecreateRequest, AlipayTradePrecreateModel(), common)
        return self._created(answer, "qr_code", lambda code: {"codeUrl": code})

    def _created(self, answer: Answer, field: str, payload: Any) -> CreateResult:
        value = answer.node.get(field)
        if answer.verdict is Verdict.SUCCESS:
            if not isinstance(value, str) or not value:
                return CreateResult(Outcome.UNKNOWN, reason=f"Alipay accepted the order without {field}")
            trade_no = answer.node.get("trade_no")
            return CreateResult(Outcome.OK, payload(value), channel_trade_no=trade_no if trade_no else None)
        if answer.sub_code in _CREATE_PAID:
            return CreateResult(Outcome.UNKNOWN, reason=f"{answer.reason}: query the order")
        return CreateResult(_OUTCOME[answer.verdict], reason=answer.reason)

    async def query(self, out_trade_no: str) -> TradeFact:
        answer = await self._call(AlipayTradeQueryRequest, AlipayTradeQueryModel(), {"out_trade_no": out_trade_no})
        node = answer.node
        if answer.verdict is not Verdict.SUCCESS:
            if answer.verdict is Verdict.REFUSED and answer.sub_code == _NOT_FOUND:
                # App and wap trades do not exist at Alipay until the payer opens the cashier: not paid (yet).
                return TradeFact(Outcome.OK, out_trade_no, TradeState.NOT_FOUND, reason=answer.reason)
            return TradeFact(_OUTCOME[answer.verdict], out_trade_no, reason=answer.reason)
        state = TRADE_STATES.get(str(node.get("trade_status")))
        if state is None or node.get("out_trade_no") not in (None, out_trade_no):
            return TradeFact(Outcome.UNKNOWN, out_trade_no, reason=f"unexpected answer: {answer.reason}")
        try:
            amount = yuan_to_fen(str(node.get("total_amount", "")))
        except ValueError:
            return TradeFact(Outcome.UNKNOWN, out_trade_no, reason="unreadable total_amount")
        paid_at = parse_beijing(node.get("send_pay_date"))
        return TradeFact(
            outcome=Outcome.OK,
            out_trade_no=out_trade_no,
            state=state,
            channel_trade_no=str(node["trade_no"]) if node.get("trade_no") else None,
            amount_fen=amount,
            # The answer is signed by Alipay for a query made as our app: it speaks of our app's trade. The
            # seller is reported where Alipay includes it; otherwise the app's own seller.
            merchant_id=str(node.get("seller_id") or self._seller_id),
            app_id=self._app_id,
            paid_at=paid_at.astimezone(UTC) if paid_at else None,
            payload_redacted=_redacted(node),
        )

    async def close(self, out_trade_no: str) -> CloseResult:
        answer = await self._call(AlipayTradeCloseRequest, AlipayTradeCloseModel(), {"out_trade_no": out_trade_no})
        if answer.verdict is Verdict.SUCCESS:
            return CloseResult(Outcome.OK)
        if answer.sub_code == _NOT_FOUND:
            # Nothing to close; an order string never opened can still be paid until its time_expire, which
            # the caller's later query or notify (PAID_AFTER_CLOSE) resolves.
            return CloseResult(Outcome.OK, reason=answer.reason)
        if answer.sub_code in _CREATE_PAID:
            return CloseResult(Outcome.OK, already_paid=True, reason=answer.reason)
        if answer.sub_code == "ACQ.TRADE_STATUS_ERROR":
            # Alipay says the same for a paid trade and a closed one: ask which.
            fact = await self.query(out_trade_no)
            if fact.outcome is Outcome.OK and fact.state is TradeState.PAID:
                return CloseResult(Outcome.OK, already_paid=True, reason=answer.reason)
            if fact.outcome is Outcome.OK and fact.state in (TradeState.CLOSED, TradeState.REFUNDED):
                return CloseResult(Outcome.OK, reason=answer.reason)
            return CloseResult(Outcome.UNKNOWN, reason=f"{answer.reason}; query: {fact.reason or fact.state}")
        return CloseResult(_OUTCOME[answer.verdict], reason=answer.reason)

    # -- refunds --

    async def refund(self, spec: RefundSpec) -> RefundFact:
        """`out_request_no` is our `out_refund_no`: a retry with it never refunds twice."""
        if spec.amount_fen <= 0:
            raise ValueError("a refund's amount must be positive")
        biz = {
            "out_trade_no": spec.out_trade_no,
            "refund_amount": fen_to_yuan(spec.amount_fen),
            "out_request_no": spec.out_refund_no,
            "refund_reason": spec.reason,
        }
        answer = await self._call(AlipayTradeRefundRequest, AlipayTradeRefundModel(), biz)
        if answer.verdict is not Verdict.SUCCESS:
            return _refund_fact(spec.out_trade_no, spec.out_refund_no, answer, _OUTCOME[answer.verdict])
        # fund_change=N: no money moved by *this* call (a retry of a done refund, or one still in progress);
        # only the refund query decides.
        state = RefundState.SUCCEEDED if answer.node.get("fund_change") == "Y" else RefundState.PROCESSING
        return _refund_fact(spec.out_trade_no, spec.out_refund_no, answer, Outcome.OK, state, spec.amount_fen)

    async def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundFact:
        biz = {"out_trade_no": out_trade_no, "out_request_no": out_refund_no}
        answer = await self._call(AlipayTradeFastpayRefundQueryRequest, AlipayTradeFastpayRefundQueryModel(), biz)
        node = answer.node
        if answer.verdict is not Verdict.SUCCESS:
            if answer.verdict is Verdict.REFUSED and answer.sub_code == _NOT_FOUND:
                return _refund_fact(out_trade_no, out_refund_no, answer, Outcome.OK, RefundState.NOT_FOUND)
            return _refund_fact(out_trade_no, out_refund_no, answer, _OUTCOME[answer.verdict])
        if node.get("refund_status") == "REFUND_SUCCESS":
            try:
                amount = yuan_to_fen(str(node.get("refund_amount", "")))
            except ValueError:
                unreadable = Answer.unknown("unreadable refund_amount")
                return _refund_fact(out_trade_no, out_refund_no, unreadable, Outcome.UNKNOWN)
            return _refund_fact(out_trade_no, out_refund_no, answer, Outcome.OK, RefundState.SUCCEEDED, amount)
        # code 10000 alone only says the query ran (仅代表查询成功). With the refund's data it is under way;
        # with none, Alipay never received this out_request_no.
        known = node.get("out_request_no") == out_refund_no or bool(node.get("refund_amount"))
        state = RefundState.PROCESSING if known else RefundState.NOT_FOUND
        return _refund_fact(out_trade_no, out_refund_no, answer, Outcome.OK, state)

    # -- notifies --

    def parse_notify(self, headers: Any, body: bytes) -> NotifyFact | None:
        """A verified notify as one fact; None for anything Alipay did not sign for our app, or cannot be read."""
        params = verify_notify(body, self._alipay_key, self._app_id)
        if params is None:
            return None
        fact = notify_fact(params)
        if fact is None:
            log.warning("a verified Alipay notify could not be read (notify_id %s)", params.get("notify_id"))
        return fact

    def ack(self, accepted: bool) -> Response:
        # Alipay stops retrying only on a body of exactly `success`.
        return PlainTextResponse("success" if accepted else "fail")

    def reject(self) -> Response:
        return PlainTextResponse("fail")

    # -- reconciliation --

    async def download_bill(self, bill_date: date) -> BillDownload:
        biz = {"bill_type": "trade", "bill_date": bill_date.isoformat()}
        request, model = (
            AlipayDataDataserviceBillDownloadurlQueryRequest,
            AlipayDataDataserviceBillDownloadurlQueryModel,
        )
        answer = await self._call(request, model(), biz)
        if answer.verdict is not Verdict.SUCCESS:
            return BillDownload(_OUTCOME[answer.verdict], reason=answer.reason)
        url = answer.node.get("bill_download_url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            return BillDownload(Outcome.UNKNOWN, reason="Alipay answered without a bill URL")
        try:
            response = await self._http.get(url, timeout=self._timeout)
        except httpx.HTTPError as exc:
            return BillDownload(Outcome.UNKNOWN, reason=f"bill download failed: {type(exc).__name__}")
        if response.status_code != 200:
            return BillDownload(Outcome.UNKNOWN, reason=f"bill download answered HTTP {response.status_code}")
        try:
            lines = read_bill_zip(response.content)
        except BillFormatError as exc:
            return BillDownload(Outcome.UNKNOWN, reason=str(exc))
        return BillDownload(Outcome.OK, tuple(lines))

    # -- the wire --

    def _signed(
        self,
        request_cls: Any,
        model: Any,
        biz: dict[str, Any],
        product_code: str | None = None,
        *,
        return_url: str | None = None,
    ) -> dict[str, str]:
        for name, value in biz.items():
            if value is not None and value != "":
                setattr(model, name, value)
        if product_code:
            model.product_code = product_code
        request = request_cls(biz_model=model)
        request.notify_url = self._notify_url  # a property of the request, not of the model
        if return_url:
            request.return_url = return_url
        return signed_params(self._builder, self._app_key, request, self._clock.now())

    async def _call(self, request_cls: Any, model: Any, biz: dict[str, Any], product_code: str | None = None) -> Answer:
        try:
            params = self._signed(request_cls, model, biz, product_code)
        except Exception as exc:  # the SDK raises bare exceptions; an unsent request is simply not done
            log.exception("building an Alipay request failed")
            return Answer.unknown(f"request not built: {type(exc).__name__}")
        method = params["method"]
        query = dict(params)
        # As Alipay's SDKs send it: common parameters in the URL, the business content in the form body.
        form = {"biz_content": query.pop("biz_content")} if "biz_content" in query else {}
        try:
            response = await self._http.post(
                self._gateway_url,
                params=query,
                content=urlencode(form).encode(),
                headers={"Content-Type": FORM_CONTENT_TYPE},
                timeout=self._timeout,
            )
        except httpx.TimeoutException:
            return self._unknown(method, "timed out")
        except httpx.HTTPError as exc:
            return self._unknown(method, f"transport error {type(exc).__name__}")
        if response.status_code != 200:
            return self._unknown(method, f"HTTP {response.status_code}")
        try:
            node = open_node(response.content.decode("utf-8"), method, self._alipay_key)
        except (UnicodeDecodeError, AlipayUnverified) as exc:
            return self._unknown(method, f"unverifiable answer ({exc})")
        answer = Answer.of(node)
        if answer.verdict is Verdict.UNKNOWN:
            log.warning("Alipay %s: %s", method, answer.reason)
        return answer

    def _unknown(self, method: str, reason: str) -> Answer:
        log.warning("Alipay %s: %s", method, reason)
        return Answer.unknown(f"{method}: {reason}")


def _redacted(node: dict[str, Any]) -> dict[str, str]:
    return redact({key: str(value) for key, value in node.items() if isinstance(value, str | int)})


def _refund_fact(
    out_trade_no: str,
    out_refund_no: str,
    answer: Answer,
    outcome: Outcome,
    state: RefundState | None = None,
    amount_fen: int | None = None,
) -> RefundFact:
    return RefundFact(
        outcome=outcome,
        out_refund_no=out_refund_no,
        state=state,
        out_trade_no=out_trade_no,
        amount_fen=amount_fen,
        payload_redacted=_redacted(answer.node),
        reason=answer.reason,
    )


def _is_user_id(value: str) -> bool:
    return len(value) == 16 and value.startswith("2088") and value.isdigit()
