"""The Alipay gateway twin's mini-program message method, and signed subscription notifies for tests.

`register` adds `alipay.open.app.mini.templatemessage.send` to the shared gateway sandbox (which verifies
our request signature and signs its reply). Conventions: a `2088nosub…` user id (or a `nosub…` open id) holds no
subscription and gets 40004 `USER_TEMPLATE_NOT_SUBSCRIBED`; a missing `user_template_id` or recipient gets 40001.
The gateway's `badSignature` script action corrupts the reply's `sign` for this method as for any other.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx

from api.platforms.sandbox import AlipayGatewayError, AlipayMethodCall
from api.platforms.sandbox.alipay import AlipaySandbox
from notifications.alipay_push import SUBSCRIPTION_MSG_METHOD, notify_sign_content

SEND_METHOD = "alipay.open.app.mini.templatemessage.send"
NO_SUBSCRIPTION_SUB_CODE = "USER_TEMPLATE_NOT_SUBSCRIBED"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"


def register(gateway: AlipaySandbox) -> None:
    gateway.register_method(SEND_METHOD, _send)


async def _send(call: AlipayMethodCall) -> dict[str, Any]:
    biz = call.biz_content or {}
    user_id, open_id = biz.get("to_user_id"), biz.get("to_open_id")
    if not isinstance(biz.get("user_template_id"), str) or not biz["user_template_id"]:
        raise AlipayGatewayError("40001", "Missing Required Arguments", "isv.missing-user-template-id", "缺少模板id")
    if not (isinstance(user_id, str) and user_id) and not (isinstance(open_id, str) and open_id):
        raise AlipayGatewayError("40001", "Missing Required Arguments", "isv.missing-to-user-id", "缺少接收用户")
    data = biz.get("data", "{}")
    try:
        parsed = json.loads(data) if isinstance(data, str) else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise AlipayGatewayError("40002", "Invalid Arguments", "isv.invalid-data", "data 不是合法的 JSON 字符串")
    if (isinstance(user_id, str) and user_id.startswith("2088nosub")) or (
        isinstance(open_id, str) and open_id.startswith("nosub")
    ):
        # A business failure: inside the method's own response node, signed like a success.
        return {
            "code": "40004",
            "msg": "Business Failed",
            "sub_code": NO_SUBSCRIPTION_SUB_CODE,
            "sub_msg": "用户未订阅该模板",
        }
    return {"code": "10000", "msg": "Success"}


async def post_subscription_event(
    gateway: AlipaySandbox,
    url: str,
    user_id: str,
    template_id: str,
    action: str,
    kind: str,
    http: httpx.AsyncClient,
    *,
    app_id: str = "",
    open_id: str | None = None,
) -> httpx.Response:
    """Post a subscription change (action "subscribe"|"unsubscribe", kind "one_time"|"long_term") to our app
    gateway `url`, signed with the gateway's Alipay key as Alipay signs its notifies."""
    biz: dict[str, Any] = {
        "user_id": user_id,
        "templates": [{"user_template_id": template_id, "action": action, "subscribe_type": kind}],
    }
    if open_id:
        biz["open_id"] = open_id
    form = {
        "notify_id": secrets.token_hex(16),
        "utc_timestamp": str(int(gateway.clock.now().timestamp() * 1000)),
        "msg_method": SUBSCRIPTION_MSG_METHOD,
        "app_id": app_id,
        "version": "1.1",
        "charset": "utf-8",
        "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
    }
    form["sign"] = gateway.sign(notify_sign_content(form))
    form["sign_type"] = "RSA2"
    return await http.post(url, data=form, headers={"Content-Type": FORM_CONTENT_TYPE})
