"""Carrier receipts of the SMS sandbox: Aliyun `SmsReport` pushes (a JSON array) to the configured receipt URL.

Aliyun's HTTP push carries no signature of its own; our receiving gateway adds one, and so does this twin:
`X-Zsb-Signature: base64(HMAC-SHA256(secret, raw body))`. A push that fails stays pending for the next flush, as
Aliyun retries its pushes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from api.kit.clock import SHANGHAI, Clock
from api.platforms.sms import RECEIPT_SIGNATURE_HEADER, receipt_signature

log = logging.getLogger(__name__)

DEFAULT_DELAY_S = 0.5


def aliyun_time(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class PendingReceipt:
    phone: str
    biz_id: str
    out_id: str
    sent_at: datetime


@dataclass(frozen=True)
class Report:
    """What the carrier said about one message, as QuerySendDetails shows it afterwards."""

    success: bool
    err_code: str
    reported_at: datetime


class ReceiptPusher:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.url = ""
        self._secret = ""
        self.delay_s: float | None = DEFAULT_DELAY_S  # None: only on an explicit flush
        self._pending: list[PendingReceipt] = []
        self.reports: dict[tuple[str, str], Report] = {}  # (biz id, phone) → report
        self._tasks: set[asyncio.Task[int]] = set()
        self._lock = asyncio.Lock()

    def configure(self, url: str, secret: str) -> None:
        self.url, self._secret = url, secret

    def pending(self) -> list[PendingReceipt]:
        return list(self._pending)

    def reset(self) -> None:
        self._pending.clear()
        self.reports.clear()

    def accepted(self, receipts: list[PendingReceipt]) -> None:
        """Messages the twin accepted: receipted shortly afterwards when a receipt URL is configured."""
        if not self.url:
            return
        self._pending.extend(receipts)
        if self.delay_s is not None:
            task = asyncio.get_running_loop().create_task(self._flush_later(self.delay_s))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flush_later(self, delay_s: float) -> int:
        await asyncio.sleep(delay_s)
        return await self.flush()

    async def flush(self) -> int:
        """Push every pending receipt now, in one SmsReport array; the number pushed (0 when the push failed)."""
        async with self._lock:
            batch, self._pending = self._pending, []
            if not batch or not self.url:
                self._pending[0:0] = batch
                return 0
            now = self._clock.now()
            body = json.dumps([self._report(r, now) for r in batch], ensure_ascii=False).encode()
            headers = {
                "content-type": "application/json",
                RECEIPT_SIGNATURE_HEADER: receipt_signature(self._secret, body),
            }
            try:
                async with httpx.AsyncClient(timeout=5.0) as client:
                    response = await client.post(self.url, content=body, headers=headers)
                ok = response.is_success
            except httpx.HTTPError as exc:
                log.warning("sms sandbox: receipt push to %s failed: %r", self.url, exc)
                ok = False
            if not ok:
                self._pending[0:0] = batch
                return 0
            for receipt in batch:
                self.reports[(receipt.biz_id, receipt.phone)] = Report(True, "DELIVERED", now)
            return len(batch)

    @staticmethod
    def _report(receipt: PendingReceipt, now: datetime) -> dict[str, Any]:
        return {
            "phone_number": receipt.phone,
            "success": True,
            "biz_id": receipt.biz_id,
            "out_id": receipt.out_id,
            "send_time": aliyun_time(receipt.sent_at),
            "report_time": aliyun_time(now),
            "err_code": "DELIVERED",
            "err_msg": "用户接收成功",
            "sms_size": "1",
        }
