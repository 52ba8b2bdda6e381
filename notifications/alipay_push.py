"""Alipay mini-program subscription changes, as Alipay's message service posts them to our app gateway.

A form POST signed RSA2 with the Alipay key, verified as Alipay's asynchronous notifies are: every field but
`sign` and `sign_type`, sorted by key, blank values included, joined as `k=v` with `&`. `biz_content` (JSON)
names the user and the templates subscribed to or unsubscribed from, each one-time or long-term. The endpoint
answers `success` once the events are applied; anything else makes Alipay post again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import rsa

from api.platforms.alipay import load_public_key, rsa2_verify
from notifications.errors import NotificationsError, NotificationsErrorCode

# The message the app subscribes to in the open platform's message service (消息服务); the sandbox posts it.
SUBSCRIPTION_MSG_METHOD = "alipay.open.mini.messagetemplate.subscribe.changed"

Action = Literal["subscribe", "unsubscribe"]
Kind = Literal["one_time", "long_term"]
_ACTIONS: dict[str, Action] = {"subscribe": "subscribe", "unsubscribe": "unsubscribe"}
_KINDS: dict[str, Kind] = {"one_time": "one_time", "long_term": "long_term"}


@dataclass(frozen=True)
class AlipayEvent:
    user_id: str  # the 2088… user id, or the open id for apps that receive open ids
    template_id: str  # user_template_id
    action: Action
    kind: Kind
    notify_id: str = ""


def notify_sign_content(form: Mapping[str, str]) -> str:
    return "&".join(f"{key}={value}" for key, value in sorted(form.items()) if key not in ("sign", "sign_type"))


def parse_events(
    form: Mapping[str, str], alipay_public_key: rsa.RSAPublicKey | str, *, app_id: str | None = None
) -> list[AlipayEvent]:
    """The subscription changes of one verified notify; other messages give an empty list.

    Raises NotificationsError INVALID_INPUT for a missing or bad signature (nothing is read from such a post), a
    notify for another app, or a signed body that cannot be read.
    """
    key = load_public_key(alipay_public_key) if isinstance(alipay_public_key, str) else alipay_public_key
    sign = form.get("sign", "")
    if form.get("sign_type") != "RSA2" or not sign or not rsa2_verify(key, notify_sign_content(form), sign):
        raise _invalid("the Alipay notify's signature does not verify")
    if app_id is not None and form.get("app_id") != app_id:
        raise _invalid("the Alipay notify is for another app")
    if form.get("msg_method") != SUBSCRIPTION_MSG_METHOD:
        return []
    try:
        biz = json.loads(form.get("biz_content", ""))
    except ValueError as exc:
        raise _invalid("biz_content is not JSON") from exc
    if not isinstance(biz, dict):
        raise _invalid("biz_content is not a JSON object")
    user_id = biz.get("user_id") or biz.get("open_id")
    templates = biz.get("templates")
    if not isinstance(user_id, str) or not user_id or not isinstance(templates, list):
        raise _invalid("biz_content needs user_id (or open_id) and a templates array")
    notify_id = form.get("notify_id", "")
    return [_event(user_id, entry, notify_id) for entry in templates]


def _event(user_id: str, entry: Any, notify_id: str) -> AlipayEvent:
    if not isinstance(entry, dict):
        raise _invalid("a templates entry is not an object")
    template_id = entry.get("user_template_id")
    action = _ACTIONS.get(str(entry.get("action", "")).lower())
    kind = _KINDS.get(str(entry.get("subscribe_type", "")).lower())
    if not isinstance(template_id, str) or not template_id or action is None or kind is None:
        raise _invalid("a templates entry needs user_template_id, action and subscribe_type")
    return AlipayEvent(user_id, template_id, action, kind, notify_id)


def _invalid(message: str) -> NotificationsError:
    return NotificationsError(NotificationsErrorCode.INVALID_INPUT, message)
