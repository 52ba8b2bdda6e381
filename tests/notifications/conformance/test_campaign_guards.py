"""Conformance N14 (notifications.md §4, §C4): the campaign state machine's guards and its audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta

from api.kit.clock import SHANGHAI
from api.models import Operator
from tests.notifications.conformance.steps import (
    APPROVER,
    SEEDED_DISTRICT,
    campaign,
    campaign_draft,
    campaign_op,
    campaign_template,
    segment,
)
from tests.support.notifications_world import World

# An operator with both campaign roles (author and approver): the four-eyes rule must stop them on their own campaign.
AUTHOR_AND_APPROVER = "campaign.lead"


class TestN14CampaignStateMachineGuards:
    async def test_n14_campaign_state_machine_guards(self, world: World) -> None:
        # given O1 (campaign_author and campaign_approver) and O2 (campaign_approver)
        world.at(datetime(2025, 6, 17, 10, 0, tzinfo=SHANGHAI))
        o1 = str((await Operator.get(username=AUTHOR_AND_APPROVER)).id)
        o2 = str((await Operator.get(username=APPROVER)).id)
        template, segment_id = await campaign_template(world), await segment(world, SEEDED_DISTRICT)
        start = world.now() + timedelta(hours=2)
        # when O1 creates and submits a campaign and tries to approve it
        draft = await campaign_draft(
            world,
            template=template,
            segment_id=segment_id,
            schedule_at=start,
            window_end=start + timedelta(days=1),
            username=AUTHOR_AND_APPROVER,
        )
        campaign_id = draft["id"]
        submitted = await campaign_op(world, AUTHOR_AND_APPROVER, "submitCampaign", campaignId=campaign_id)
        assert submitted["status"] == "PENDING_APPROVAL", submitted
        world.advance(timedelta(minutes=1))
        refused = await campaign_op(world, AUTHOR_AND_APPROVER, "approveCampaign", campaignId=campaign_id)
        # then a typed SELF_APPROVAL error, and the campaign still waits for approval
        assert (refused["__typename"], refused["code"]) == ("SelfApprovalError", "SELF_APPROVAL"), refused
        assert (await campaign(world, campaign_id))["status"] == "PENDING_APPROVAL"
        # when O2 approves it and O1 edits it
        world.advance(timedelta(minutes=1))
        approved = await campaign_op(world, APPROVER, "approveCampaign", campaignId=campaign_id)
        assert (approved["status"], approved["approvedBy"]) == ("SCHEDULED", o2), approved
        world.advance(timedelta(minutes=1))
        edited = await campaign_op(
            world, AUTHOR_AND_APPROVER, "updateCampaign", campaignId=campaign_id, name="惠民政策（修订）"
        )
        # then it is a draft again, with the approval cleared
        assert (edited["__typename"], edited["status"], edited["approvedBy"]) == ("Campaign", "DRAFT", None), edited
        # when O1 tries to schedule it in the past
        world.advance(timedelta(minutes=1))
        past = (world.now() - timedelta(minutes=5)).isoformat()
        late = await campaign_op(world, AUTHOR_AND_APPROVER, "updateCampaign", campaignId=campaign_id, scheduleAt=past)
        # then a typed SCHEDULE_IN_PAST error, and nothing changed
        assert (late["__typename"], late["code"]) == ("ScheduleInPastError", "SCHEDULE_IN_PAST"), late
        current = await campaign(world, campaign_id)
        assert (current["status"], current["scheduleAt"]) == ("DRAFT", edited["scheduleAt"])
        # and the transitions list every change with its actor and time
        changes = [(t["fromStatus"], t["toStatus"], t["actor"]) for t in current["transitions"]]
        assert changes == [
            (None, "DRAFT", o1),
            ("DRAFT", "PENDING_APPROVAL", o1),
            ("PENDING_APPROVAL", "APPROVED", o2),
            ("APPROVED", "SCHEDULED", o2),
            ("SCHEDULED", "DRAFT", o1),
        ]
        moments = [datetime.fromisoformat(t["at"]) for t in current["transitions"]]
        assert moments == sorted(moments)
        assert moments[0] == datetime(2025, 6, 17, 10, 0, tzinfo=SHANGHAI)
        assert moments[-1] == datetime(2025, 6, 17, 10, 3, tzinfo=SHANGHAI)
