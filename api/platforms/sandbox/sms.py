"""Aliyun Dysmsapi twin: verifies the RPC signature of `SendSms` and keeps every message it "delivers"."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.kit.clock import Clock
from api.platforms.sandbox.base import Handler, ProviderCall, Sandbox
from api.platforms.sms.aliyun import API_VERSION, rpc_signature

SANDBOX_SMS_ACCESS_KEY_ID = "sandbox-ak"
SANDBOX_SMS_ACCESS_KEY_SECRET = "sandbox-sk"  # noqa: S105 (a public sandbox credential)
# Simulated numbers (as GOV.UK Notify has them): provider refusals without any scripting.
ILLEGAL_NUMBER = "13800000002"
THROTTLED_NUMBER = "13800000003"
DEFAULT_TEMPLATES = {"SMS_OTP": "您的验证码为${code}，5分钟内有效，请勿泄露。"}
MAX_NUMBERS = 1000
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

    def to_json(self) -> dict[str, Any]:
        return {
            "phone": self.phone,
            "signName": self.sign_name,
            "templateCode": self.template_code,
            "params": self.params,
            "text": self.text,
            "sentAt": self.sent_at.isoformat(),
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

    def register_access_key(self, access_key_id: str, access_key_secret: str) -> None:
        self._access_keys[access_key_id] = access_key_secret

    def register_template(self, template_code: str, text: str) -> None:
        """Text with `${name}` placeholders; unregistered templates are accepted and rendered generically."""
        self._templates[template_code] = text

    def messages(self, phone: str | None = None) -> list[SmsMessage]:
        """Messages sent so far, oldest first."""
        return [m for m in self._messages if phone is None or m.phone == phone]

    def reset(self) -> None:
        super().reset()
        self._messages.clear()

    def provider_routes(self) -> list[tuple[str, list[str], Handler]]:
        return [("/", ["GET", "POST"], self._send_sms)]

    def harness_routes(self) -> list[BaseRoute]:
        return [Route("/messages", self._list_messages, methods=["GET", "DELETE"])]

    async def _list_messages(self, request: Request) -> Response:
        if request.method == "DELETE":
            self._messages.clear()
            return Response(status_code=204)
        phone = request.query_params.get("phone") or None
        return JSONResponse({"messages": [m.to_json() for m in self.messages(phone)]})

    async def _send_sms(self, call: ProviderCall) -> Response:
        request_id = secrets.token_hex(16).upper()
        try:
            params = {**call.query, **call.form}
            self._authenticate(call.method, params)
            messages = self._compose(params)
        except _Refusal as refusal:
            answer = {"RequestId": request_id, "Code": refusal.code, "Message": refusal.message}
            if refusal.status != 200:
                answer |= {"HostId": "dysmsapi.aliyuncs.com", "Recommend": "sandbox"}
            return JSONResponse(answer, status_code=refusal.status)
        self._messages.extend(messages)
        biz_id = f"{secrets.randbelow(10**6):06d}^{secrets.randbelow(10**10):010d}"
        return JSONResponse({"Message": "OK", "RequestId": request_id, "Code": "OK", "BizId": biz_id})

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
        if params.get("Action") != "SendSms":
            raise _Refusal("InvalidAction.NotFound", "Specified api is not found.", 404)
        if params.get("Version") != API_VERSION:
            raise _Refusal("InvalidVersion", "Specified parameter Version is not valid.", 400)

    def _compose(self, params: dict[str, str]) -> list[SmsMessage]:
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
            messages.append(SmsMessage(match.group(1), sign, template, values, text, self.clock.now()))
        return messages

    def _render(self, sign: str, template_code: str, values: dict[str, str]) -> str:
        template = self._templates.get(template_code)
        if template is None:
            return f"【{sign}】[{template_code}] " + json.dumps(values, ensure_ascii=False, sort_keys=True)
        missing = [name for name in _PLACEHOLDER.findall(template) if name not in values]
        if missing:
            raise _Refusal("isv.TEMPLATE_MISSING_PARAMETERS", f"模版缺少变量: {', '.join(missing)}")
        return f"【{sign}】" + _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
