"""Alipay mini-program subscribe messages (`alipay.open.app.mini.templatemessage.send`, §1.6) with the §C6
classification.

The gateway client signs the request and verifies the reply; a reply whose signature fails is never taken as
success, whatever it says.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

from api.platforms.alipay import AlipayError, AlipayGateway
from notifications.channels.base import OutboundMessage, SendResult, send_each
from notifications.channels.wechat import mini_program_page

log = logging.getLogger("zsb.notifications.alipay")

SEND_METHOD = "alipay.open.app.mini.templatemessage.send"
# The `sub_code`s of a 40004 that mean "the user holds no subscription to this template": the quota goes to 0.
NO_SUBSCRIPTION_SUB_CODES = frozenset({"USER_TEMPLATE_NOT_SUBSCRIBED"})
RETRY_CODES = frozenset({"20000"})  # service unavailable


def template_message_biz(message: OutboundMessage) -> dict[str, Any]:
    data = {key: {"value": value} for key, value in message.data.items()}
    biz: dict[str, Any] = {
        # Alipay user ids are 2088… numbers; apps configured for open ids receive those instead.
        ("to_user_id" if message.address.startswith("2088") else "to_open_id"): message.address,
        "user_template_id": message.vendor_template_id,
        "data": json.dumps(data, ensure_ascii=False, separators=(",", ":")),
    }
    page = mini_program_page(message.deeplink)
    if page:
        biz["page"] = page
    return biz


class AlipayAdapter:
    channel = "alipay"

    def __init__(self, gateway: AlipayGateway, *, timeout_s: float = 10.0, concurrency: int = 32) -> None:
        self._gateway = gateway
        self._timeout_s = timeout_s
        self._slots = asyncio.Semaphore(concurrency)

    async def send(self, items: Sequence[OutboundMessage]) -> list[SendResult]:
        return await send_each(items, self._send_one, self._slots, "Alipay")

    async def aclose(self) -> None:
        """The gateway's http client belongs to the composition root, which closes it."""

    async def _send_one(self, message: OutboundMessage) -> SendResult:
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._gateway.call(SEND_METHOD, biz_content=template_message_biz(message))
        except TimeoutError:
            return SendResult("retry", reason="timeout")
        except AlipayError as error:
            return classify(error)
        # The reply carries no message id: the delivery itself is the record.
        return SendResult("sent", http_status=200)


def classify(error: AlipayError) -> SendResult:
    """§C6 Alipay row, for a call that did not succeed."""
    if error.code == "ALIPAY_BAD_SIGNATURE":
        log.error("Alipay's reply to a template message failed signature verification")
        return SendResult("technical", reason="bad response signature", alert=True)
    if error.code == "ALIPAY_UNAVAILABLE":
        # Unreachable, HTTP error, unreadable body: nothing was decided by Alipay that we know of.
        return SendResult("retry", reason=error.message)
    reason = f"{error.alipay_code or error.code} {error.sub_code or ''}".strip()
    if error.alipay_code == "40004" and error.sub_code in NO_SUBSCRIPTION_SUB_CODES:
        return SendResult("no_consent", reason=reason)
    if error.alipay_code in RETRY_CODES:
        return SendResult("retry", reason=reason)
    # 20001/40001/40002/40006, any other 40004 and anything undocumented: a configuration or template bug.
    log.error("Alipay refused a template message: %s (%s)", reason, error.message)
    return SendResult("permanent", reason=reason, alert=True)
