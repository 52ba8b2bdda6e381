"""WeChat message push (消息推送) for subscribe messages: the signature check and the events it carries (§1.5).

Plain-text mode with JSON bodies. `List` is an object when the event concerns one template and an array when it
concerns several; both are read. Any status starting with `accept` (e.g. `acceptWithAlert`) is an acceptance.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from notifications.errors import NotificationsError, NotificationsErrorCode

EventKind = Literal["popup", "change", "sent"]
_KINDS: dict[str, EventKind] = {
    "subscribe_msg_popup_event": "popup",
    "subscribe_msg_change_event": "change",
    "subscribe_msg_sent_event": "sent",
}


@dataclass(frozen=True)
class WechatEvent:
    kind: EventKind
    openid: str
    template_id: str
    status: str  # SubscribeStatusString for popup/change; ErrorStatus for sent
    accept: bool  # popup/change: the user accepted; sent: the message reached the user
    msgid: str | None = None  # sent events only
    error: int | None = None  # sent events only: ErrorCode, 0 on success
    create_time: int | None = None  # seconds since the epoch, as WeChat stamped it


def verify_signature(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """SHA-1 of the token, timestamp and nonce, sorted and joined, against the `signature` query parameter."""
    # SHA-1 is WeChat's choice, not ours: the protocol fixes it.
    expected = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324
    return hmac.compare_digest(expected.encode(), signature.lower().encode())


def parse_events(body: bytes) -> list[WechatEvent]:
    """The subscribe-message events of one push; other pushes (messages, other events) give an empty list.

    Raises NotificationsError INVALID_INPUT for a body that is not a WeChat JSON event.
    """
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid("the push body is not JSON") from exc
    if not isinstance(message, dict):
        raise _invalid("the push body is not a JSON object")
    kind = _KINDS.get(str(message.get("Event", "")))
    if message.get("MsgType") != "event" or kind is None:
        return []
    openid = message.get("FromUserName")
    if not isinstance(openid, str) or not openid:
        raise _invalid("the event has no FromUserName")
    create_time = _int_or_none(message.get("CreateTime"))
    items = message.get("List")
    if isinstance(items, Mapping):
        items = [items]
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise _invalid("the event's List is neither an object nor an array of objects")
    return [_event(kind, openid, item, create_time) for item in items]


def _event(kind: EventKind, openid: str, item: Mapping[str, Any], create_time: int | None) -> WechatEvent:
    template_id = item.get("TemplateId")
    if not isinstance(template_id, str) or not template_id:
        raise _invalid("an event item has no TemplateId")
    if kind == "sent":
        error = _int_or_none(item.get("ErrorCode"))
        msgid = item.get("Msgid")
        if error is None or msgid in (None, ""):
            raise _invalid("a sent event item needs Msgid and ErrorCode")
        status = str(item.get("ErrorStatus", ""))
        return WechatEvent(kind, openid, template_id, status, error == 0, str(msgid), error, create_time)
    subscribe_status = item.get("SubscribeStatusString")
    if not isinstance(subscribe_status, str):
        raise _invalid("an event item has no SubscribeStatusString")
    accept = subscribe_status.startswith("accept")
    return WechatEvent(kind, openid, template_id, subscribe_status, accept, create_time=create_time)


def _int_or_none(value: object) -> int | None:
    # WeChat writes numbers as strings in some events and as numbers in others.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _invalid(message: str) -> NotificationsError:
    return NotificationsError(NotificationsErrorCode.INVALID_INPUT, message)
