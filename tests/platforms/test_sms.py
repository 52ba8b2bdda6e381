"""The Aliyun SMS adapter against the SMS sandbox, over real HTTP."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
import pytest

from api.kit.clock import ShiftableClock
from api.platforms.sandbox import SandboxHub, SmsMessage
from api.platforms.sms import AliyunSmsClient, SmsError, SmsProvider, rpc_signature
from tests.platforms.support import OffsetClock, sms_client

PHONE = "13800000001"
OTHER_PHONE = "13900000009"


async def _refusal(client: SmsProvider, phone: str = PHONE, params: dict[str, str] | None = None) -> SmsError:
    with pytest.raises(SmsError) as caught:
        await client.send(phone, "SMS_OTP", {"code": "123456"} if params is None else params)
    return caught.value


class TestRpcSignature:
    def test_matches_the_worked_example_of_aliyuns_documentation(self) -> None:
        # given the parameters of Aliyun's SendSms signature example
        params = {
            "AccessKeyId": "testId",
            "Action": "SendSms",
            "Format": "XML",
            "OutId": "123",
            "PhoneNumbers": "15300000001",
            "RegionId": "cn-hangzhou",
            "SignName": "阿里云短信测试专用",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
            "SignatureVersion": "1.0",
            "TemplateCode": "SMS_71390007",
            "TemplateParam": '{"customer":"test"}',
            "Timestamp": "2017-07-12T02:42:19Z",
            "Version": "2017-05-25",
        }

        # when
        signature = rpc_signature("GET", params, "testSecret")

        # then
        assert signature == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


class TestAliyunSmsClientSend:
    async def test_the_sandbox_receives_a_signed_send_sms_and_keeps_the_message(
        self, sms: AliyunSmsClient, hub: SandboxHub
    ) -> None:
        # when
        await sms.send(PHONE, "SMS_OTP", {"code": "123456"})

        # then
        [message] = hub.sms.messages(PHONE)
        assert message == SmsMessage(
            PHONE,
            "掌上办",
            "SMS_OTP",
            {"code": "123456"},
            "【掌上办】您的验证码为123456，5分钟内有效，请勿泄露。",
            message.sent_at,
            "",
            message.biz_id,
        )
        assert message.biz_id != ""
        [request] = hub.sms.requests()
        assert (request.method, request.path) == ("POST", "/")
        body = request.body
        assert {k: body[k] for k in ("Action", "Version", "Format", "SignatureMethod", "SignatureVersion")} == {
            "Action": "SendSms",
            "Version": "2017-05-25",
            "Format": "JSON",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
        }
        assert (body["PhoneNumbers"], body["SignName"], body["TemplateCode"]) == (PHONE, "掌上办", "SMS_OTP")
        assert body["TemplateParam"] == '{"code":"123456"}'

    async def test_a_wrong_secret_is_refused_and_nothing_is_sent(
        self, http: httpx.AsyncClient, hub: SandboxHub, clock: ShiftableClock
    ) -> None:
        # given
        client = sms_client(http, hub, clock, secret="not-the-secret")

        # when
        error = await _refusal(client)

        # then
        assert (error.code, error.provider_code) == ("SMS_REJECTED", "SignatureDoesNotMatch")
        assert hub.sms.messages() == []

    async def test_an_unknown_access_key_is_refused(
        self, http: httpx.AsyncClient, hub: SandboxHub, clock: ShiftableClock
    ) -> None:
        error = await _refusal(sms_client(http, hub, clock, key_id="someone-else"))
        assert (error.code, error.provider_code) == ("SMS_REJECTED", "InvalidAccessKeyId.NotFound")

    async def test_a_stale_timestamp_is_refused(
        self, http: httpx.AsyncClient, hub: SandboxHub, clock: ShiftableClock
    ) -> None:
        # given a client whose clock runs 20 minutes ahead of the provider's
        fast = OffsetClock(clock, timedelta(minutes=20))

        # when
        error = await _refusal(sms_client(http, hub, fast))

        # then
        assert (error.code, error.provider_code) == ("SMS_REJECTED", "InvalidTimeStamp.Expired")

    async def test_an_illegal_number_is_refused(self, sms: AliyunSmsClient, hub: SandboxHub) -> None:
        error = await _refusal(sms, phone="13800000002")
        assert (error.code, error.provider_code) == ("SMS_REJECTED", "isv.MOBILE_NUMBER_ILLEGAL")
        assert hub.sms.messages() == []

    async def test_a_throttled_number_is_told_apart(self, sms: AliyunSmsClient, hub: SandboxHub) -> None:
        error = await _refusal(sms, phone="13800000003")
        assert (error.code, error.provider_code) == ("SMS_THROTTLED", "isv.BUSINESS_LIMIT_CONTROL")
        assert hub.sms.messages() == []

    async def test_a_missing_template_variable_is_refused(self, sms: AliyunSmsClient, hub: SandboxHub) -> None:
        error = await _refusal(sms, params={"otp": "123456"})
        assert (error.code, error.provider_code) == ("SMS_REJECTED", "isv.TEMPLATE_MISSING_PARAMETERS")

    async def test_a_daily_limit_answer_is_throttled_too(self, sms: AliyunSmsClient, hub: SandboxHub) -> None:
        # given
        hub.sms.script({"path": "/"}, {"body": {"Code": "isv.DAY_LIMIT_CONTROL", "Message": "触发天级流控"}})

        # when
        error = await _refusal(sms)

        # then
        assert (error.code, error.provider_code) == ("SMS_THROTTLED", "isv.DAY_LIMIT_CONTROL")

    async def test_a_server_error_is_unavailable(self, sms: AliyunSmsClient, hub: SandboxHub) -> None:
        hub.sms.script({"path": "/"}, {"status": 500})
        error = await _refusal(sms)
        assert (error.code, error.provider_code) == ("SMS_UNAVAILABLE", None)
        assert hub.sms.messages() == []

    async def test_a_dropped_connection_is_unavailable(self, sms: AliyunSmsClient, hub: SandboxHub) -> None:
        hub.sms.script({"path": "/"}, {"disconnect": True})
        assert (await _refusal(sms)).code == "SMS_UNAVAILABLE"

    async def test_a_reply_slower_than_the_client_timeout_is_unavailable(
        self, impatient_http: httpx.AsyncClient, hub: SandboxHub, clock: ShiftableClock
    ) -> None:
        hub.sms.script({"path": "/"}, {"delayMs": 1000})
        assert (await _refusal(sms_client(impatient_http, hub, clock))).code == "SMS_UNAVAILABLE"
        # Aliyun acts on it all the same (why a timeout is looked up before a resend); it must land here, not in
        # a later test's sandbox.
        for _ in range(250):
            if hub.sms.messages():
                break
            await asyncio.sleep(0.02)
        assert len(hub.sms.messages(PHONE)) == 1

    async def test_a_slow_reply_within_the_timeout_still_sends(self, sms: AliyunSmsClient, hub: SandboxHub) -> None:
        # given
        hub.sms.script({"path": "/"}, {"delayMs": 300})
        started = time.monotonic()

        # when
        await sms.send(PHONE, "SMS_OTP", {"code": "654321"})

        # then
        assert time.monotonic() - started >= 0.3
        assert [m.params for m in hub.sms.messages(PHONE)] == [{"code": "654321"}]


class TestSendSmsEndpoint:
    async def test_a_replayed_request_is_refused(
        self, sms: AliyunSmsClient, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        # given a request the sandbox accepted
        await sms.send(PHONE, "SMS_OTP", {"code": "123456"})
        [request] = hub.sms.requests()

        # when the same signed parameters arrive again
        replay = await http.post(f"{hub.sms.base_url}/", data=request.body)

        # then
        assert (replay.status_code, replay.json()["Code"]) == (400, "SignatureNonceUsed")
        assert len(hub.sms.messages()) == 1

    async def test_unregistered_templates_are_rendered_generically(self, sms: AliyunSmsClient, hub: SandboxHub) -> None:
        await sms.send(PHONE, "SMS_NOTICE_1", {"b": "2", "a": "1"})
        assert [m.text for m in hub.sms.messages(PHONE)] == ['【掌上办】[SMS_NOTICE_1] {"a": "1", "b": "2"}']


class TestMessagesEndpoint:
    async def test_lists_a_phones_messages_oldest_first(
        self, sms: AliyunSmsClient, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        # given
        for phone, code in ((PHONE, "111111"), (OTHER_PHONE, "222222"), (PHONE, "333333")):
            await sms.send(phone, "SMS_OTP", {"code": code})

        # when
        response = await http.get(f"{hub.sms.base_url}/messages", params={"phone": PHONE})

        # then
        messages = response.json()["messages"]
        assert [(m["phone"], m["params"]["code"]) for m in messages] == [(PHONE, "111111"), (PHONE, "333333")]
        assert set(messages[0]) == {"phone", "signName", "templateCode", "params", "text", "sentAt", "outId", "bizId"}
        everyone = (await http.get(f"{hub.sms.base_url}/messages")).json()["messages"]
        assert len(everyone) == 3

    async def test_delete_forgets_the_messages(
        self, sms: AliyunSmsClient, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        await sms.send(PHONE, "SMS_OTP", {"code": "111111"})
        assert (await http.delete(f"{hub.sms.base_url}/messages")).status_code == 204
        assert hub.sms.messages() == []
