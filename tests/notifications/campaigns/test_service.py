"""The campaign service's guards (§C4, N14 at the service level): typed errors that change nothing, four eyes,
edits back to draft with the approval cleared, schedules in the future, and an audit row for every change."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from api.models.notifications import Campaign, CampaignStatus
from notifications.campaign_service import (
    CampaignPatch,
    approve_campaign,
    cancel_campaign,
    create_campaign,
    get_campaign,
    list_campaigns,
    pause_campaign,
    reject_campaign,
    submit_campaign,
    transitions,
    update_campaign,
)
from notifications.errors import NotificationsError, NotificationsErrorCode
from notifications.templates import list_templates
from tests.notifications.campaigns.support import audit, campaign_input, operators, scheduled
from tests.notifications.segments.support import fresh_district, make_deps
from tests.support.client import LiveServer

S = CampaignStatus


def dsl() -> dict[str, Any]:
    return {"field": "resident.region_code", "op": "prefix", "value": fresh_district()}


async def refused(code: NotificationsErrorCode, call: Any) -> NotificationsError:
    with pytest.raises(NotificationsError) as caught:
        await call
    assert caught.value.error_code is code
    return caught.value


class TestCreateCampaign:
    async def test_a_draft_with_the_default_throttle_and_its_first_audit_row(self, live: LiveServer) -> None:
        deps = make_deps(live)
        (author,) = operators(1)
        campaign = await create_campaign(deps, author, await campaign_input(deps, dsl()))
        stored = await Campaign.get(id=campaign.id)
        assert (stored.status, stored.throttle_per_min, stored.created_by, stored.last_edited_by) == (
            S.DRAFT,
            3000,
            author,
            author,
        )
        assert await audit(campaign.id) == [("", "draft", str(author), deps.clock.now())]

    @pytest.mark.parametrize(
        ("change", "code", "path"),
        [
            ({"schedule_at": timedelta(0)}, NotificationsErrorCode.SCHEDULE_IN_PAST, ["scheduleAt"]),
            ({"schedule_at": timedelta(minutes=-5)}, NotificationsErrorCode.SCHEDULE_IN_PAST, ["scheduleAt"]),
            ({"window_end": timedelta(hours=1)}, NotificationsErrorCode.SCHEDULE_IN_PAST, ["windowEnd"]),
            ({"template_code": "NO_SUCH_TEMPLATE"}, NotificationsErrorCode.INVALID_INPUT, ["templateCode"]),
            ({"channels": ["push", "sms"]}, NotificationsErrorCode.INVALID_INPUT, ["channels"]),
            ({"throttle_per_min": 100_001}, NotificationsErrorCode.INVALID_INPUT, ["throttlePerMin"]),
            ({"throttle_per_min": -1}, NotificationsErrorCode.INVALID_INPUT, ["throttlePerMin"]),
            ({"recurrence": {"every": "week", "at": "09:00"}}, NotificationsErrorCode.INVALID_INPUT, ["recurrence"]),
            ({"recurrence": {"every": "day", "at": "25:00"}}, NotificationsErrorCode.INVALID_INPUT, ["recurrence"]),
            ({"name": "  "}, NotificationsErrorCode.INVALID_INPUT, ["name"]),
            ({"segment_id": uuid.uuid4()}, NotificationsErrorCode.NOT_FOUND, ["segmentId"]),
        ],
    )
    async def test_bad_input_is_typed_and_stores_nothing(
        self, live: LiveServer, change: dict[str, Any], code: NotificationsErrorCode, path: list[str]
    ) -> None:
        # given an operator and otherwise valid input
        deps = make_deps(live)
        (author,) = operators(1)
        now = deps.clock.now()
        spec = await campaign_input(deps, dsl())
        fields: dict[str, Any] = {k: (now + v if isinstance(v, timedelta) else v) for k, v in change.items()}
        # when / then
        error = await refused(code, create_campaign(deps, author, replace(spec, **fields)))
        assert error.path == path
        assert await Campaign.filter(created_by=author).count() == 0

    async def test_a_template_of_another_category_is_refused(self, live: LiveServer) -> None:
        deps = make_deps(live)
        (author,) = operators(1)
        service = next(t.code for t in await list_templates() if t.category != "campaign")
        spec = replace(await campaign_input(deps, dsl()), template_code=service)
        error = await refused(NotificationsErrorCode.INVALID_INPUT, create_campaign(deps, author, spec))
        assert error.path == ["templateCode"]


class TestApproveCampaign:
    async def test_approved_then_scheduled_at_once(self, live: LiveServer) -> None:
        deps = make_deps(live)
        author, approver = operators(2)
        campaign = await create_campaign(deps, author, await campaign_input(deps, dsl()))
        await submit_campaign(deps, author, campaign.id)
        await approve_campaign(deps, approver, campaign.id)
        stored = await Campaign.get(id=campaign.id)
        assert (stored.status, stored.approved_by, stored.next_run_at) == (S.SCHEDULED, approver, stored.schedule_at)
        now = deps.clock.now()
        assert await audit(campaign.id) == [
            ("", "draft", str(author), now),
            ("draft", "pending_approval", str(author), now),
            ("pending_approval", "approved", str(approver), now),
            ("approved", "scheduled", str(approver), now),
        ]

    @pytest.mark.parametrize("who", ["creator", "editor", "submitter"])
    async def test_self_approval_is_refused_and_changes_nothing(self, live: LiveServer, who: str) -> None:
        # given a campaign created by o1, last edited by o2, submitted by o3
        deps = make_deps(live)
        o1, o2, o3 = operators(3)
        campaign = await create_campaign(deps, o1, await campaign_input(deps, dsl()))
        await update_campaign(deps, o2, campaign.id, CampaignPatch(name="高龄津贴"))
        await submit_campaign(deps, o3, campaign.id)
        before = await audit(campaign.id)
        approver = {"creator": o1, "editor": o2, "submitter": o3}[who]
        # when that person approves; then SELF_APPROVAL and the campaign is as it was
        await refused(NotificationsErrorCode.SELF_APPROVAL, approve_campaign(deps, approver, campaign.id))
        stored = await Campaign.get(id=campaign.id)
        assert (stored.status, stored.approved_by) == (S.PENDING_APPROVAL, None)
        assert await audit(campaign.id) == before

    async def test_only_a_pending_campaign_can_be_approved(self, live: LiveServer) -> None:
        deps = make_deps(live)
        author, approver = operators(2)
        campaign = await create_campaign(deps, author, await campaign_input(deps, dsl()))
        await refused(NotificationsErrorCode.INVALID_TRANSITION, approve_campaign(deps, approver, campaign.id))
        assert (await Campaign.get(id=campaign.id)).status == S.DRAFT

    async def test_a_schedule_that_passed_while_waiting_is_refused(self, live: LiveServer) -> None:
        deps = make_deps(live)
        author, approver = operators(2)
        campaign = await create_campaign(deps, author, await campaign_input(deps, dsl()))
        await submit_campaign(deps, author, campaign.id)
        deps.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
        error = await refused(NotificationsErrorCode.SCHEDULE_IN_PAST, approve_campaign(deps, approver, campaign.id))
        assert error.path == ["scheduleAt"]
        assert (await Campaign.get(id=campaign.id)).status == S.PENDING_APPROVAL


class TestUpdateCampaign:
    async def test_editing_a_scheduled_campaign_returns_it_to_draft_without_approval(self, live: LiveServer) -> None:
        # given a campaign approved (and so scheduled) by o2
        deps = make_deps(live)
        campaign = await scheduled(deps, dsl())
        (editor,) = operators(1)
        # when its author's colleague edits it
        deps.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
        await update_campaign(deps, editor, campaign.id, CampaignPatch(throttle_per_min=600))
        # then draft again, approval and submission cleared, the edit audited
        stored = await Campaign.get(id=campaign.id)
        assert (stored.status, stored.approved_by, stored.submitted_by, stored.last_edited_by) == (
            S.DRAFT,
            None,
            None,
            editor,
        )
        assert (stored.throttle_per_min, stored.next_run_at) == (600, None)
        assert (await audit(campaign.id))[-1] == ("scheduled", "draft", str(editor), deps.clock.now())

    async def test_a_schedule_in_the_past_is_refused_and_changes_nothing(self, live: LiveServer) -> None:
        deps = make_deps(live)
        campaign = await scheduled(deps, dsl())
        (editor,) = operators(1)
        past = deps.clock.now() - timedelta(minutes=1)
        error = await refused(
            NotificationsErrorCode.SCHEDULE_IN_PAST,
            update_campaign(deps, editor, campaign.id, CampaignPatch(schedule_at=past)),
        )
        assert error.path == ["scheduleAt"]
        stored = await Campaign.get(id=campaign.id)
        assert (stored.status, stored.schedule_at, stored.version) == (
            S.SCHEDULED,
            campaign.schedule_at,
            campaign.version,
        )

    async def test_a_campaign_being_sent_cannot_be_edited(self, live: LiveServer) -> None:
        deps = make_deps(live)
        campaign = await scheduled(deps, dsl())
        await Campaign.filter(id=campaign.id).update(status=S.SENDING)  # the runs tests get there for real
        await refused(
            NotificationsErrorCode.INVALID_TRANSITION,
            update_campaign(deps, uuid.uuid4(), campaign.id, CampaignPatch(name="改")),
        )
        assert (await Campaign.get(id=campaign.id)).name == campaign.name

    async def test_an_unknown_campaign_is_not_found(self, live: LiveServer) -> None:
        deps = make_deps(live)
        error = await refused(
            NotificationsErrorCode.NOT_FOUND, update_campaign(deps, uuid.uuid4(), uuid.uuid4(), CampaignPatch())
        )
        assert error.path == ["campaignId"]


class TestRejectCampaign:
    async def test_back_to_draft_with_the_reason(self, live: LiveServer) -> None:
        deps = make_deps(live)
        author, approver = operators(2)
        campaign = await create_campaign(deps, author, await campaign_input(deps, dsl()))
        await submit_campaign(deps, author, campaign.id)
        await reject_campaign(deps, approver, campaign.id, "文案需修改")
        stored = await Campaign.get(id=campaign.id)
        assert (stored.status, stored.submitted_by) == (S.DRAFT, None)
        last = (await transitions(campaign.id))[-1]
        assert (last.from_status, last.to_status, last.actor, last.reason) == (
            "pending_approval",
            "draft",
            str(approver),
            "文案需修改",
        )


class TestPauseCampaign:
    async def test_only_a_sending_campaign_pauses(self, live: LiveServer) -> None:
        deps = make_deps(live)
        campaign = await scheduled(deps, dsl())
        before = await audit(campaign.id)
        await refused(NotificationsErrorCode.INVALID_TRANSITION, pause_campaign(deps, uuid.uuid4(), campaign.id))
        assert await audit(campaign.id) == before


class TestCancelCampaign:
    async def test_cancel_from_scheduled_and_never_again(self, live: LiveServer) -> None:
        deps = make_deps(live)
        campaign = await scheduled(deps, dsl())
        (operator,) = operators(1)
        await cancel_campaign(deps, operator, campaign.id)
        assert (await Campaign.get(id=campaign.id)).status == S.CANCELLED
        await refused(NotificationsErrorCode.INVALID_TRANSITION, cancel_campaign(deps, operator, campaign.id))
        assert [t[1] for t in await audit(campaign.id)][-1] == "cancelled"


class TestGetCampaign:
    async def test_known_and_unknown(self, live: LiveServer) -> None:
        deps = make_deps(live)
        campaign = await scheduled(deps, dsl())
        found = await get_campaign(campaign.id)
        assert found is not None and found.id == campaign.id
        assert await get_campaign(uuid.uuid4()) is None


class TestListCampaigns:
    async def test_pages_newest_first_without_overlap(self, live: LiveServer) -> None:
        deps = make_deps(live)
        made = [(await scheduled(deps, dsl())).id for _ in range(3)]
        first = await list_campaigns(2, None)
        second = await list_campaigns(2, first.cursors[-1])
        ids = [c.id for c in [*first.items, *second.items]]
        assert first.has_next_page
        assert len(ids) == len(set(ids))
        assert ids[:3] == made[::-1]
