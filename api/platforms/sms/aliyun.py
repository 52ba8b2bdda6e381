"""Aliyun Dysmsapi `SendSms` and `QuerySendDetails` (API version 2017-05-25, RPC style, HMAC-SHA1 signature v1.0).

`SendSms` is not idempotent: after a timeout, look the message up by its OutId (`query_send_details`) before
sending it again (notifications.md §1.8).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date
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


@dataclass(frozen=True)
class SmsSendAnswer:
    """Aliyun's answer to one `SendSms`, whatever it says: `code` is "OK" or Aliyun's error code, "" without JSON."""

    code: str
    message: str
    biz_id: str | None
    request_id: str | None
    http_status: int


@dataclass(frozen=True)
class SmsDetail:
    """One row of `QuerySendDetails`: `send_status` 1 awaiting the carrier receipt, 2 failed, 3 delivered."""

    phone: str
    send_status: int
    err_code: str
    template_code: str
    content: str
    send_date: str
    receive_date: str
    out_id: str


class SmsTransportError(SmsError):
    """No answer. `maybe_sent`: the request may have reached Aliyun (a read timeout), so query before resending."""

    def __init__(self, message: str, *, maybe_sent: bool) -> None:
        super().__init__(message, code="SMS_UNAVAILABLE")
        self.maybe_sent = maybe_sent


RECEIPT_SIGNATURE_HEADER = "X-Zsb-Signature"


def receipt_signature(secret: str, body: bytes) -> str:
    """`X-Zsb-Signature` of an SmsReport push: base64(HMAC-SHA256(secret, raw body)).

    Aliyun's HTTP push carries no signature of its own; our receiving gateway adds this one.
    """
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode("ascii")


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
        self.sign_name = sign_name
        self._region_id = region_id
        self._clock = clock or SystemClock()

    async def send(self, phone: str, template_code: str, params: dict[str, str]) -> None:
        """Send or raise `SmsError` (sign-in codes: the caller only needs to know it failed, and why)."""
        _raise_for_answer(await self.send_sms(phone, template_code, params))

    async def send_sms(
        self,
        phone: str,
        template_code: str,
        params: Mapping[str, str],
        *,
        sign_name: str | None = None,
        out_id: str | None = None,
    ) -> SmsSendAnswer:
        """One `SendSms`; Aliyun's answer is returned as is. Raises `SmsTransportError` only when none came."""
        query = {
            "Action": "SendSms",
            "PhoneNumbers": phone,
            "SignName": sign_name or self.sign_name,
            "TemplateCode": template_code,
            "TemplateParam": json.dumps(dict(params), ensure_ascii=False, separators=(",", ":")),
        }
        if out_id:
            query["OutId"] = out_id
        response = await self._call(query)
        answer = _json_object(response)
        return SmsSendAnswer(
            code=str(answer.get("Code", "")),
            message=str(answer.get("Message", "")),
            biz_id=_opt_str(answer.get("BizId")),
            request_id=_opt_str(answer.get("RequestId")),
            http_status=response.status_code,
        )

    async def query_send_details(
        self, phone: str, send_date: date, out_id: str, *, page_size: int = 50
    ) -> list[SmsDetail]:
        """The messages sent to `phone` on `send_date` (Beijing time) whose OutId is `out_id`, every page read."""
        found: list[SmsDetail] = []
        page = 1
        while True:
            query = {
                "Action": "QuerySendDetails",
                "PhoneNumber": phone,
                "SendDate": send_date.strftime("%Y%m%d"),
                "PageSize": str(page_size),
                "CurrentPage": str(page),
            }
            response = await self._call(query)
            answer = _json_object(response)
            if response.status_code != 200 or answer.get("Code") != "OK":
                code = str(answer.get("Code") or f"HTTP {response.status_code}")
                raise SmsError(f"QuerySendDetails failed: {code}", code="SMS_UNAVAILABLE", provider_code=code)
            dtos = answer.get("SmsSendDetailDTOs")
            rows = dtos.get("SmsSendDetailDTO") if isinstance(dtos, dict) else None
            rows = rows if isinstance(rows, list) else []
            found.extend(detail for row in rows if isinstance(row, dict) and (detail := _detail(row)).out_id == out_id)
            try:
                total = int(answer.get("TotalCount", 0))
            except (TypeError, ValueError):
                total = 0
            if not rows or page * page_size >= total:
                return found
            page += 1

    async def _call(self, action_params: Mapping[str, str]) -> httpx.Response:
        query = {
            "AccessKeyId": self._access_key_id,
            "Format": "JSON",
            "RegionId": self._region_id,
            "SignatureMethod": "HMAC-SHA1",
            # Aliyun rejects a nonce reused within 15 minutes: unique per request, retries included.
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": self._clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
            **action_params,
        }
        query["Signature"] = rpc_signature("POST", query, self._access_key_secret)
        try:
            return await self._http.post(self._endpoint, data=query)
        except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            # The request may have been read and acted on before the answer was lost.
            raise SmsTransportError("the SMS provider did not answer", maybe_sent=True) from exc
        except httpx.HTTPError as exc:
            raise SmsTransportError("the SMS provider cannot be reached", maybe_sent=False) from exc


def _json_object(response: httpx.Response) -> dict[str, Any]:
    answer: Any = None
    with contextlib.suppress(ValueError):
        answer = response.json()
    return answer if isinstance(answer, dict) else {}


def _opt_str(value: Any) -> str | None:
    return str(value) if value is not None and value != "" else None


def _detail(row: Mapping[str, Any]) -> SmsDetail:
    try:
        status = int(row.get("SendStatus", 0))
    except (TypeError, ValueError):
        status = 0
    return SmsDetail(
        phone=str(row.get("PhoneNum", "")),
        send_status=status,
        err_code=str(row.get("ErrCode", "")),
        template_code=str(row.get("TemplateCode", "")),
        content=str(row.get("Content", "")),
        send_date=str(row.get("SendDate", "")),
        receive_date=str(row.get("ReceiveDate", "")),
        out_id=str(row.get("OutId", "")),
    )


def _raise_for_answer(answer: SmsSendAnswer) -> None:
    if answer.http_status >= 500 or not answer.code:
        raise SmsError(f"the SMS provider failed (HTTP {answer.http_status})", code="SMS_UNAVAILABLE")
    provider_code = answer.code
    if provider_code == "OK" and answer.http_status == 200:
        return
    message = answer.message or provider_code
    if provider_code in _THROTTLED:
        code, text = "SMS_THROTTLED", f"SMS sending is throttled: {message}"
    elif provider_code.startswith("isp."):
        code, text = "SMS_UNAVAILABLE", f"the SMS provider failed: {message}"
    else:
        code, text = "SMS_REJECTED", f"the SMS provider refused the message: {message}"
    raise SmsError(text, code=code, provider_code=provider_code)
