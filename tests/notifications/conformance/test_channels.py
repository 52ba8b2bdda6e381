"""Conformance N10–N13 (notifications.md §4): preferences, WeChat one-time consent, Alipay signatures, SMS fallback."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from api.kit.clock import SHANGHAI
from api.models import Delivery, SubscriptionQuota
from tests.notifications.conformance.steps import (
    AUTHOR,
    accepted_params,
    approved_campaign,
    bill_params,
    campaign_template,
    emitted,
    inbox,
    preferences,
    registered,
    segment,
    set_preference,
)
from tests.support.notifications_world import World, apns_token

ACCEPTED, BILL_DUE = "application.accepted", "payments.bill_due_soon"
SUPPLEMENT, EXPIRING = "application.supplement_requested", "licenses.expiring"
WX_ACCEPTED, ALI_ACCEPTED = "TPL_WX_ACCEPTED", "TPL_ALI_ACCEPTED"  # the default application.accepted template
SMS_FALLBACK_PHONE = "13800000001"  # the SMS sandbox accepts it, then sends a receipt
TEMPLATES = """
query T($after: String) {
  notificationTemplates(first: 20, after: $after) {
    edges { node { code category smsFallback variants { channel smsTemplateCode smsSignName } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def launch_to(world: World, dsl: dict[str, Any] | None = None) -> str:
    template, segment_id = await campaign_template(world), await segment(world, dsl)
    start = world.now() + timedelta(minutes=1)
    campaign_id = await approved_campaign(
        world, template=template, segment_id=segment_id, schedule_at=start, window_end=start + timedelta(days=1)
    )
    world.at(start + timedelta(seconds=30))
    return campaign_id


async def outcomes(request_or_campaign: dict[str, str]) -> list[tuple[str, str, str | None]]:
    """(channel, status, suppress reason) of the request's or campaign's deliveries, inbox excluded."""
    rows = await Delivery.filter(**{k: uuid.UUID(v) for k, v in request_or_campaign.items()}).exclude(channel="inbox")
    return sorted(
        (d.channel.value, d.status.value, d.suppress_reason.value if d.suppress_reason else None) for d in rows
    )


class TestN10PreferencesAndTheCriticalCategory:
    async def test_n10_preferences_and_the_critical_category(self, world: World) -> None:
        # given U with an iOS token who muted push for campaigns and every channel for service notices
        world.at(datetime(2025, 6, 13, 10, 0, tzinfo=SHANGHAI))
        user, token = await world.resident(), apns_token()
        await registered(user, token)
        for category, channel in (("CAMPAIGN", "PUSH"), ("SERVICE", None)):
            changed = await set_preference(user, category, channel, False)
            assert changed["__typename"] == "NotificationPreferences", changed
        # when a campaign, a service reminder and a critical 补正材料 notice are sent
        campaign_id = await launch_to(world)
        service_id = await emitted(
            world,
            EXPIRING,
            f"L-{world.prefix}",
            30,
            user,
            {"name": "食品经营许可证", "valid_to": "2025-07-13", "days_left": "30", "license_id": f"L-{world.prefix}"},
        )
        critical_id = await emitted(
            world,
            SUPPLEMENT,
            f"N10-{world.prefix}",
            3,
            user,
            accepted_params(f"N10-{world.prefix}") | {"dueDate": "2025-06-20"},
        )
        await world.run_until_idle()
        # then the campaign and the service reminder reach the inbox only; the critical notice push and inbox
        assert [int(r["priority"]) for r in await world.apns_requests(token)] == [10]
        assert await outcomes({"campaign_id": campaign_id}) == [("apns", "suppressed", "opt_out")]
        assert await outcomes({"request_id": service_id}) == [("apns", "suppressed", "opt_out")]
        assert await outcomes({"request_id": critical_id}) == [("apns", "sent", None)]
        assert (await inbox(user))["unreadCount"] == 3
        # when U tries to mute the critical category
        before = await preferences(user)
        refused = await set_preference(user, "CRITICAL", None, False)
        # then a typed CRITICAL_NOT_MUTABLE error, and nothing changed
        assert (refused["__typename"], refused["code"]) == ("CriticalNotMutableError", "CRITICAL_NOT_MUTABLE")
        assert await preferences(user) == before


class TestN11WechatOneTimeQuota:
    async def test_n11_wechat_one_time_quota(self, world: World) -> None:
        # given U with a WeChat openid and no app endpoint, who accepted one-time template T in a popup
        world.at(datetime(2025, 6, 14, 10, 0, tzinfo=SHANGHAI))
        openid = f"o-conf-{uuid.uuid4().hex[:16]}"
        user = await world.wechat_resident(openid)
        await world.wechat_event("popup", openid, WX_ACCEPTED, "accept")
        # when two notices with template T are sent
        first = await emitted(world, ACCEPTED, f"N11a-{world.prefix}", 1, user, accepted_params(f"N11a-{world.prefix}"))
        await world.run_until_idle()
        second = await emitted(
            world, ACCEPTED, f"N11b-{world.prefix}", 1, user, accepted_params(f"N11b-{world.prefix}")
        )
        await world.run_until_idle()
        # then the first is sent (msgid stored), the second never reaches the sandbox and falls through to the inbox
        assert len(await world.wechat_sends(openid)) == 1
        [sent] = await Delivery.filter(request_id=uuid.UUID(first), channel="wechat")
        assert sent.status.value == "sent" and sent.provider_message_id
        assert not await Delivery.filter(request_id=uuid.UUID(second), channel="wechat", status__in=["sent", "sending"])
        assert await Delivery.filter(request_id=uuid.UUID(second), channel="inbox").count() == 1
        assert len(await world.inbox(user.user_id)) == 2
        assert await _quota(user.user_id, WX_ACCEPTED) == 0
        # given V, whose openid WeChat refuses (43101) although our record shows a consent
        refused_openid = f"refused-{uuid.uuid4().hex[:12]}"
        other = await world.wechat_resident(refused_openid)
        await world.wechat_event("popup", refused_openid, WX_ACCEPTED, "accept")
        refusal = {"errcode": 43101, "errmsg": "user refuse to accept the msg"}
        send = {"path": "/cgi-bin/message/subscribe/send", "touser": refused_openid}
        await world.script("wechat", send, {"body": refusal}, times=5)
        # when a notice goes to V and the workers keep running
        third = await emitted(
            world, ACCEPTED, f"N11c-{world.prefix}", 1, other, accepted_params(f"N11c-{world.prefix}")
        )
        await world.run_until_idle()
        world.advance(timedelta(minutes=30))
        await world.run_until_idle()
        # then one send, a permanent failure for want of consent, quota 0 and no retry
        assert len(await world.wechat_sends(refused_openid)) == 1
        [failed] = await Delivery.filter(request_id=uuid.UUID(third), channel="wechat")
        assert (failed.status.value, failed.attempts) == ("permanent_failure", 1)
        assert "no_consent" in (failed.last_error or "") or "43101" in (failed.last_error or "")
        assert await _quota(other.user_id, WX_ACCEPTED) == 0


async def _quota(user_id: str, template_id: str) -> int:
    row = await SubscriptionQuota.get(user_id=uuid.UUID(user_id), template_id=template_id)
    return row.remaining


class TestN12AlipaySignaturesBothWays:
    async def test_n12_alipay_signatures_both_ways(self, world: World, caplog: pytest.LogCaptureFixture) -> None:
        # given U with an Alipay user id (no app endpoint, no WeChat) and a long-term subscription to template T
        world.at(datetime(2025, 6, 15, 10, 0, tzinfo=SHANGHAI))
        alipay_user = f"2088{uuid.uuid4().int % 10**12:012d}"
        user = await world.alipay_resident(alipay_user)
        await world.alipay_subscription(alipay_user, ALI_ACCEPTED, "subscribe", "long_term")
        scope = f"topic:{ACCEPTED}"
        sent_before = await world.stat(scope, "sent", "alipay")
        # when a notice is sent through the Alipay adapter (the gateway sandbox verifies our RSA2 signature)
        first = await emitted(world, ACCEPTED, f"N12a-{world.prefix}", 1, user, accepted_params(f"N12a-{world.prefix}"))
        await world.run_until_idle()
        # then it is sent
        assert await outcomes({"request_id": first}) == [("alipay", "sent", None)]
        # when the sandbox corrupts its reply's sign and a second notice is sent
        match = {
            "path": "/gateway.do",
            "method": "alipay.open.app.mini.templatemessage.send",
            "biz_content.to_user_id": alipay_user,
        }
        await world.script("alipay", match, {"badSignature": True})
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            second = await emitted(
                world, ACCEPTED, f"N12b-{world.prefix}", 1, user, accepted_params(f"N12b-{world.prefix}")
            )
            await world.run_until_idle()
        # then a technical failure, never counted as sent, and an alert is logged
        assert await outcomes({"request_id": second}) == [("alipay", "technical_failure", None)]
        assert len(await world.alipay_sends(alipay_user)) == 2
        assert await world.stat(scope, "sent", "alipay") - sent_before == 1
        assert any(record.levelno >= logging.ERROR for record in caplog.records), caplog.records


class TestN13SmsFallbackOnlyWhereAllowed:
    async def test_n13_sms_fallback_only_where_allowed(self, world: World) -> None:
        # given U with phone 13800000001, no push endpoint and no WeChat or Alipay identity
        world.at(datetime(2025, 6, 16, 10, 0, tzinfo=SHANGHAI))
        user = await world.resident(SMS_FALLBACK_PHONE)
        otp_template = world.live.settings.sms.template_code
        sms_before = [m for m in await world.sms_sent(SMS_FALLBACK_PHONE) if m["templateCode"] != otp_template]
        # when a critical 缴费截止 notice (its template allows SMS fallback) and a campaign are sent to U
        bill = f"N13-{world.prefix}"
        request_id = await emitted(world, BILL_DUE, bill, 1, user, bill_params(bill))
        campaign_id = await launch_to(world, {"field": "resident.mobile", "op": "eq", "value": SMS_FALLBACK_PHONE})
        await world.run_until_idle()
        # then the SMS sandbox got exactly one SendSms, for the critical notice, with the approved sign and template
        sms = [m for m in await world.sms_sent(SMS_FALLBACK_PHONE) if m["templateCode"] != otp_template]
        new = sms[len(sms_before) :]
        template = await _template(world, "PAYMENTS_BILL_DUE_SOON")
        assert (template["category"], template["smsFallback"]) == ("CRITICAL", True)
        variant = next(v for v in template["variants"] if v["channel"] == "SMS")
        approved = (variant["smsSignName"], variant["smsTemplateCode"])
        assert [(m["signName"], m["templateCode"]) for m in new] == [approved]
        assert new[0]["params"] == {"name": "城乡居民医疗保险", "date": "2025-06-03"}
        # sent, or already delivered when the sandbox's receipt for 13800000001 came in meanwhile
        [(channel, status, reason)] = await outcomes({"request_id": request_id})
        assert (channel, reason) == ("sms", None) and status in ("sent", "delivered"), status
        # and no SMS for the campaign: suppressed(no_endpoint)
        campaign_rows = await outcomes({"campaign_id": campaign_id})
        assert [(status, reason) for _, status, reason in campaign_rows] == [("suppressed", "no_endpoint")]
        assert all(channel != "sms" for channel, _, _ in campaign_rows)
        # and the inbox has both
        items = await world.inbox(user.user_id)
        assert len([i for i in items if i.created_at >= datetime(2025, 6, 16, tzinfo=SHANGHAI)]) == 2


async def _template(world: World, code: str) -> dict[str, Any]:
    """The current version of a template, as an author lists them (page by page)."""
    token, after = await world.operator(AUTHOR), None
    while True:
        page = (await world.api.data(TEMPLATES, {"after": after}, token))["notificationTemplates"]
        for edge in page["edges"]:
            if edge["node"]["code"] == code:
                found: dict[str, Any] = edge["node"]
                return found
        assert page["pageInfo"]["hasNextPage"], f"no template {code}"
        after = page["pageInfo"]["endCursor"]
