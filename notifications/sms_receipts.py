"""Aliyun SMS carrier receipts (SmsReport pushes, notifications.md §1.8) as our receiving gateway forwards them.

Aliyun's HTTP push has no signature of its own; the gateway in front of us signs the raw body:
`X-Zsb-Signature: base64(HMAC-SHA256(secret, raw body))`. The body is Aliyun's JSON array of SmsReport objects
(phone_number, success, biz_id, out_id, send_time, report_time, err_code, err_msg, sms_size). Nothing is read
before the signature is verified.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.kit.clock import SHANGHAI
from api.platforms.sms import RECEIPT_SIGNATURE_HEADER, receipt_signature
from notifications.errors import NotificationsError, NotificationsErrorCode

__all__ = ["SIGNATURE_HEADER", "SmsReceipt", "parse_sms_report", "receipt_signature"]

SIGNATURE_HEADER = RECEIPT_SIGNATURE_HEADER  # what the callback route reads


@dataclass(frozen=True)
class SmsReceipt:
    out_id: str  # our delivery id, "" for messages sent without one (sign-in codes)
    biz_id: str
    phone: str
    success: bool
    err_code: str
    report_time: datetime | None  # Aliyun's "yyyy-MM-dd HH:mm:ss" in Beijing time, made aware


def parse_sms_report(body: bytes, signature: str | None, secret: str) -> list[SmsReceipt]:
    """The receipts of one push; INVALID_INPUT for a missing or wrong signature or a body that is not SmsReport."""
    expected = receipt_signature(secret, body).encode()
    if not signature or not hmac.compare_digest(expected, signature.strip().encode("ascii", "replace")):
        raise NotificationsError(NotificationsErrorCode.INVALID_INPUT, "the receipt signature does not match")
    try:
        reports = json.loads(body)
    except ValueError as exc:
        raise NotificationsError(NotificationsErrorCode.INVALID_INPUT, "the receipt body is not JSON") from exc
    if isinstance(reports, dict):
        reports = [reports]
    if not isinstance(reports, list) or not all(isinstance(r, dict) for r in reports):
        raise NotificationsError(NotificationsErrorCode.INVALID_INPUT, "the receipt body is not an SmsReport array")
    return [_receipt(r) for r in reports]


def _receipt(report: dict[str, Any]) -> SmsReceipt:
    success = report.get("success")
    return SmsReceipt(
        out_id=str(report.get("out_id") or ""),
        biz_id=str(report.get("biz_id") or ""),
        phone=str(report.get("phone_number") or ""),
        success=success is True or str(success).lower() == "true",
        err_code=str(report.get("err_code") or ""),
        report_time=_beijing_time(report.get("report_time")),
    )


def _beijing_time(value: Any) -> datetime | None:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    except ValueError:
        return None
