"""Aliyun Dysmsapi `SendSms` (API version 2017-05-25, RPC style, HMAC-SHA1 signature v1.0)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import UTC
from typing import Any
from urllib.parse import quote

import httpx

from api.kit.clock import Clock, SystemClock
from api.kit.errors import ProviderError

API_VERSION = "2017-05-25"
# Aliyun answers these while a sending window is exhausted; they clear by themselves, so retry later.
_THROTTLED = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL"})


class SmsError(ProviderError):
    """Aliyun refused or failed; `provider_code` keeps Aliyun's own `Code` for finer classification."""

    def __init__(self, message: str, *, code: str, provider_code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.provider_code = provider_code


def percent_encode(value: str) -> str:
    # RFC 3986 as Aliyun specifies it: space %20, `*` %2A, `~` literal; quote() does exactly that.
    return quote(value, safe="")


def rpc_string_to_sign(http_method: str, params: Mapping[str, str]) -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{http_method.upper()}&{percent_encode('/')}&{percent_encode(canonical)}"


def rpc_signature(http_method: str, params: Mapping[str, str], access_key_secret: str) -> str:
    """The `Signature` parameter over every other parameter (pass them without `Signature`)."""
    digest = hmac.new(
        f"{access_key_secret}&".encode(), rpc_string_to_sign(http_method, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")


class AliyunSmsClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        region_id: str = "cn-hangzhou",
        clock: Clock | None = None,
    ) -> None:
        self._http = http
        self._endpoint = base_url.rstrip("/") + "/"
        self._access_key_id = access_key_id
        self._access_key_secret = access_key_secret
        self._sign_name = sign_name
        self._region_id = region_id
        self._clock = clock or SystemClock()

    async def send(self, phone: str, template_code: str, params: dict[str, str]) -> None:
        query = {
            "AccessKeyId": self._access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": self._region_id,
            "SignatureMethod": "HMAC-SHA1",
            # Aliyun rejects a nonce reused within 15 minutes: unique per request, retries included.
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": self._clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
            "PhoneNumbers": phone,
            "SignName": self._sign_name,
            "TemplateCode": template_code,
            "TemplateParam": json.dumps(params, ensure_ascii=False, separators=(",", ":")),
        }
        query["Signature"] = rpc_signature("POST", query, self._access_key_secret)
        try:
            response = await self._http.post(self._endpoint, data=query)
        except httpx.HTTPError as exc:
            raise SmsError("the SMS provider cannot be reached", code="SMS_UNAVAILABLE") from exc
        _raise_for_answer(response)


def _raise_for_answer(response: httpx.Response) -> None:
    answer: Any = None
    with contextlib.suppress(ValueError):
        answer = response.json()
    if response.status_code >= 500 or not isinstance(answer, dict):
        raise SmsError(f"the SMS provider failed (HTTP {response.status_code})", code="SMS_UNAVAILABLE")
    provider_code = str(answer.get("Code", ""))
    if provider_code == "OK" and response.status_code == 200:
        return
    message = str(answer.get("Message") or provider_code or "refused")
    if provider_code in _THROTTLED:
        code, text = "SMS_THROTTLED", f"SMS sending is throttled: {message}"
    elif provider_code.startswith("isp."):
        code, text = "SMS_UNAVAILABLE", f"the SMS provider failed: {message}"
    else:
        code, text = "SMS_REJECTED", f"the SMS provider refused the message: {message}"
    raise SmsError(text, code=code, provider_code=provider_code)
