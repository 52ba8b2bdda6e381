"""Aliyun Dysmsapi twin: verifies the RPC signature of `SendSms` and keeps every message it "delivers".

Simulated numbers (as GOV.UK Notify has them): 13800000002 → isv.MOBILE_NUMBER_ILLEGAL, 13800000003 →
isv.BUSINESS_LIMIT_CONTROL; any other valid number (13800000001 for tests) is accepted and, once a receipt URL
is set, receipted by a signed SmsReport push (`sms_receipts`) when it carried an OutId. `QuerySendDetails` answers
from what was sent.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.kit.clock import SHANGHAI, Clock
from api.platforms.sandbox.base import Handler, ProviderCall, Sandbox, json_error
from api.platforms.sandbox.sms_receipts import PendingReceipt, ReceiptPusher, aliyun_time
from api.platforms.sms.aliyun import API_VERSION, rpc_signature

SANDBOX_SMS_ACCESS_KEY_ID = "sandbox-ak"
SANDBOX_SMS_ACCESS_KEY_SECRET = "sandbox-sk"  # noqa: S105 (a public sandbox credential)
# Simulated numbers (as GOV.UK Notify has them): provider refusals without any scripting.
ILLEGAL_NUMBER = "13800000002"
THROTTLED_NUMBER = "13800000003"
DEFAULT_TEMPLATES = {"SMS_OTP": "您的验证码为${code}，5分钟内有效，请勿泄露。"}
MAX_NUMBERS = 1000
MAX_PAGE_SIZE = 50
# Aliyun refuses a Timestamp further than this from its clock, and a nonce reused within it.
_WINDOW = timedelta(minutes=15)
_MOBILE = re.compile(r"^(?:\+86|0086)?(1[3-9]\d{9})$")
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    sign_name: str
    template_code: str
    params: dict[str, str]
    text: str
    sent_at: datetime
    out_id: str = ""
    biz_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "phone": self.phone,
            "signName": self.sign_name,
            "templateCode": self.template_code,
            "params": self.params,
            "text": self.text,
            "sentAt": self.sent_at.isoformat(),
            "outId": self.out_id,
            "bizId": self.biz_id,
        }


class _Refusal(Exception):
    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class SmsSandbox(Sandbox):
    name = "sms"

    def __init__(self, hub_base_url: str, clock: Clock) -> None:
        super().__init__(hub_base_url, clock)
        self._access_keys = {SANDBOX_SMS_ACCESS_KEY_ID: SANDBOX_SMS_ACCESS_KEY_SECRET}
        self._templates = dict(DEFAULT_TEMPLATES)
        self._messages: list[SmsMessage] = []
        self._nonces: dict[str, datetime] = {}
        self._slow_answers: dict[str, int] = {}
        self.receipts = ReceiptPusher(clock)

    def register_access_key(self, access_key_id: str, access_key_secret: str) -> None:
        self._access_keys[access_key_id] = access_key_secret

    def register_template(self, template_code: str, text: str) -> None:
        """Text with `${name}` placeholders; unregistered templates are accepted and rendered generically."""
        self._templates[template_code] = text

    def messages(self, phone: str | None = None) -> list[SmsMessage]:
        """Messages sent so far, oldest first."""
        return [m for m in self._messages if phone is None or m.phone == phone]

    def set_receipt_url(self, url: str, secret: str) -> None:
        """Where accepted messages are receipted (SmsReport pushes signed with `secret`); "" switches them off."""
        self.receipts.configure(url, secret)

    async def flush_receipts(self) -> int:
        return await self.receipts.flush()

    def answer_slowly(self, phone: str, delay_ms: int) -> None:
        """Accept messages to `phone` at once but hold the answer back: a timeout after Aliyun acted on it."""
        self._slow_answers[phone] = delay_ms

    def reset(self) -> None:
        super().reset()
        self._messages.clear()
        self._slow_answers.clear()
        self.receipts.reset()

    def provider_routes(self) -> list[tuple[str, list[str], Handler]]:
        return [("/", ["GET", "POST"], self._rpc)]

    def harness_routes(self) -> list[BaseRoute]:
        return [
            Route("/messages", self._list_messages, methods=["GET", "DELETE"]),
            Route("/_control/receipts/flush", self._flush, methods=["POST"]),
            Route("/_control/slow-answer", self._slow_answer, methods=["POST"]),
        ]

    async def _flush(self, request: Request) -> Response:
        return JSONResponse({"pushed": await self.flush_receipts(), "pending": len(self.receipts.pending())})

    async def _slow_answer(self, request: Request) -> Response:
        try:
            payload = json.loads(await request.body())
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("phone"), str):
            return json_error("body must be {phone, delayMs}")
        delay = payload.get("delayMs")
        if not isinstance(delay, int) or isinstance(delay, bool) or delay < 0:
            return json_error("delayMs must be a non-negative integer")
        self.answer_slowly(payload["phone"], delay)
        return JSONResponse({"phone": payload["phone"], "delayMs": delay}, status_code=201)

    async def _list_messages(self, request: Request) -> Response:
        if request.method == "DELETE":
            self._messages.clear()
            return Response(status_code=204)
        phone = request.query_params.get("phone") or None
        return JSONResponse({"messages": [m.to_json() for m in self.messages(phone)]})

    async def _rpc(self, call: ProviderCall) -> Response:
        request_id = secrets.token_hex(16).upper()
        try:
            params = {**call.query, **call.form}
            self._authenticate(call.method, params)
            if params.get("Action") == "QuerySendDetails":
                return JSONResponse({"RequestId": request_id, "Code": "OK", "Message": "OK", **self._details(params)})
            biz_id = f"{secrets.randbelow(10**6):06d}^{secrets.randbelow(10**10):010d}"
            messages = self._compose(params, biz_id)
        except _Refusal as refusal:
            answer = {"RequestId": request_id, "Code": refusal.code, "Message": refusal.message}
            if refusal.status != 200:
                answer |= {"HostId": "dysmsapi.aliyuncs.com", "Recommend": "sandbox"}
            return JSONResponse(answer, status_code=refusal.status)
        self._messages.extend(messages)
        # Only messages sent with an OutId are receipted: Aliyun would receipt sign-in codes too, but nothing of
        # ours reads those, and pushes arriving in the middle of unrelated requests would only be noise.
        self.receipts.accepted([PendingReceipt(m.phone, m.biz_id, m.out_id, m.sent_at) for m in messages if m.out_id])
        delay_ms = max((self._slow_answers.get(m.phone, 0) for m in messages), default=0)
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        return JSONResponse({"Message": "OK", "RequestId": request_id, "Code": "OK", "BizId": biz_id})

    def _details(self, params: dict[str, str]) -> dict[str, Any]:
        for name in ("PhoneNumber", "SendDate", "PageSize", "CurrentPage"):
            if not params.get(name):
                raise _Refusal(f"Missing{name}", f"{name} is mandatory for this action.", 400)
        try:
            day = datetime.strptime(params["SendDate"], "%Y%m%d").date()
            size, page = int(params["PageSize"]), int(params["CurrentPage"])
        except ValueError as exc:
            raise _Refusal("isv.INVALID_PARAMETERS", "参数异常") from exc
        if not 1 <= size <= MAX_PAGE_SIZE or page < 1:
            raise _Refusal("isv.INVALID_PARAMETERS", "参数异常")
        phone, biz_id = params["PhoneNumber"], params.get("BizId", "")
        rows = [
            m
            for m in self._messages
            if m.phone == phone and m.sent_at.astimezone(SHANGHAI).date() == day and biz_id in ("", m.biz_id)
        ]
        dtos = [self._detail(m) for m in rows[(page - 1) * size : page * size]]
        return {"TotalCount": len(rows), "SmsSendDetailDTOs": {"SmsSendDetailDTO": dtos}}

    def _detail(self, message: SmsMessage) -> dict[str, Any]:
        report = self.receipts.reports.get((message.biz_id, message.phone))
        return {
            "PhoneNum": message.phone,
            "SendStatus": 1 if report is None else 3 if report.success else 2,
            "ErrCode": "" if report is None else report.err_code,
            "TemplateCode": message.template_code,
            "Content": message.text,
            "SendDate": aliyun_time(message.sent_at),
            "ReceiveDate": "" if report is None else aliyun_time(report.reported_at),
            "OutId": message.out_id,
        }

    def _authenticate(self, http_method: str, params: dict[str, str]) -> None:
        signature = params.pop("Signature", "")
        if not signature:
            raise _Refusal("MissingSignature", "Signature is mandatory for this action.", 400)
        secret = self._access_keys.get(params.get("AccessKeyId", ""))
        if secret is None:
            raise _Refusal("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            raise _Refusal("InvalidSignatureMethod", "Specified signature method is not supported.", 400)
        if signature != rpc_signature(http_method, params, secret):
            raise _Refusal("SignatureDoesNotMatch", "Specified signature is not matched with our calculation.", 400)
        now = self.clock.now()
        try:
            stamp = datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError as exc:
            raise _Refusal("InvalidTimeStamp.Format", "Specified time stamp is not valid.", 400) from exc
        if abs(now - stamp) > _WINDOW:
            raise _Refusal("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.", 400)
        self._nonces = {nonce: seen for nonce, seen in self._nonces.items() if now - seen <= _WINDOW}
        nonce = params.get("SignatureNonce", "")
        if not nonce or nonce in self._nonces:
            raise _Refusal("SignatureNonceUsed", "Specified signature nonce was used already.", 400)
        self._nonces[nonce] = now
        if params.get("Action") not in ("SendSms", "QuerySendDetails"):
            raise _Refusal("InvalidAction.NotFound", "Specified api is not found.", 404)
        if params.get("Version") != API_VERSION:
            raise _Refusal("InvalidVersion", "Specified parameter Version is not valid.", 400)

    def _compose(self, params: dict[str, str], biz_id: str) -> list[SmsMessage]:
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                raise _Refusal(f"Missing{name}", f"{name} is mandatory for this action.", 400)
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError as exc:
            raise _Refusal("isv.INVALID_JSON_PARAM", "JSON参数不合法") from exc
        if not isinstance(values, dict):
            raise _Refusal("isv.INVALID_JSON_PARAM", "JSON参数不合法")
        values = {str(k): str(v) for k, v in values.items()}
        phones = params["PhoneNumbers"].split(",")
        if len(phones) > MAX_NUMBERS:
            raise _Refusal("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制")
        sign, template = params["SignName"], params["TemplateCode"]
        text = self._render(sign, template, values)
        messages = []
        for raw in phones:
            match = _MOBILE.match(raw.strip())
            if match is None or match.group(1) == ILLEGAL_NUMBER:
                raise _Refusal("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
            if match.group(1) == THROTTLED_NUMBER:
                raise _Refusal("isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控Permits:10")
            now, out_id = self.clock.now(), params.get("OutId", "")
            messages.append(SmsMessage(match.group(1), sign, template, values, text, now, out_id, biz_id))
        return messages

    def _render(self, sign: str, template_code: str, values: dict[str, str]) -> str:
        template = self._templates.get(template_code)
        if template is None:
            return f"【{sign}】[{template_code}] " + json.dumps(values, ensure_ascii=False, sort_keys=True)
        missing = [name for name in _PLACEHOLDER.findall(template) if name not in values]
        if missing:
            raise _Refusal("isv.TEMPLATE_MISSING_PARAMETERS", f"模版缺少变量: {', '.join(missing)}")
        return f"【{sign}】" + _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
