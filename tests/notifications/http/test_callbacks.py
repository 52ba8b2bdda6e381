"""The provider callbacks of notifications (§C11, §C13, §C14): each verifies its signature before it reads the
body; a bad signature answers 401 and applies nothing. Signed posts come from the shipped sandboxes, as the
providers would send them."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from typing import Any

from api.lifespan import Services
from api.models import SubscriptionQuota
from notifications.alipay_push import SUBSCRIPTION_MSG_METHOD
from notifications.sandbox.alipay_messages import post_subscription_event
from notifications.sms_receipts import receipt_signature
from tests.support.client import Api

WECHAT = "/notify/wechat/messages"
SMS = "/notify/sms/receipts"
ALIPAY = "/notify/alipay/messages"
SIGN_IN_WECHAT = """mutation W($input: SignInWithWechatInput!) {
  signInWithWechat(input: $input) { __typename ... on AuthPayload { me { id } } } }"""
SIGN_IN_ALIPAY = """mutation A($input: SignInWithAlipayInput!) {
  signInWithAlipay(input: $input) { __typename ... on AuthPayload { me { id } } } }"""


def _services(api: Api) -> Services:
    services: Services = api.live.app.state.services
    return services


def _signed_query(token: str) -> dict[str, str]:
    timestamp, nonce = "1700000000", secrets.token_hex(8)
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


def _push_token(api: Api) -> str:
    return api.live.settings.notifications.wechat_push_token.get_secret_value()


async def _wechat_user(api: Api, openid: str) -> str:
    minted = await api.http.post("/sandbox/wechat/codes", json={"openid": openid})
    result = (await api.data(SIGN_IN_WECHAT, {"input": {"code": minted.json()["code"]}}))["signInWithWechat"]
    user_id: str = result["me"]["id"]
    return user_id


async def _alipay_user(api: Api, alipay_user_id: str) -> str:
    minted = await api.http.post("/sandbox/alipay/auth-codes", json={"userId": alipay_user_id})
    variables = {"input": {"authCode": minted.json()["authCode"]}}
    user_id: str = (await api.data(SIGN_IN_ALIPAY, variables))["signInWithAlipay"]["me"]["id"]
    return user_id


def _popup(openid: str, template_id: str) -> bytes:
    event: dict[str, Any] = {
        "ToUserName": "gh_sandbox",
        "FromUserName": openid,
        "CreateTime": 1700000000,
        "MsgType": "event",
        "Event": "subscribe_msg_popup_event",
        "List": {"TemplateId": template_id, "SubscribeStatusString": "accept", "PopupScene": "0"},
    }
    return json.dumps(event).encode()


async def _quotas(user_id: str) -> list[tuple[str, str, int]]:
    rows = await SubscriptionQuota.filter(user_id=user_id).order_by("template_id")
    return [(row.provider.value, row.template_id, row.remaining) for row in rows]


class TestWechatUrlCheck:
    async def test_echoes_echostr_when_the_signature_is_ours(self, api: Api) -> None:
        query = _signed_query(_push_token(api)) | {"echostr": "7413926598"}
        response = await api.http.get(WECHAT, params=query)
        assert (response.status_code, response.text) == (200, "7413926598")

    async def test_refuses_a_bad_signature(self, api: Api) -> None:
        query = _signed_query("not-our-token") | {"echostr": "7413926598"}
        response = await api.http.get(WECHAT, params=query)
        assert response.status_code == 401
        assert "7413926598" not in response.text


class TestWechatMessages:
    async def test_applies_a_signed_popup_accept(self, api: Api) -> None:
        openid, template_id = f"o-e-{uuid.uuid4().hex[:12]}", f"T{uuid.uuid4().hex[:8]}"
        user_id = await _wechat_user(api, openid)
        body = {"kind": "popup", "openid": openid, "templateId": template_id, "status": "accept"}
        response = await api.http.post("/sandbox/wechat/_control/event", json=body)
        assert response.json() == {"status": 200, "body": "success"}
        assert await _quotas(user_id) == [("wechat", template_id, 1)]

    async def test_refuses_a_bad_signature_and_applies_nothing(self, api: Api) -> None:
        openid, template_id = f"o-e-{uuid.uuid4().hex[:12]}", f"T{uuid.uuid4().hex[:8]}"
        user_id = await _wechat_user(api, openid)
        response = await api.http.post(
            WECHAT, params=_signed_query("not-our-token"), content=_popup(openid, template_id)
        )
        assert response.status_code == 401
        assert await _quotas(user_id) == []

    async def test_applies_the_same_body_when_signed_with_our_token(self, api: Api) -> None:
        openid, template_id = f"o-e-{uuid.uuid4().hex[:12]}", f"T{uuid.uuid4().hex[:8]}"
        user_id = await _wechat_user(api, openid)
        response = await api.http.post(
            WECHAT, params=_signed_query(_push_token(api)), content=_popup(openid, template_id)
        )
        assert (response.status_code, response.text) == (200, "success")
        assert await _quotas(user_id) == [("wechat", template_id, 1)]

    async def test_refuses_a_signed_body_that_is_not_json(self, api: Api) -> None:
        response = await api.http.post(WECHAT, params=_signed_query(_push_token(api)), content=b"<xml></xml>")
        assert response.status_code == 400


class TestSmsReceipts:
    def _report(self) -> bytes:
        receipt = {
            "phone_number": "13800000001",
            "success": True,
            "biz_id": f"biz-{uuid.uuid4().hex[:8]}",
            "out_id": str(uuid.uuid4()),
            "send_time": "2026-01-05 10:00:00",
            "report_time": "2026-01-05 10:00:03",
            "err_code": "DELIVERED",
            "err_msg": "用户接收成功",
            "sms_size": "1",
        }
        return json.dumps([receipt], ensure_ascii=False).encode()

    async def test_answers_aliyun_success_for_a_signed_report(self, api: Api) -> None:
        body = self._report()
        secret = api.live.settings.notifications.sms_receipt_secret.get_secret_value()
        response = await api.http.post(SMS, content=body, headers={"x-zsb-signature": receipt_signature(secret, body)})
        assert (response.status_code, response.json()) == (200, {"code": 0, "msg": "成功"})

    async def test_refuses_a_bad_or_missing_signature(self, api: Api) -> None:
        body = self._report()
        forged = await api.http.post(SMS, content=body, headers={"x-zsb-signature": receipt_signature("x", body)})
        unsigned = await api.http.post(SMS, content=body)
        assert (forged.status_code, unsigned.status_code) == (401, 401)


class TestAlipayMessages:
    async def test_applies_a_signed_subscription(self, api: Api) -> None:
        alipay_user, template_id = f"2088{uuid.uuid4().int % 10**12:012d}", f"AT{uuid.uuid4().hex[:8]}"
        user_id = await _alipay_user(api, alipay_user)
        sandboxes = _services(api).notifications_sandbox
        assert sandboxes is not None
        gateway = sandboxes.hub.alipay
        response = await post_subscription_event(
            gateway,
            api.live.base_url + ALIPAY,
            alipay_user,
            template_id,
            "subscribe",
            "one_time",
            api.http,
            app_id=api.live.settings.alipay.app_id,
        )
        assert (response.status_code, response.text) == (200, "success")
        assert await _quotas(user_id) == [("alipay", template_id, 1)]

    async def test_refuses_a_forged_signature_and_applies_nothing(self, api: Api) -> None:
        alipay_user, template_id = f"2088{uuid.uuid4().int % 10**12:012d}", f"AT{uuid.uuid4().hex[:8]}"
        user_id = await _alipay_user(api, alipay_user)
        form = {
            "notify_id": secrets.token_hex(16),
            "msg_method": SUBSCRIPTION_MSG_METHOD,
            "app_id": api.live.settings.alipay.app_id,
            "biz_content": json.dumps(
                {"user_id": alipay_user, "templates": [{"user_template_id": template_id, "action": "subscribe"}]}
            ),
            "sign_type": "RSA2",
            "sign": "Zm9yZ2Vk",
        }
        response = await api.http.post(ALIPAY, data=form)
        assert response.status_code == 401
        assert await _quotas(user_id) == []
