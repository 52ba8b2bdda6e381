"""The APNs body (§C6 Payload limits): at most 4,096 bytes as aioapns serialises it, the alert body cut on a
character boundary with "…" when parameters push it over (a Chinese character is 3 bytes). The inbox keeps the
full text."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from notifications.channels.base import OutboundMessage

APNS_MAX_BYTES = 4096
ELLIPSIS = "…"
_RESERVED_KEYS = frozenset({"aps", "deeplink", "deliveryId"})
_WORST_CASE_BYTES_PER_CHAR = 6  # a control character escaped as \\uXXXX
_FIXED_BYTES = 200  # keys, punctuation and the delivery id


def serialised_size(payload: Mapping[str, Any]) -> int:
    """Bytes on the wire: aioapns sends `json.dumps(message, ensure_ascii=False).encode()`."""
    return len(json.dumps(payload, ensure_ascii=False).encode())


def build_payload(message: OutboundMessage, limit: int = APNS_MAX_BYTES) -> dict[str, Any] | None:
    """The APNs body, its alert body (then title) cut on a character boundary with "…" until it fits `limit`;
    None when even an empty alert does not fit (the deeplink or extra keys alone are too large). TypeError or
    ValueError for `extra` values JSON cannot carry."""
    deeplink = _clean(message.deeplink)
    extra = {key: value for key, value in message.extra.items() if key not in _RESERVED_KEYS}

    def payload(title: str, body: str) -> dict[str, Any]:
        aps = {"alert": {"title": title, "body": body}, "sound": "default", "thread-id": message.category}
        return {"aps": aps, **extra, "deeplink": deeplink, "deliveryId": str(message.delivery_id)}

    title, body = _clean(message.title), _clean(message.body)
    visible = len(title) + len(body) + len(deeplink) + len(message.category)
    if not extra and _WORST_CASE_BYTES_PER_CHAR * visible + _FIXED_BYTES <= limit:
        return payload(title, body)  # cannot be over: skip serialising it once more
    if serialised_size(payload(title, body)) <= limit:
        return payload(title, body)
    cut_body = _cut_to_fit(body, lambda text: serialised_size(payload(title, text)) <= limit)
    if cut_body is not None:
        return payload(title, cut_body)
    cut_title = _cut_to_fit(title, lambda text: serialised_size(payload(text, "")) <= limit)
    return None if cut_title is None else payload(cut_title, "")


def _clean(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates cannot be encoded on the wire


def _cut_to_fit(text: str, fits: Callable[[str], bool]) -> str | None:
    """The longest prefix + "…" that fits, by bisection over characters (sizes grow with the prefix)."""
    if not fits(ELLIPSIS):
        return None
    low, high = 0, len(text)  # text[:low] + … fits; text[:high + 1] + … does not (or high is the whole text)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[:middle] + ELLIPSIS):
            low = middle
        else:
            high = middle - 1
    return text[:low] + ELLIPSIS
