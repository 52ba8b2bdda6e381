"""SmsReport receipts: pushed by the sandbox, signed, and parsed by parse_sms_report."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from api.kit.clock import SHANGHAI
from api.platforms.sms import AliyunSmsClient
from notifications.channels.sms import SmsAdapter
from notifications.errors import NotificationsError, NotificationsErrorCode
from notifications.sms_receipts import SmsReceipt, parse_sms_report, receipt_signature
from tests.notifications.sms.conftest import RECEIPT_SECRET, SmsWorld
from tests.notifications.sms.support import ACCEPTED, ILLEGAL, eventually, sms_message


class TestReceiptPush:
    async def test_an_accepted_message_is_receipted_on_flush_and_parses(
        self, client: AliyunSmsClient, world: SmsWorld, http: httpx.AsyncClient
    ) -> None:
        # given
        world.hub.sms.set_receipt_url(world.receiver.url, RECEIPT_SECRET)
        item = sms_message()
        [result] = await SmsAdapter(client).send([item])

        # when
        response = await http.post(f"{world.hub.sms.base_url}/_control/receipts/flush")

        # then
        assert response.json() == {"pushed": 1, "pending": 0}
        [(body, signature)] = world.receiver.pushes
        [receipt] = parse_sms_report(body, signature, RECEIPT_SECRET)
        assert receipt == SmsReceipt(
            out_id=str(item.delivery_id),
            biz_id=result.provider_id or "",
            phone=ACCEPTED,
            success=True,
            err_code="DELIVERED",
            report_time=receipt.report_time,
        )
        assert receipt.report_time is not None
        assert abs((receipt.report_time - world.clock.now()).total_seconds()) < 2
        assert set(json.loads(body)[0]) == {
            "phone_number",
            "success",
            "biz_id",
            "out_id",
            "send_time",
            "report_time",
            "err_code",
            "err_msg",
            "sms_size",
        }

    async def test_receipts_are_pushed_in_the_background_shortly_after_the_send(
        self, client: AliyunSmsClient, world: SmsWorld
    ) -> None:
        # given
        world.hub.sms.set_receipt_url(world.receiver.url, RECEIPT_SECRET)
        world.hub.sms.receipts.delay_s = 0.05

        # when
        await SmsAdapter(client).send([sms_message()])

        # then
        await eventually(lambda: len(world.receiver.pushes) == 1)
        body, signature = world.receiver.pushes[0]
        assert [r.phone for r in parse_sms_report(body, signature, RECEIPT_SECRET)] == [ACCEPTED]

    async def test_a_refused_number_gets_no_receipt(self, client: AliyunSmsClient, world: SmsWorld) -> None:
        world.hub.sms.set_receipt_url(world.receiver.url, RECEIPT_SECRET)
        await SmsAdapter(client).send([sms_message(ILLEGAL)])
        assert await world.hub.sms.flush_receipts() == 0
        assert world.receiver.pushes == []

    async def test_a_failed_push_stays_pending_until_the_next_flush(
        self, client: AliyunSmsClient, world: SmsWorld
    ) -> None:
        # given a receiver that is down at first
        world.hub.sms.set_receipt_url(world.receiver.url, RECEIPT_SECRET)
        world.receiver.status = 503
        await SmsAdapter(client).send([sms_message()])

        # when
        first = await world.hub.sms.flush_receipts()
        world.receiver.status = 200
        second = await world.hub.sms.flush_receipts()

        # then
        assert (first, second, len(world.receiver.pushes)) == (0, 1, 1)


class TestParseSmsReport:
    BODY = json.dumps(
        [
            {
                "phone_number": "13800000001",
                "send_time": "2025-06-01 10:00:00",
                "report_time": "2025-06-01 10:00:05",
                "success": False,
                "err_code": "MK:0001",
                "err_msg": "用户关机",
                "sms_size": "1",
                "biz_id": "123456^0",
                "out_id": str(uuid.UUID(int=7)),
            }
        ],
        ensure_ascii=False,
    ).encode()

    def test_a_correctly_signed_report_is_read(self) -> None:
        [receipt] = parse_sms_report(self.BODY, receipt_signature(RECEIPT_SECRET, self.BODY), RECEIPT_SECRET)
        assert receipt == SmsReceipt(
            out_id=str(uuid.UUID(int=7)),
            biz_id="123456^0",
            phone="13800000001",
            success=False,
            err_code="MK:0001",
            report_time=receipt.report_time,
        )
        assert receipt.report_time is not None
        assert receipt.report_time.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") == "2025-06-01 10:00:05"

    @pytest.mark.parametrize(
        "signature",
        [None, "", receipt_signature("someone-else", BODY), receipt_signature(RECEIPT_SECRET, BODY + b" ")],
        ids=["missing", "empty", "forged-secret", "other-body"],
    )
    def test_a_forged_or_missing_signature_is_refused(self, signature: str | None) -> None:
        with pytest.raises(NotificationsError) as caught:
            parse_sms_report(self.BODY, signature, RECEIPT_SECRET)
        assert caught.value.error_code is NotificationsErrorCode.INVALID_INPUT

    def test_a_signed_body_that_is_not_a_report_array_is_refused(self) -> None:
        body = b'"not reports"'
        with pytest.raises(NotificationsError) as caught:
            parse_sms_report(body, receipt_signature(RECEIPT_SECRET, body), RECEIPT_SECRET)
        assert caught.value.error_code is NotificationsErrorCode.INVALID_INPUT
