"""What the WeChat twin knows about subscribe messages: field limits, users' consents and message-push bodies.

Kept apart from the HTTP routes (wechat.py) so that the rules read as the platform documents them (§1.5).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

EventKind = Literal["popup", "change", "sent"]
EVENT_NAMES: dict[str, str] = {
    "popup": "subscribe_msg_popup_event",
    "change": "subscribe_msg_change_event",
    "sent": "subscribe_msg_sent_event",
}
MINIPROGRAM_STATES = frozenset({"developer", "trial", "formal"})
LANGS = frozenset({"zh_CN", "en_US", "zh_HK", "zh_TW"})

_HAN = re.compile(r"^[\u4e00-\u9fff]+$")
_AMOUNT = re.compile(r"^[¥￥$€£]?\d{1,10}(\.\d{1,2})?元?$")
_FIELD_KEY = re.compile(r"^([a-z_]+?)(\d+)$")


def _name_ok(value: str) -> bool:
    # 10 汉字, or 20 characters of anything else (letters, a transliterated name)
    return len(value) <= 10 if _HAN.match(value) else len(value) <= 20


_LIMITS: dict[str, Any] = {
    "thing": lambda v: len(v) <= 20,
    "phrase": lambda v: len(v) <= 5 and bool(_HAN.match(v)),
    "name": _name_ok,
    "number": lambda v: len(v) <= 32,
    "letter": lambda v: len(v) <= 32,
    "character_string": lambda v: len(v) <= 32,
    "phone_number": lambda v: len(v) <= 17,
    "car_number": lambda v: len(v) <= 8,
    "amount": lambda v: bool(_AMOUNT.match(v)),
}


def field_error(key: str, entry: object) -> str | None:
    """The 47003 errmsg for one `data` entry, or None when WeChat would take it."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("value"), str):
        return f"argument invalid! data.{key}.value is missing or not a string"
    match = _FIELD_KEY.match(key)
    if match is None:
        return f"argument invalid! data.{key} is not a template keyword"
    check = _LIMITS.get(match.group(1))
    if check is not None and not check(entry["value"]):
        return f"argument invalid! data.{key}.value exceeds the limit of {match.group(1)}"
    return None


@dataclass
class ConsentBook:
    """Per openid and template: one-time acceptances left, and long-term subscriptions switched on.

    An openid that never appeared in a popup or change event is treated as consenting (so that a plain send
    works in a demo), unless it starts with `refused`.
    """

    long_term_templates: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    one_time: dict[tuple[str, str], int] = field(default_factory=dict)
    long_term: set[tuple[str, str]] = field(default_factory=set)

    def clear(self) -> None:
        self.seen.clear()
        self.one_time.clear()
        self.long_term.clear()

    def apply(self, kind: str, openid: str, template_id: str, status: str) -> None:
        if kind == "sent":
            return
        self.seen.add(openid)
        key = (openid, template_id)
        accepted = status.startswith("accept")
        if template_id in self.long_term_templates:
            if accepted:
                self.long_term.add(key)
            else:
                self.long_term.discard(key)
        elif kind == "popup" and accepted:
            self.one_time[key] = self.one_time.get(key, 0) + 1
        elif not accepted:
            self.one_time[key] = 0

    def remaining(self, openid: str, template_id: str) -> int | None:
        """One-time messages still allowed; None for no limit (long-term, or an openid never seen)."""
        key = (openid, template_id)
        if key in self.long_term or (openid not in self.seen and not openid.startswith("refused")):
            return None
        return self.one_time.get(key, 0)

    def take(self, openid: str, template_id: str) -> bool:
        left = self.remaining(openid, template_id)
        if left is None:
            return True
        if left <= 0:
            return False
        self.one_time[(openid, template_id)] = left - 1
        return True


@dataclass(frozen=True)
class PushEvent:
    kind: EventKind
    openid: str
    template_ids: Sequence[str]
    status: str = "accept"
    msgid: str | None = None
    error_code: int = 0


def push_body(event: PushEvent, *, to_user_name: str, at: datetime) -> dict[str, Any]:
    """The JSON message-push body WeChat posts: `List` is an object for one item and an array for several."""
    items: list[dict[str, Any]] = []
    for template_id in event.template_ids:
        if event.kind == "sent":
            failed = event.error_code != 0
            items.append(
                {
                    "TemplateId": template_id,
                    "Msgid": event.msgid or "",
                    "ErrorCode": str(event.error_code),
                    "ErrorStatus": "fail:user refuse to accept the msg" if failed else "success",
                }
            )
        else:
            item = {"TemplateId": template_id, "SubscribeStatusString": event.status}
            items.append(item | ({"PopupScene": "0"} if event.kind == "popup" else {}))
    return {
        "ToUserName": to_user_name,
        "FromUserName": event.openid,
        "CreateTime": int(at.timestamp()),
        "MsgType": "event",
        "Event": EVENT_NAMES[event.kind],
        "List": items[0] if len(items) == 1 else items,
    }


def argument_error(body: Mapping[str, Any]) -> str | None:
    if body.get("miniprogram_state", "formal") not in MINIPROGRAM_STATES:
        return "argument invalid! miniprogram_state"
    if body.get("lang", "zh_CN") not in LANGS:
        return "argument invalid! lang"
    data = body.get("data")
    if not isinstance(data, dict) or not data:
        return "argument invalid! data is empty"
    for key, entry in data.items():
        refusal = field_error(str(key), entry)
        if refusal is not None:
            return refusal
    return None


def push_signature(token: str, timestamp: str, nonce: str) -> str:
    """WeChat's message-push signature: SHA-1 of the token, timestamp and nonce, sorted and concatenated."""
    # SHA-1 is WeChat's choice, not ours: the protocol fixes it.
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324
