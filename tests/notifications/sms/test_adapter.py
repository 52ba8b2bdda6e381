"""SmsAdapter.send against the Aliyun SMS sandbox over real HTTP: OutId, simulated numbers, §C6 classification."""

from __future__ import annotations

import json
from datetime import datetime

import httpx

from api.kit.clock import SHANGHAI
from api.platforms.sms import AliyunSmsClient
from notifications.channels.base import SendResult
from notifications.channels.sms import SmsAdapter
from tests.notifications.sms.conftest import SmsWorld
from tests.notifications.sms.support import ACCEPTED, ILLEGAL, THROTTLED, eventually, sms_message
from tests.platforms.support import sms_client


def actions(world: SmsWorld) -> list[str]:
    return [r.body["Action"] for r in world.hub.sms.requests()]


class TestSmsAdapterSend:
    async def test_an_accepted_number_is_sent_with_its_biz_id_and_our_out_id(
        self, client: AliyunSmsClient, world: SmsWorld
    ) -> None:
        # given
        item = sms_message()

        # when
        [result] = await SmsAdapter(client, clock=world.clock).send([item])

        # then
        [message] = world.hub.sms.messages(ACCEPTED)
        assert result == SendResult("sent", provider_id=message.biz_id, http_status=200)
        assert (message.out_id, message.sign_name, message.template_code) == (
            str(item.delivery_id),
            "掌上办政务",
            "SMS_BILL_DUE",
        )
        [request] = world.hub.sms.requests()
        assert json.loads(request.body["TemplateParam"]) == {"billNo": "B1", "dueDate": "2025-06-02"}
        assert request.body["OutId"] == str(item.delivery_id)

    async def test_without_a_sign_name_the_clients_default_is_used(
        self, client: AliyunSmsClient, world: SmsWorld
    ) -> None:
        await SmsAdapter(client).send([sms_message(sign_name="")])
        assert [m.sign_name for m in world.hub.sms.messages()] == ["掌上办"]

    async def test_an_illegal_number_is_an_invalid_endpoint(self, client: AliyunSmsClient, world: SmsWorld) -> None:
        [result] = await SmsAdapter(client).send([sms_message(ILLEGAL)])
        assert (result.outcome, result.reason) == ("invalid_endpoint", "isv.MOBILE_NUMBER_ILLEGAL")
        assert world.hub.sms.messages() == []

    async def test_a_day_level_limit_is_retried_after_the_beijing_day_ends(
        self, client: AliyunSmsClient, world: SmsWorld
    ) -> None:
        # given 22:00 in Beijing
        world.clock.set(datetime(2025, 6, 1, 22, 0, tzinfo=SHANGHAI))

        # when
        [result] = await SmsAdapter(client, clock=world.clock).send([sms_message(THROTTLED)])

        # then
        assert (result.outcome, result.reason, result.retry_after_s) == ("retry", "isv.BUSINESS_LIMIT_CONTROL", 7200)
        assert world.hub.sms.messages() == []

    async def test_a_minute_level_limit_is_retried_after_a_minute(
        self, client: AliyunSmsClient, world: SmsWorld
    ) -> None:
        world.hub.sms.script(
            {"path": "/"}, {"body": {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1"}}
        )
        [result] = await SmsAdapter(client).send([sms_message()])
        assert (result.outcome, result.retry_after_s) == ("retry", 60)

    async def test_a_template_error_is_permanent_and_alerts(self, client: AliyunSmsClient, world: SmsWorld) -> None:
        world.hub.sms.script({"path": "/"}, {"body": {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "模板不合法"}})
        [result] = await SmsAdapter(client).send([sms_message()])
        assert (result.outcome, result.reason, result.alert) == ("permanent", "isv.SMS_TEMPLATE_ILLEGAL", True)

    async def test_a_missing_template_parameter_is_permanent(self, client: AliyunSmsClient, world: SmsWorld) -> None:
        # given a registered template the parameters do not fill
        world.hub.sms.register_template("SMS_FEE_AMOUNT", "您的账单${billNo}将于${dueDate}截止，金额${amount}。")

        # when
        [result] = await SmsAdapter(client).send([sms_message(vendor_template_id="SMS_FEE_AMOUNT")])

        # then
        assert (result.outcome, result.reason, result.alert) == ("permanent", "isv.TEMPLATE_MISSING_PARAMETERS", True)
        assert world.hub.sms.messages() == []

    async def test_an_empty_account_is_retried_and_alerts(self, client: AliyunSmsClient, world: SmsWorld) -> None:
        world.hub.sms.script({"path": "/"}, {"body": {"Code": "isv.AMOUNT_NOT_ENOUGH", "Message": "账户余额不足"}})
        [result] = await SmsAdapter(client).send([sms_message()])
        assert (result.outcome, result.reason, result.alert) == ("retry", "isv.AMOUNT_NOT_ENOUGH", True)

    async def test_a_system_error_and_a_server_error_are_retried(
        self, client: AliyunSmsClient, world: SmsWorld
    ) -> None:
        # given
        world.hub.sms.script({"path": "/"}, {"body": {"Code": "isp.SYSTEM_ERROR", "Message": "系统错误"}})
        world.hub.sms.script({"path": "/"}, {"status": 500})
        adapter = SmsAdapter(client)

        # when
        first, second = [(await adapter.send([sms_message()]))[0] for _ in range(2)]

        # then
        assert (first.outcome, first.reason, first.alert) == ("retry", "isp.SYSTEM_ERROR", False)
        assert (second.outcome, second.http_status) == ("retry", 500)
        assert world.hub.sms.messages() == []

    async def test_a_wrong_secret_is_refused_by_the_sandbox_as_a_permanent_alert(
        self, http: httpx.AsyncClient, world: SmsWorld
    ) -> None:
        # given
        client = sms_client(http, world.hub, world.clock, secret="not-the-secret")

        # when
        [result] = await SmsAdapter(client).send([sms_message()])

        # then
        assert (result.outcome, result.reason, result.http_status, result.alert) == (
            "permanent",
            "SignatureDoesNotMatch",
            400,
            True,
        )
        assert world.hub.sms.messages() == []

    async def test_an_unreachable_provider_is_retried_without_a_lookup(self, http: httpx.AsyncClient) -> None:
        # given
        client = AliyunSmsClient(
            http, base_url="http://127.0.0.1:9", access_key_id="k", access_key_secret="s", sign_name="掌上办"
        )

        # when
        [result] = await SmsAdapter(client).send([sms_message()])

        # then
        assert (result.outcome, result.reason) == ("retry", "connection")


class TestSmsAdapterTimeout:
    async def test_a_request_not_yet_acted_on_is_looked_up_and_retried(
        self, impatient_http: httpx.AsyncClient, world: SmsWorld
    ) -> None:
        # given Aliyun holds the request longer than our timeout before acting on it
        world.hub.sms.script({"path": "/", "Action": "SendSms"}, {"delayMs": 800})
        client = sms_client(impatient_http, world.hub, world.clock)
        item = sms_message()

        # when
        [result] = await SmsAdapter(client, clock=world.clock).send([item])

        # then
        assert (result.outcome, result.reason) == ("retry", "timeout")
        assert actions(world) == ["SendSms", "QuerySendDetails"]
        query = world.hub.sms.requests()[1].body
        assert (query["PhoneNumber"], query["SendDate"]) == (
            ACCEPTED,
            world.clock.now().astimezone(SHANGHAI).strftime("%Y%m%d"),
        )
        # and the late request does land (why the lookup comes first): wait for it before the next test
        await eventually(lambda: len(world.hub.sms.messages()) == 1)

    async def test_a_request_acted_on_whose_answer_was_lost_is_found_and_sent(
        self, impatient_http: httpx.AsyncClient, world: SmsWorld
    ) -> None:
        # given Aliyun acts at once but its answer arrives after our timeout
        world.hub.sms.answer_slowly(ACCEPTED, 800)
        client = sms_client(impatient_http, world.hub, world.clock)

        # when
        [result] = await SmsAdapter(client, clock=world.clock).send([sms_message()])

        # then
        assert (result.outcome, result.reason) == ("sent", "timeout; found by QuerySendDetails")
        assert actions(world) == ["SendSms", "QuerySendDetails"]
        assert len(world.hub.sms.messages(ACCEPTED)) == 1

    async def test_another_deliverys_message_to_the_same_phone_does_not_count(
        self, client: AliyunSmsClient, impatient_http: httpx.AsyncClient, world: SmsWorld
    ) -> None:
        # given an earlier message to the phone (another OutId), then a request that is never acted on in time
        await SmsAdapter(client).send([sms_message()])
        world.hub.sms.script({"path": "/", "Action": "SendSms"}, {"delayMs": 800})
        slow = sms_client(impatient_http, world.hub, world.clock)

        # when
        [result] = await SmsAdapter(slow, clock=world.clock).send([sms_message()])

        # then
        assert (result.outcome, result.reason) == ("retry", "timeout")
        await eventually(lambda: len(world.hub.sms.messages()) == 2)


class TestSmsSandboxSlowAnswerControl:
    async def test_a_slow_answer_posted_over_http_holds_the_reply_back(
        self, http: httpx.AsyncClient, impatient_http: httpx.AsyncClient, world: SmsWorld
    ) -> None:
        # given
        control = await http.post(
            f"{world.hub.sms.base_url}/_control/slow-answer", json={"phone": ACCEPTED, "delayMs": 800}
        )
        client = sms_client(impatient_http, world.hub, world.clock)

        # when
        [result] = await SmsAdapter(client, clock=world.clock).send([sms_message()])

        # then
        assert control.status_code == 201
        assert result.outcome == "sent"
