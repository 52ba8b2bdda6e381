"""The issue's bad input (issue 7): each is a typed error (or a refused callback), changes nothing and sends nothing."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from api.kit.clock import SHANGHAI
from api.models import (
    Campaign,
    CampaignTransition,
    Delivery,
    DeviceEndpoint,
    NotificationTemplate,
    Segment,
    SubscriptionQuota,
)
from tests.notifications.conformance.steps import (
    AUTHOR,
    CREATE_SEGMENT,
    PREVIEW_SEGMENT,
    SAVE_TEMPLATE,
    SEEDED_DISTRICT,
    accepted_params,
    as_operator,
    campaign_draft,
    campaign_op,
    campaign_template,
    emitted,
    fresh_code,
    registered,
    segment,
    track_opened,
    unregister_device,
)
from tests.notifications.conformance.test_campaign_guards import AUTHOR_AND_APPROVER
from tests.support.notifications_world import World, apns_token

ACCEPTED = "application.accepted"
BAD_SEGMENTS: dict[str, Any] = {
    "unknown field": {"field": "resident.salary", "op": "gte", "value": 10000},
    "unknown op": {"field": "resident.age", "op": "like", "value": 60},
    "wrong type": {"field": "resident.age", "op": "gte", "value": "sixty"},
    "raw SQL in a value": {"field": "resident.region_code", "op": "eq", "value": "330102' OR '1'='1"},
    "raw SQL as a node": {"all": [{"sql": "SELECT id FROM person"}]},
    "not an object": "age >= 60; DROP TABLE person",
}


def _outcome(result: dict[str, Any]) -> tuple[str, str]:
    return result["__typename"], result.get("code", "")


class TestSegmentDsl:
    @pytest.mark.parametrize("case", sorted(BAD_SEGMENTS))
    async def test_an_invalid_segment_is_refused_by_create_and_preview_and_nothing_is_stored(
        self, world: World, case: str
    ) -> None:
        # given a segment DSL with an unknown field or op, a wrong type or an SQL fragment
        name = f"bad {world.prefix} {case}"
        dsl = BAD_SEGMENTS[case]
        # when an author creates it and previews it
        created = await as_operator(world, AUTHOR, CREATE_SEGMENT, {"input": {"name": name, "dsl": dsl}})
        previewed = await as_operator(world, AUTHOR, PREVIEW_SEGMENT, {"input": {"dsl": dsl}})
        # then both are typed INVALID_SEGMENT errors, and no segment is stored
        assert _outcome(created) == ("InvalidSegmentError", "INVALID_SEGMENT"), created
        assert _outcome(previewed) == ("InvalidSegmentError", "INVALID_SEGMENT"), previewed
        assert not await Segment.filter(name=name).exists()


class TestCampaignGuards:
    async def test_a_campaign_approved_by_its_author_is_refused_and_stays_pending(self, world: World) -> None:
        # given a campaign created and submitted by an operator who holds both campaign roles
        world.at(datetime(2025, 7, 1, 10, 0, tzinfo=SHANGHAI))
        template, segment_id = await campaign_template(world), await segment(world, SEEDED_DISTRICT)
        start = world.now() + timedelta(hours=1)
        draft = await campaign_draft(
            world,
            template=template,
            segment_id=segment_id,
            schedule_at=start,
            window_end=start + timedelta(days=1),
            username=AUTHOR_AND_APPROVER,
        )
        await campaign_op(world, AUTHOR_AND_APPROVER, "submitCampaign", campaignId=draft["id"])
        audit = await CampaignTransition.filter(campaign_id=uuid.UUID(draft["id"])).count()
        # when the same operator approves it
        refused = await campaign_op(world, AUTHOR_AND_APPROVER, "approveCampaign", campaignId=draft["id"])
        # then SELF_APPROVAL, and the campaign and its audit are unchanged
        assert _outcome(refused) == ("SelfApprovalError", "SELF_APPROVAL"), refused
        row = await Campaign.get(id=uuid.UUID(draft["id"]))
        assert (row.status.value, row.approved_by) == ("pending_approval", None)
        assert await CampaignTransition.filter(campaign_id=row.id).count() == audit

    async def test_a_schedule_in_the_past_is_refused_and_no_campaign_is_created(self, world: World) -> None:
        # given the clock at 10:00
        world.at(datetime(2025, 7, 2, 10, 0, tzinfo=SHANGHAI))
        template, segment_id = await campaign_template(world), await segment(world, SEEDED_DISTRICT)
        past = world.now() - timedelta(minutes=1)
        payload = {
            "name": f"past {world.prefix}",
            "segmentId": segment_id,
            "templateCode": template,
            "channels": ["PUSH"],
            "scheduleAt": past.isoformat(),
            "windowEnd": (past + timedelta(days=1)).isoformat(),
        }
        # when an author creates a campaign scheduled a minute ago
        refused = await campaign_op(world, AUTHOR, "createCampaign", **payload)
        # then SCHEDULE_IN_PAST, and nothing is created
        assert _outcome(refused) == ("ScheduleInPastError", "SCHEDULE_IN_PAST"), refused
        assert not await Campaign.filter(name=payload["name"]).exists()


class TestTemplates:
    async def test_a_template_over_the_payload_limit_is_refused_and_not_saved(self, world: World) -> None:
        # given a template whose push payload is over 4,096 bytes even with its placeholders empty
        code = fresh_code("big")
        payload = {"code": code, "category": "SERVICE", "title": "办件通知", "body": "办" * 1500, "channels": ["PUSH"]}
        # when an author saves it
        refused = await as_operator(world, AUTHOR, SAVE_TEMPLATE, {"input": payload})
        # then TEMPLATE_TOO_LARGE, and no version of it exists
        assert _outcome(refused) == ("TemplateTooLargeError", "TEMPLATE_TOO_LARGE"), refused
        assert not await NotificationTemplate.filter(code=code).exists()


class TestTracking:
    async def test_unknown_and_foreign_delivery_ids_are_not_found_and_change_nothing(self, world: World) -> None:
        # given U's delivered notice, and W, another resident
        world.at(datetime(2025, 7, 3, 10, 0, tzinfo=SHANGHAI))
        user, other, token = await world.resident(), await world.resident(), apns_token()
        await registered(user, token)
        await emitted(world, ACCEPTED, f"BT-{world.prefix}", 1, user, accepted_params(f"BT-{world.prefix}"))
        await world.run_until_idle()
        [delivery] = await world.deliveries(user.user_id, channel="apns")
        # when W reports U's delivery opened, and U reports an id that does not exist (and one that is no UUID)
        foreign = await track_opened(other, str(delivery.id))
        unknown = await track_opened(user, str(uuid.uuid4()))
        garbage = await track_opened(user, "'; DELETE FROM delivery; --")
        # then NOT_FOUND each time, and the delivery was never opened
        assert _outcome(foreign) == ("NotFoundError", "NOT_FOUND"), foreign
        assert _outcome(unknown) == ("NotFoundError", "NOT_FOUND"), unknown
        assert garbage["__typename"].endswith("Error"), garbage
        assert (await Delivery.get(id=delivery.id)).opened_at is None


class TestDeviceTokens:
    async def test_unregistering_a_token_another_user_holds_is_not_found_and_changes_nothing(
        self, world: World
    ) -> None:
        # given W holds a token (registered last on the shared phone)
        world.at(datetime(2025, 7, 4, 10, 0, tzinfo=SHANGHAI))
        user, other, token = await world.resident(), await world.resident(), apns_token()
        await registered(user, token)
        await registered(other, token)
        before = await DeviceEndpoint.get(token=token)
        # when U unregisters it
        refused = await unregister_device(user, token)
        # then NOT_FOUND, and W still holds the live endpoint
        assert _outcome(refused) == ("NotFoundError", "NOT_FOUND"), refused
        after = await DeviceEndpoint.get(token=token)
        assert (after.user_id, after.invalidated_at, after.registered_at) == (
            before.user_id,
            None,
            before.registered_at,
        )
        assert str(after.user_id) == other.user_id


class TestMiniProgramEvents:
    async def test_a_wechat_event_with_a_bad_signature_is_refused_and_grants_nothing(self, world: World) -> None:
        # given a subscribe popup accept for U's openid, signed with the wrong token
        openid = f"o-bad-{uuid.uuid4().hex[:12]}"
        user = await world.wechat_resident(openid)
        body = {
            "ToUserName": "gh_sandbox",
            "FromUserName": openid,
            "CreateTime": int(time.time()),
            "MsgType": "event",
            "Event": "subscribe_msg_popup_event",
            "List": {"TemplateId": "TPL_WX_ACCEPTED", "SubscribeStatusString": "accept", "PopupScene": "0"},
        }
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:8]
        forged = hashlib.sha1("".join(sorted(["not-our-token", timestamp, nonce])).encode()).hexdigest()  # noqa: S324
        # when it is posted to our message-push URL
        response = await world.api.http.post(
            "/notify/wechat/messages",
            params={"signature": forged, "timestamp": timestamp, "nonce": nonce},
            content=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json"},
        )
        # then it is refused and no consent is recorded
        assert response.status_code == 401, response.text
        assert not await SubscriptionQuota.filter(user_id=uuid.UUID(user.user_id)).exists()

    async def test_an_alipay_event_with_a_bad_signature_is_refused_and_grants_nothing(self, world: World) -> None:
        # given a subscription notify for U whose RSA2 signature does not verify
        alipay_user = f"2088{uuid.uuid4().int % 10**12:012d}"
        user = await world.alipay_resident(alipay_user)
        biz = {
            "user_id": alipay_user,
            "templates": [
                {"user_template_id": "TPL_ALI_ACCEPTED", "action": "subscribe", "subscribe_type": "long_term"}
            ],
        }
        form = {
            "notify_id": uuid.uuid4().hex,
            "utc_timestamp": str(int(time.time() * 1000)),
            "msg_method": "alipay.open.mini.messagetemplate.subscribe.changed",
            "app_id": world.live.settings.alipay.app_id,
            "version": "1.1",
            "charset": "utf-8",
            "biz_content": json.dumps(biz, separators=(",", ":")),
            "sign_type": "RSA2",
            "sign": "Zm9yZ2VkLXNpZ25hdHVyZQ==",
        }
        # when it is posted to our Alipay messages endpoint
        response = await world.api.http.post("/notify/alipay/messages", data=form)
        # then it is refused and no subscription is recorded
        assert response.status_code == 401, response.text
        assert not await SubscriptionQuota.filter(user_id=uuid.UUID(user.user_id)).exists()
