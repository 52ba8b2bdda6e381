"""SMS through Aliyun Dysmsapi (notifications.md §1.8, §C6 SMS row): one `SendSms` per delivery, OutId = delivery id.

`SendSms` is not idempotent, so a timeout after the request may have been read is looked up with
`QuerySendDetails` by OutId before it is called a retry: found means sent. Delivery itself arrives later as a
receipt (`notifications.sms_receipts`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, time, timedelta

from api.kit.clock import SHANGHAI, Clock, SystemClock
from api.platforms.sms import AliyunSmsClient, SmsError, SmsSendAnswer, SmsTransportError
from notifications.channels.base import OutboundMessage, SendResult, send_each

log = logging.getLogger(__name__)

ILLEGAL_NUMBER = "isv.MOBILE_NUMBER_ILLEGAL"
BUSINESS_LIMIT = "isv.BUSINESS_LIMIT_CONTROL"
DAY_LIMIT = "isv.DAY_LIMIT_CONTROL"
# Template, signature, parameter and content errors: the message can never go out as it is.
_TEMPLATE_BUGS = frozenset(
    {
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.SMS_SIGNATURE_ILLEGAL",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.INVALID_JSON_PARAM",
        "isv.PARAM_LENGTH_LIMIT",
        "isv.BLACK_KEY_CONTROL_LIMIT",
    }
)
# The account cannot send until operations act (top up, re-open the service): retry, and page someone.
_ACCOUNT_DOWN = frozenset({"isv.AMOUNT_NOT_ENOUGH", "isv.OUT_OF_SERVICE"})
MINUTE_WINDOW_S = 60.0
HOUR_WINDOW_S = 3600.0


class SmsAdapter:
    channel = "sms"

    def __init__(self, client: AliyunSmsClient, *, clock: Clock | None = None, concurrency: int = 16) -> None:
        self._client = client
        self._clock = clock or SystemClock()
        self._slots = asyncio.Semaphore(concurrency)

    async def aclose(self) -> None:
        """The client's http connection pool belongs to whoever built it."""

    async def send(self, items: Sequence[OutboundMessage]) -> list[SendResult]:
        return await send_each(items, self._send_one, self._slots, "SMS")

    async def _send_one(self, item: OutboundMessage) -> SendResult:
        out_id = str(item.delivery_id)
        started = self._clock.now()
        try:
            answer = await self._client.send_sms(
                item.address,
                item.vendor_template_id,
                dict(item.data),
                sign_name=item.sign_name or None,
                out_id=out_id,
            )
        except SmsTransportError as exc:
            if not exc.maybe_sent:
                return SendResult("retry", reason="connection")
            return await self._after_timeout(item.address, started, out_id)
        return self._classify(answer)

    async def _after_timeout(self, phone: str, started: datetime, out_id: str) -> SendResult:
        try:
            found = await self._client.query_send_details(phone, started.astimezone(SHANGHAI).date(), out_id)
        except SmsError as exc:
            return SendResult("retry", reason=f"timeout; QuerySendDetails failed: {exc.provider_code or exc.code}")
        if found:
            return SendResult("sent", reason="timeout; found by QuerySendDetails")
        return SendResult("retry", reason="timeout")

    def _classify(self, answer: SmsSendAnswer) -> SendResult:
        code, status = answer.code, answer.http_status
        if code == "OK" and status == 200:
            return SendResult("sent", provider_id=answer.biz_id, http_status=status)
        if code == ILLEGAL_NUMBER:
            return SendResult("invalid_endpoint", reason=code, http_status=status)
        if code in (BUSINESS_LIMIT, DAY_LIMIT):
            wait = self._window_s(code, answer.message)
            return SendResult("retry", reason=code, http_status=status, retry_after_s=wait)
        if code in _ACCOUNT_DOWN:
            log.error("sms: the Aliyun account cannot send (%s %s)", code, answer.message)
            return SendResult("retry", reason=code, http_status=status, alert=True)
        if code.startswith(("isp.", "Throttling")) or status >= 500 or status == 429:
            return SendResult("retry", reason=code or f"HTTP {status}", http_status=status)
        # Template bugs, and also credential errors and anything unknown: never retried, an operator must look.
        reason = code or f"HTTP {status}"
        kind = "a template, signature or parameter error" if code in _TEMPLATE_BUGS else "a refusal"
        log.error("sms: Aliyun answered %s (%s %s)", kind, reason, answer.message)
        return SendResult("permanent", reason=reason, http_status=status, alert=True)

    def _window_s(self, code: str, message: str) -> float:
        """Until the flow-control window Aliyun names ends: a minute, an hour, or the end of the Beijing day."""
        if code == BUSINESS_LIMIT and "分钟" in message:
            return MINUTE_WINDOW_S
        if code == BUSINESS_LIMIT and "小时" in message:
            return HOUR_WINDOW_S
        if code == BUSINESS_LIMIT and "天" not in message:
            return MINUTE_WINDOW_S
        now = self._clock.now().astimezone(SHANGHAI)
        midnight = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=SHANGHAI)
        return (midnight - now).total_seconds()
