"""Provider callbacks (§C11, §C13, N11, N13): WeChat consent and sent events, SMS receipts, Alipay subscription
events; status changes by compare-and-set from `sent`, counted once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from api.models import Delivery, DeliveryChannel, NoticeStatus, QuotaKind, QuotaProvider, StatBucket
from notifications import consents
from notifications.alipay_push import AlipayEvent
from notifications.callbacks import apply_alipay_events, apply_sms_receipts, apply_wechat_events
from notifications.deps import NotificationsDeps
from notifications.wechat_push import WechatEvent
from tests.notifications.users.support import reachable_resident, resident, sent_delivery
from tests.support.client import Api


@dataclass(frozen=True)
class Receipt:
    out_id: str | None
    biz_id: str | None
    phone: str
    success: bool
    err_code: str | None = None
    report_time: str | None = None


def template() -> str:
    return f"TPL_TEST_{uuid.uuid4().hex[:10]}"


async def metric(scope: str, channel: str, name: str) -> int:
    return sum(b.count for b in await StatBucket.filter(scope=scope, channel=channel, metric=name))


class TestApplyWechatEvents:
    async def test_popup_accepts_add_one_time_quota_and_rejects_zero_it(
        self, api: Api, deps: NotificationsDeps
    ) -> None:
        # given
        r = await reachable_resident(api)
        tpl, refused = template(), template()
        events = [
            WechatEvent("popup", r.openid, tpl, "acceptWithAlert", True),
            WechatEvent("popup", r.openid, tpl, "accept", True),
            WechatEvent("popup", r.openid, refused, "accept", True),
            WechatEvent("popup", r.openid, refused, "reject", False),
            WechatEvent("popup", "o-nobody-" + uuid.uuid4().hex, tpl, "accept", True),
        ]
        # when
        applied = await apply_wechat_events(deps, events)
        # then: the unknown openid changes nothing
        assert applied == 4
        assert await consents.quota_remaining([r.user_id], QuotaProvider.WECHAT) == {
            (r.user_id, tpl): (QuotaKind.ONE_TIME, 2),
            (r.user_id, refused): (QuotaKind.ONE_TIME, 0),
        }

    async def test_a_subscription_switched_off_ends_the_consent(self, api: Api, deps: NotificationsDeps) -> None:
        r, tpl = await reachable_resident(api), template()
        await apply_wechat_events(deps, [WechatEvent("popup", r.openid, tpl, "accept", True)])
        await apply_wechat_events(deps, [WechatEvent("change", r.openid, tpl, "reject", False)])
        assert await consents.consume(None, r.user_id, QuotaProvider.WECHAT, tpl) is False

    async def test_a_sent_event_delivers_the_message_once(self, api: Api, deps: NotificationsDeps) -> None:
        # given: a WeChat delivery accepted with a msgid
        user, msgid = await resident(api), str(uuid.uuid4().int % 10**18)
        topic = f"application.test_{uuid.uuid4().hex[:8]}"
        delivery = await sent_delivery(user, channel=DeliveryChannel.WECHAT, topic=topic, provider_message_id=msgid)
        sent = WechatEvent("sent", "o-any", "TPL", "success", True, msgid=msgid, error=0)
        # when: WeChat posts the event twice
        first = await apply_wechat_events(deps, [sent])
        again = await apply_wechat_events(deps, [sent])
        # then
        stored = await Delivery.get(id=delivery.id)
        assert (first, again) == (1, 0)
        assert (stored.status, stored.delivered_at) == (NoticeStatus.DELIVERED, deps.clock.now())
        assert await metric(f"topic:{topic}", "wechat", "delivered") == 1

    async def test_a_failed_sent_event_is_a_permanent_failure(self, api: Api, deps: NotificationsDeps) -> None:
        user, msgid = await resident(api), str(uuid.uuid4().int % 10**18)
        campaign = uuid.uuid4()
        delivery = await sent_delivery(
            user, channel=DeliveryChannel.WECHAT, campaign_id=campaign, provider_message_id=msgid
        )
        failed = WechatEvent("sent", "o-any", "TPL", "failed:user block", False, msgid=msgid, error=10005)
        assert await apply_wechat_events(deps, [failed]) == 1
        stored = await Delivery.get(id=delivery.id)
        assert stored.status == NoticeStatus.PERMANENT_FAILURE and stored.delivered_at is None
        assert await metric(f"campaign:{campaign}", "wechat", "failed:permanent_failure") == 1


class TestApplySmsReceipts:
    async def test_a_successful_receipt_delivers_by_out_id_or_biz_id(self, api: Api, deps: NotificationsDeps) -> None:
        user = await resident(api)
        topic = f"payments.test_{uuid.uuid4().hex[:8]}"
        by_out = await sent_delivery(user, channel=DeliveryChannel.SMS, topic=topic, provider_message_id="biz-1")
        biz = f"biz-{uuid.uuid4().hex}"
        by_biz = await sent_delivery(user, channel=DeliveryChannel.SMS, topic=topic, provider_message_id=biz)
        receipts = [
            Receipt(str(by_out.id), "biz-1", "13800000001", True),
            Receipt(None, biz, "13800000001", True),
            Receipt(str(by_out.id), "biz-1", "13800000001", True),  # repeated by the provider
            Receipt(str(uuid.uuid4()), None, "13800000001", True),  # not ours
        ]
        assert await apply_sms_receipts(deps, receipts) == 2
        assert {(await Delivery.get(id=d.id)).status for d in (by_out, by_biz)} == {NoticeStatus.DELIVERED}
        assert await metric(f"topic:{topic}", "sms", "delivered") == 2

    async def test_a_failed_receipt_is_a_permanent_failure(self, api: Api, deps: NotificationsDeps) -> None:
        user = await resident(api)
        delivery = await sent_delivery(user, channel=DeliveryChannel.SMS)
        receipt = Receipt(str(delivery.id), None, "13800000001", False, err_code="MOBILE_NOT_ON_SERVICE")
        assert await apply_sms_receipts(deps, [receipt]) == 1
        stored = await Delivery.get(id=delivery.id)
        assert (stored.status, stored.last_error) == (
            NoticeStatus.PERMANENT_FAILURE,
            "sms receipt MOBILE_NOT_ON_SERVICE",
        )

    async def test_a_receipt_for_a_delivery_not_sent_changes_nothing(self, api: Api, deps: NotificationsDeps) -> None:
        user = await resident(api)
        delivery = await sent_delivery(user, channel=DeliveryChannel.SMS, status=NoticeStatus.TEMPORARY_FAILURE)
        assert await apply_sms_receipts(deps, [Receipt(str(delivery.id), None, "13800000001", True)]) == 0
        assert (await Delivery.get(id=delivery.id)).status == NoticeStatus.TEMPORARY_FAILURE


class TestApplyAlipayEvents:
    async def test_subscribe_and_unsubscribe(self, api: Api, deps: NotificationsDeps) -> None:
        r = await reachable_resident(api)
        once, always = template(), template()
        applied = await apply_alipay_events(
            deps,
            [
                AlipayEvent(r.alipay_user_id, once, "subscribe", "one_time"),
                AlipayEvent(r.alipay_user_id, always, "subscribe", "long_term"),
                AlipayEvent("2088000000000000", once, "subscribe", "one_time"),  # nobody here
            ],
        )
        assert applied == 2
        assert await consents.quota_remaining([r.user_id], QuotaProvider.ALIPAY) == {
            (r.user_id, once): (QuotaKind.ONE_TIME, 1),
            (r.user_id, always): (QuotaKind.LONG_TERM, 0),
        }
        assert await apply_alipay_events(deps, [AlipayEvent(r.alipay_user_id, always, "unsubscribe", "long_term")]) == 1
        assert await consents.consume(None, r.user_id, QuotaProvider.ALIPAY, always) is False
