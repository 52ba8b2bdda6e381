"""Opening a WeChat Pay notify (payments.md §6.3, §11 step 2): every check the SDK gets wrong is made before it.

The SDK raises on a missing signature type, raises `ValueError` on an empty serial, looks up (and in places
downloads) platform certificates for a serial it does not know, and accepts replays. So the headers are checked
here first; the SDK only verifies the RSA signature with our one platform public key and decrypts the resource.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from payments.channels.base import NotifyFact, Outcome
from payments.channels.wechat_answers import redact, refund_fact, text, trade_fact

log = logging.getLogger("zsb.payments.wechat")

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
PROBE_PREFIX = "WECHATPAY/SIGNTEST/"
SIGNATURE_HEADERS = (
    "wechatpay-timestamp",
    "wechatpay-nonce",
    "wechatpay-signature",
    "wechatpay-serial",
    "wechatpay-signature-type",
)
TRADE_EVENTS = frozenset({"TRANSACTION.SUCCESS"})
REFUND_EVENTS = frozenset({"REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"})


def signature_headers(headers: Any) -> dict[str, str]:
    """The five signature headers, looked up case-insensitively in starlette/httpx headers or a plain mapping."""
    found: dict[str, str] = {}
    items = headers.items() if hasattr(headers, "items") else ()
    for key, value in items:
        name = str(key).lower()
        if name in SIGNATURE_HEADERS:
            found[name] = str(value)
    return {name: found.get(name, "") for name in SIGNATURE_HEADERS}


def screen_headers(h: Mapping[str, str], public_key_id: str) -> str | None:
    """Why the notify must be refused before the SDK sees it, or None."""
    if not all(h.values()):
        return "MISSING_HEADER"
    if h["wechatpay-serial"] != public_key_id:
        return "FOREIGN_SERIAL"  # never let the SDK look up or download a certificate for it
    if h["wechatpay-signature-type"] != SIGNATURE_TYPE:
        return "SIGNATURE_TYPE"
    if h["wechatpay-signature"].startswith(PROBE_PREFIX):
        return "SIGNATURE_PROBE"  # WeChat tests that we refuse these
    return None


def open_notify(wx: Any, headers: Any, body: bytes, public_key_id: str) -> dict[str, Any] | None:
    """The verified envelope with `resource` decrypted, or None (the reason is logged, never the body)."""
    h = signature_headers(headers)
    reason = screen_headers(h, public_key_id)
    if reason is None:
        try:
            envelope = wx.callback(h, body.decode("utf-8"))  # None on a bad signature or ciphertext
        except Exception as exc:
            envelope, reason = None, f"SDK_{type(exc).__name__}"
        if envelope is None:
            reason = reason or "SIGNATURE_OR_CIPHERTEXT"
        elif not isinstance(envelope, dict) or not isinstance(envelope.get("resource"), dict):
            envelope, reason = None, "MALFORMED_ENVELOPE"
        else:
            return envelope
    log.warning("wechat notify refused: %s", reason)
    return None


def notify_fact(envelope: Mapping[str, Any], mchid: str) -> NotifyFact | None:
    """A verified envelope as a fact. None for events we do not handle or resources missing what a fact needs."""
    notify_id, event_type = text(envelope.get("id")), text(envelope.get("event_type"))
    resource: Mapping[str, Any] = envelope["resource"]
    if notify_id is None or event_type is None:
        return _refuse("NO_ID_OR_EVENT_TYPE")
    meta = {"notify_id": notify_id, "event_type": event_type, "create_time": envelope.get("create_time")}
    if event_type in TRADE_EVENTS:
        out_trade_no = text(resource.get("out_trade_no"))
        if out_trade_no is None or resource.get("trade_state") != "SUCCESS":
            return _refuse("TRANSACTION_RESOURCE")
        trade = trade_fact(out_trade_no, resource)
        if trade.outcome is not Outcome.OK:
            return _refuse(trade.reason)
        # mchid and appid are reported as received: the service flags a foreign merchant (§11 step 6).
        trade = replace(trade, payload_redacted={**meta, **redact(resource)})
        return NotifyFact(dedupe_key=notify_id, trade=trade, channel_event_id=notify_id)
    if event_type in REFUND_EVENTS:
        out_refund_no = text(resource.get("out_refund_no"))
        if out_refund_no is None:
            return _refuse("REFUND_RESOURCE")
        if resource.get("mchid") != mchid:
            # A refund fact carries no merchant for the service to check, so a foreign one stops here.
            return _refuse("FOREIGN_MERCHANT")
        refund = refund_fact(out_refund_no, resource, status_key="refund_status")
        if refund.outcome is not Outcome.OK:
            return _refuse(refund.reason)
        refund = replace(refund, payload_redacted={**meta, **redact(resource)})
        return NotifyFact(dedupe_key=notify_id, refund=refund, channel_event_id=notify_id)
    return _refuse(f"EVENT_{event_type}")


def _refuse(reason: str) -> NotifyFact | None:
    log.warning("wechat notify refused after verification: %s", reason)
    return None
