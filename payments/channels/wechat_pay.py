"""The WeChat Pay v3 adapter (payments.md §6) over `wechatpayv3`'s `AsyncWeChatPay`, in public-key mode.

The SDK signs requests, verifies 2xx answers and notifies, and decrypts resources, all with OpenSSL. This adapter
decides what the answers mean: success facts come only from verified 2xx answers and notifies; a non-2xx answer
is at most a refusal; an exception (timeout, bad or probe signature, anything) is UNKNOWN, resolved by a later query.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.responses import JSONResponse, Response
from wechatpayv3.async_ import AsyncWeChatPay, WeChatPayType

from api.kit.clock import SHANGHAI, Clock
from api.models.payment import Channel, Product
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
from payments.channels.wechat_answers import (
    NOT_FOUND_CODES,
    ORDER_CLOSED_CODES,
    ORDER_PAID_CODES,
    Answer,
    call_sdk,
    log,
    refund_fact,
    text,
    trade_fact,
)
from payments.channels.wechat_bill import BillFileError, open_bill_file, parse_trade_bill
from payments.channels.wechat_notify import notify_fact, open_notify, signature_headers

FAIL_BODY = {"code": "FAIL", "message": "失败"}
PUBLIC_KEY_ID_PREFIX = "PUB_KEY_ID_"
_PAY_TYPES = {
    Product.APP: WeChatPayType.APP,
    Product.JSAPI: WeChatPayType.JSAPI,
    Product.NATIVE: WeChatPayType.NATIVE,
    Product.H5: WeChatPayType.H5,
}
_DESCRIPTION_MAX = 127
_REASON_MAX = 80
# WeChat H5 wants the payer's IP; a poller's retry of the prepay has none (it was never stored) and sends this.
_H5_FALLBACK_IP = "127.0.0.1"
_NOTED_SKEW_S = 300


def make_wechat_client(
    *,
    mchid: str,
    appid: str,
    merchant_private_key_pem: str,
    merchant_serial_no: str,
    apiv3_key: str,
    public_key_pem: str,
    public_key_id: str,
    notify_url: str,
    gateway_url: str,
    connect_timeout: float = 3.0,
    read_timeout: float = 10.0,
) -> AsyncWeChatPay:
    """The client, not yet entered: the composition root enters it once (`async with`, an AsyncExitStack).

    Bad keys or settings raise ValueError here, at start-up, never at the first payment.
    """
    _check_settings(
        mchid, appid, merchant_private_key_pem, merchant_serial_no, apiv3_key, public_key_pem, public_key_id
    )
    if not notify_url or not gateway_url:
        raise ValueError("the WeChat Pay notify URL and gateway URL are required")
    wx = AsyncWeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,  # the async enum: the sync one fails with "pay_type is not assigned"
        mchid=mchid,
        private_key=merchant_private_key_pem,
        cert_serial_no=merchant_serial_no,
        appid=appid,
        apiv3_key=apiv3_key,
        notify_url=notify_url,
        public_key=public_key_pem,
        public_key_id=public_key_id,
        timeout=(connect_timeout, read_timeout),  # the SDK's default waits 30 s
        # No logger, ever: the SDK logs headers, bodies and decrypted notifies.
    )
    wx._core._gate_way = gateway_url.rstrip("/")  # the only override point (pinned by a contract test)
    # Public-key mode has no platform certificates. Left alone, a 2xx answer carrying any other serial makes the
    # SDK download /v3/certificates (unverified) to look for it: such an answer is simply unverifiable.
    wx._core._update_certificates = _no_certificates
    return wx


async def _no_certificates() -> None:
    return None


def _check_settings(
    mchid: str,
    appid: str,
    private_pem: str,
    serial_no: str,
    apiv3_key: str,
    public_pem: str,
    public_key_id: str,
) -> None:
    if not mchid or not appid or not serial_no:
        raise ValueError("the WeChat Pay mchid, appid and merchant serial number are required")
    if len(apiv3_key.encode("utf-8")) != 32:
        raise ValueError("the WeChat Pay APIv3 key must be 32 bytes")
    if not public_key_id.startswith(PUBLIC_KEY_ID_PREFIX):
        raise ValueError("the WeChat Pay public key id must start with PUB_KEY_ID_")
    if "-----BEGIN PRIVATE KEY-----" not in private_pem:
        # The SDK wraps anything else in PKCS#8 armour and then fails with an unhelpful message.
        raise ValueError("the WeChat Pay merchant private key must be a PKCS#8 PEM (BEGIN PRIVATE KEY)")
    try:
        private = serialization.load_pem_private_key(private_pem.encode(), password=None)
        public = serialization.load_pem_public_key(public_pem.encode())
    except (ValueError, TypeError) as exc:
        raise ValueError("a WeChat Pay key cannot be read") from exc
    if not isinstance(private, rsa.RSAPrivateKey) or private.key_size < 2048:
        raise ValueError("the WeChat Pay merchant key must be RSA of 2048 bits or more")
    if not isinstance(public, rsa.RSAPublicKey) or public.key_size < 2048:
        raise ValueError("the WeChat Pay public key must be RSA of 2048 bits or more")


class WechatPayChannel:
    name = Channel.WECHAT
    products = frozenset(_PAY_TYPES)

    def __init__(self, wx: AsyncWeChatPay, *, mchid: str, appid: str, public_key_id: str, clock: Clock) -> None:
        self._wx = wx
        self._mchid = mchid
        self._appid = appid
        self._public_key_id = public_key_id
        self._clock = clock

    # -- orders --

    async def create_order(self, spec: OrderSpec) -> CreateResult:
        pay_type = _PAY_TYPES.get(spec.product)
        if pay_type is None:
            return CreateResult(Outcome.REJECTED, reason=f"PRODUCT_UNSUPPORTED_{spec.product}")
        if spec.product is Product.JSAPI and not spec.payer_channel_id:
            return CreateResult(Outcome.REJECTED, reason="PAYER_OPENID_MISSING")  # the SDK would raise before HTTP
        if spec.expires_at.tzinfo is None:
            raise ValueError("OrderSpec.expires_at must be aware")
        extra: dict[str, Any] = {}
        if spec.product is Product.JSAPI:
            extra["payer"] = {"openid": spec.payer_channel_id}
        if spec.product is Product.H5:
            client_ip = spec.payer_client_ip or _H5_FALLBACK_IP
            extra["scene_info"] = {"payer_client_ip": client_ip, "h5_info": {"type": "Wap"}}
        answer = await call_sdk(
            "pay",
            lambda: self._wx.pay(
                description=spec.subject[:_DESCRIPTION_MAX],
                out_trade_no=spec.out_trade_no,
                amount={"total": spec.amount_fen, "currency": "CNY"},
                time_expire=spec.expires_at.astimezone(SHANGHAI).isoformat(timespec="seconds"),
                pay_type=pay_type,
                **extra,
            ),
        )
        if answer.outcome is not Outcome.OK:
            if answer.code in ORDER_PAID_CODES:
                # Already paid under this out_trade_no: a query tells how, a refusal would be a guess.
                return CreateResult(Outcome.UNKNOWN, reason=answer.code)
            return CreateResult(answer.outcome, reason=answer.code)
        try:
            payload = self._client_payload(spec.product, answer.body)
        except Exception as exc:
            return CreateResult(Outcome.UNKNOWN, reason=f"PAYLOAD_{type(exc).__name__}")
        return CreateResult(Outcome.OK, payload=payload)

    def _client_payload(self, product: Product, body: dict[str, Any]) -> dict[str, Any]:
        if product is Product.NATIVE:
            return {"codeUrl": _required(body, "code_url")}
        if product is Product.H5:
            return {"url": _required(body, "h5_url")}
        prepay_id = _required(body, "prepay_id")
        timestamp = str(int(self._clock.now().timestamp()))
        nonce = secrets.token_hex(16).upper()
        if product is Product.APP:
            sign = self._wx.sign([self._appid, timestamp, nonce, prepay_id])
            return {
                "appid": self._appid,
                "partnerid": self._mchid,
                "prepayid": prepay_id,
                "package": "Sign=WXPay",
                "noncestr": nonce,
                "timestamp": timestamp,
                "sign": str(sign),
            }
        package = f"prepay_id={prepay_id}"
        pay_sign = self._wx.sign([self._appid, timestamp, nonce, package])
        return {
            "appId": self._appid,
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": str(pay_sign),
        }

    async def query(self, out_trade_no: str) -> TradeFact:
        answer = await call_sdk("query", lambda: self._wx.query(out_trade_no=out_trade_no))
        if answer.outcome is Outcome.OK:
            return trade_fact(out_trade_no, answer.body)
        return TradeFact(answer.outcome, out_trade_no, state=_not_found_trade(answer), reason=answer.code)

    async def close(self, out_trade_no: str) -> CloseResult:
        answer = await call_sdk("close", lambda: self._wx.close(out_trade_no))
        if answer.outcome is Outcome.OK or answer.code in ORDER_CLOSED_CODES:
            return CloseResult(Outcome.OK, reason=answer.code)
        if answer.code in ORDER_PAID_CODES:
            return CloseResult(Outcome.REJECTED, already_paid=True, reason=answer.code)
        return CloseResult(answer.outcome, reason=answer.code)

    # -- refunds --

    async def refund(self, spec: RefundSpec) -> RefundFact:
        answer = await call_sdk(
            "refund",
            lambda: self._wx.refund(
                out_refund_no=spec.out_refund_no,
                amount={"refund": spec.amount_fen, "total": spec.total_fen, "currency": "CNY"},
                out_trade_no=spec.out_trade_no,
                reason=spec.reason[:_REASON_MAX] or None,
            ),
        )
        if answer.outcome is Outcome.OK:
            return refund_fact(spec.out_refund_no, answer.body)
        return RefundFact(answer.outcome, spec.out_refund_no, out_trade_no=spec.out_trade_no, reason=answer.code)

    async def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundFact:
        answer = await call_sdk("query_refund", lambda: self._wx.query_refund(out_refund_no))
        if answer.outcome is Outcome.OK:
            return refund_fact(out_refund_no, answer.body)
        state = RefundState.NOT_FOUND if answer.outcome is Outcome.REJECTED and answer.code in NOT_FOUND_CODES else None
        return RefundFact(answer.outcome, out_refund_no, state=state, out_trade_no=out_trade_no, reason=answer.code)

    # -- notifies --

    def parse_notify(self, headers: Any, body: bytes) -> NotifyFact | None:
        envelope = open_notify(self._wx, headers, body, self._public_key_id)
        if envelope is None:
            return None
        # Never refused for its age (WeChat retries for 24 h); a large skew is worth knowing about (§11 step 9).
        stamp = signature_headers(headers)["wechatpay-timestamp"]
        skew = self._clock.now().timestamp() - int(stamp) if stamp.isascii() and stamp.isdigit() else 0
        if abs(skew) > _NOTED_SKEW_S:
            log.info("wechat notify %s signed %.0f s away from our clock", envelope.get("id"), skew)
        return notify_fact(envelope, self._mchid)

    def ack(self, accepted: bool) -> Response:
        if accepted:
            return Response(status_code=204)  # no body: WeChat's acknowledgement
        return JSONResponse(FAIL_BODY, status_code=503)  # WeChat delivers again on its schedule

    def reject(self) -> Response:
        return JSONResponse(FAIL_BODY, status_code=401)

    # -- reconciliation --

    async def download_bill(self, bill_date: date) -> BillDownload:
        answer = await call_sdk("tradebill", lambda: self._wx.trade_bill(bill_date.isoformat()))
        if answer.outcome is not Outcome.OK:
            return BillDownload(answer.outcome, reason=answer.code)
        url, hash_type, hash_value = (text(answer.body.get(k)) for k in ("download_url", "hash_type", "hash_value"))
        if url is None or hash_type is None or hash_value is None:
            return BillDownload(Outcome.UNKNOWN, reason="INCOMPLETE_TRADEBILL_ANSWER")
        if not url.startswith(self._wx._core._gate_way + "/"):
            return BillDownload(Outcome.UNKNOWN, reason="FOREIGN_DOWNLOAD_URL")  # never sign a request elsewhere
        file: Answer = await call_sdk("billdownload", lambda: self._wx.download_bill(url))
        if file.outcome is not Outcome.OK:
            return BillDownload(file.outcome, reason=file.code)
        raw = file.raw if isinstance(file.raw, bytes) else str(file.raw or "").encode("latin-1", "replace")
        try:
            lines = parse_trade_bill(open_bill_file(raw, hash_type, hash_value))
        except BillFileError as exc:
            return BillDownload(Outcome.UNKNOWN, reason=f"BILL_FILE: {exc}")
        return BillDownload(Outcome.OK, tuple(lines))


def _required(body: dict[str, Any], key: str) -> str:
    value = text(body.get(key))
    if value is None:
        raise KeyError(key)
    return value


def _not_found_trade(answer: Answer) -> TradeState | None:
    return TradeState.NOT_FOUND if answer.outcome is Outcome.REJECTED and answer.code in NOT_FOUND_CODES else None
