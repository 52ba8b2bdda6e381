"""Vendor payload limits (notifications.md §1.5, §1.7, §C6): checked when a template is saved, with its placeholders
empty, and enforced again by the adapters at send time, since parameters can still push a message over.

The inbox always keeps the full text: only what goes to a vendor is cut.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

APNS_MAX_BYTES = 4096
HUAWEI_MAX_BYTES = 4096
ELLIPSIS = "…"
# A delivery id as the APNs payload carries it (str(uuid)): templates are sized with one in place.
_SAMPLE_DELIVERY_ID = "00000000-0000-0000-0000-000000000000"


def json_bytes(payload: Mapping[str, Any]) -> int:
    """The size of `payload` as aioapns serialises it (`ensure_ascii=False`), in UTF-8 bytes."""
    return len(json.dumps(payload, ensure_ascii=False).encode())


def apns_payload(title: str, body: str, deeplink: str, delivery_id: str = _SAMPLE_DELIVERY_ID) -> dict[str, Any]:
    return {"aps": {"alert": {"title": title, "body": body}}, "deeplink": deeplink, "deliveryId": delivery_id}


def huawei_message(title: str, body: str, deeplink: str, *, category: str = "", tag: str = "") -> dict[str, Any]:
    """The `message` object of a Huawei send without its tokens: the part the 4 KB limit is about."""
    notification: dict[str, Any] = {
        "title": title,
        "body": body,
        "click_action": {"type": 1, "intent": deeplink},
        "importance": "NORMAL",
    }
    if tag:
        notification["tag"] = tag
    android: dict[str, Any] = {"ttl": "86400s", "notification": notification}
    if category:
        android["category"] = category
    return {"android": android}


def trim_text_to_fit(text: str, size_with: Callable[[str], int], limit: int) -> str:
    """The longest prefix of `text` (cut on a character boundary, "…" appended when cut) for which `size_with`
    stays within `limit`; `text` itself when it fits, "" when nothing does."""
    if size_with(text) <= limit:
        return text
    low, high = 0, len(text) - 1  # the number of characters kept, before the ellipsis
    best = ""
    while low <= high:
        middle = (low + high) // 2
        candidate = text[:middle] + ELLIPSIS
        if size_with(candidate) <= limit:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


# WeChat subscribe-message field types (keys are the type plus a number, e.g. "thing1") and their limits (§1.5).
_WECHAT_KEY = re.compile(
    r"^(thing|phrase|name|number|letter|character_string|phone_number|car_number|amount|time|date)\d+$"
)
_HAN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_LETTER = re.compile(r"^[A-Za-z]+$")
_CHARACTER_STRING = re.compile(r"^[\x21-\x7e]+$")  # digits, letters and symbols, no spaces or 汉字
_PHONE = re.compile(r"^[+\d][\d\- ]*$")
_AMOUNT = re.compile(r"^[¥￥$€£]?\d{1,10}(\.\d{1,2})?元?$")
_TIME_OR_DATE = re.compile(r"^[\d年月日时分秒:：\-/\. ~至]+$")
# The longest value of each type, in characters (name: 10 汉字 or 20 other characters, see `_name_ok`).
MAX_CHARS = {
    "thing": 20,
    "phrase": 5,
    "name": 20,
    "number": 32,
    "letter": 32,
    "character_string": 32,
    "phone_number": 17,
    "car_number": 8,
    "amount": 14,
    "time": 30,
    "date": 30,
}


def wechat_field_type(key: str) -> str | None:
    match = _WECHAT_KEY.match(key)
    return match.group(1) if match else None


def _name_ok(value: str) -> bool:
    return len(value) <= 10 if _HAN.match(value) else len(value) <= 20


_CHECKS: dict[str, Callable[[str], bool]] = {
    "thing": lambda v: len(v) <= 20,
    "phrase": lambda v: len(v) <= 5 and bool(_HAN.match(v)),
    "name": _name_ok,
    "number": lambda v: len(v) <= 32 and bool(_NUMBER.match(v)),
    "letter": lambda v: len(v) <= 32 and bool(_LETTER.match(v)),
    "character_string": lambda v: len(v) <= 32 and bool(_CHARACTER_STRING.match(v)),
    "phone_number": lambda v: len(v) <= 17 and bool(_PHONE.match(v)),
    "car_number": lambda v: len(v) <= 8,
    "amount": lambda v: bool(_AMOUNT.match(v)),
    "time": lambda v: len(v) <= 30 and bool(_TIME_OR_DATE.match(v)),
    "date": lambda v: len(v) <= 30 and bool(_TIME_OR_DATE.match(v)),
}


def wechat_field_ok(key: str, value: str) -> bool:
    """Whether WeChat accepts `value` for field `key` (an unknown key type or an empty value never passes)."""
    kind = wechat_field_type(key)
    return kind is not None and value != "" and _CHECKS[kind](value)


def cut_wechat_value(key: str, value: str) -> str:
    """A free-text value cut to its type's length (thing to 20 characters, §C6); formatted types (numbers,
    amounts, dates, phones) are left as they are, since cutting would change what they say."""
    kind = wechat_field_type(key)
    if kind in ("thing", "character_string", "letter"):
        return value[: MAX_CHARS[kind]]
    if kind == "phrase":
        return value[:5]
    if kind == "name":
        return value[:10] if _HAN.match(value) else value[:20]
    return value
