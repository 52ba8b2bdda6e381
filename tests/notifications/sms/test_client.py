"""AliyunSmsClient.send_sms and query_send_details against the SMS sandbox over real HTTP."""

from __future__ import annotations

import httpx

from api.kit.clock import SHANGHAI
from api.platforms.sms import AliyunSmsClient, SmsDetail, SmsSendAnswer
from tests.notifications.sms.conftest import SmsWorld
from tests.notifications.sms.support import ACCEPTED, ILLEGAL
from tests.platforms.support import sms_client


class TestSendSms:
    async def test_an_accepted_message_answers_ok_with_a_biz_id(self, client: AliyunSmsClient, world: SmsWorld) -> None:
        # when
        answer = await client.send_sms(ACCEPTED, "SMS_NOTICE", {"n": "1"}, sign_name="掌上办政务", out_id="d-1")

        # then
        [message] = world.hub.sms.messages()
        assert answer == SmsSendAnswer("OK", "OK", message.biz_id, answer.request_id, 200)
        assert (message.out_id, message.sign_name) == ("d-1", "掌上办政务")

    async def test_a_refusal_is_answered_not_raised(self, client: AliyunSmsClient, world: SmsWorld) -> None:
        answer = await client.send_sms(ILLEGAL, "SMS_NOTICE", {})
        assert (answer.code, answer.biz_id, answer.http_status) == ("isv.MOBILE_NUMBER_ILLEGAL", None, 200)
        assert "OutId" not in world.hub.sms.requests()[0].body

    async def test_a_wrong_secret_is_answered_with_the_sandboxs_refusal(
        self, http: httpx.AsyncClient, world: SmsWorld
    ) -> None:
        answer = await sms_client(http, world.hub, world.clock, secret="wrong").send_sms(ACCEPTED, "SMS_NOTICE", {})
        assert (answer.code, answer.http_status) == ("SignatureDoesNotMatch", 400)
        assert world.hub.sms.messages() == []


class TestQuerySendDetails:
    async def test_finds_only_the_message_with_the_out_id(self, client: AliyunSmsClient, world: SmsWorld) -> None:
        # given
        for out_id in ("d-1", "d-2"):
            await client.send_sms(ACCEPTED, "SMS_NOTICE", {"n": out_id}, out_id=out_id)
        today = world.clock.now().astimezone(SHANGHAI).date()

        # when
        details = await client.query_send_details(ACCEPTED, today, "d-2")

        # then
        [message] = world.hub.sms.messages()[1:]
        assert details == [
            SmsDetail(
                phone=ACCEPTED,
                send_status=1,
                err_code="",
                template_code="SMS_NOTICE",
                content=message.text,
                send_date=message.sent_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
                receive_date="",
                out_id="d-2",
            )
        ]
        query = world.hub.sms.requests()[-1].body
        assert (query["Action"], query["PageSize"], query["CurrentPage"]) == ("QuerySendDetails", "50", "1")

    async def test_reads_every_page(self, client: AliyunSmsClient, world: SmsWorld) -> None:
        # given three messages, the wanted one last
        for out_id in ("d-1", "d-2", "d-3"):
            await client.send_sms(ACCEPTED, "SMS_NOTICE", {}, out_id=out_id)
        today = world.clock.now().astimezone(SHANGHAI).date()

        # when
        details = await client.query_send_details(ACCEPTED, today, "d-3", page_size=1)

        # then
        assert [d.out_id for d in details] == ["d-3"]
        assert [r.body["CurrentPage"] for r in world.hub.sms.requests()[3:]] == ["1", "2", "3"]

    async def test_an_unknown_out_id_or_another_day_finds_nothing(
        self, client: AliyunSmsClient, world: SmsWorld
    ) -> None:
        # given
        await client.send_sms(ACCEPTED, "SMS_NOTICE", {}, out_id="d-1")
        today = world.clock.now().astimezone(SHANGHAI).date()

        # when / then
        assert await client.query_send_details(ACCEPTED, today, "d-9") == []
        assert await client.query_send_details(ACCEPTED, today.replace(year=today.year - 1), "d-1") == []

    async def test_a_receipted_message_shows_as_delivered(self, client: AliyunSmsClient, world: SmsWorld) -> None:
        # given a message receipted by the carrier
        world.hub.sms.set_receipt_url(world.receiver.url, "s")
        await client.send_sms(ACCEPTED, "SMS_NOTICE", {}, out_id="d-1")
        assert await world.hub.sms.flush_receipts() == 1

        # when
        [detail] = await client.query_send_details(ACCEPTED, world.clock.now().astimezone(SHANGHAI).date(), "d-1")

        # then
        assert (detail.send_status, detail.err_code, detail.receive_date != "") == (3, "DELIVERED", True)
