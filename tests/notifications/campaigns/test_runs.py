"""Campaign runs: launch on the scheduler's tick, resumable and idempotent materialisation, completion, cancel,
and the recurring campaign of N09 at the service level (a daily run never notifies the same licence twice)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from api.kit.clock import SHANGHAI, SettableClock
from api.models.notifications import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    Delivery,
    NoticeStatus,
    PushEnv,
    PushPlatform,
    RequestStatus,
)
from notifications import campaign_runs, devices
from notifications.campaign_runs import advance_campaigns, materialize_campaign
from notifications.campaign_service import cancel_campaign, pause_campaign, resume_campaign
from notifications.deps import CAMPAIGN_QUEUE, NotificationsDeps
from notifications.plan import plan_requests
from tests.notifications.campaigns.support import audit, operators, requests_of, scheduled, stat
from tests.notifications.segments.support import enterprise, fresh_district, licence, make_deps, person
from tests.support.client import LiveServer

S = CampaignStatus


def clock(deps: NotificationsDeps) -> SettableClock:
    assert isinstance(deps.clock, SettableClock)
    return deps.clock


async def launched(deps: NotificationsDeps, campaign: Campaign) -> Campaign:
    clock(deps).set(campaign.schedule_at + timedelta(seconds=1))
    assert await advance_campaigns(deps) >= 1
    return await Campaign.get(id=campaign.id)


async def residents(n: int) -> tuple[dict[str, Any], list[uuid.UUID]]:
    district = fresh_district()
    ids = sorted([(await person(district)).id for _ in range(n)])
    return {"field": "resident.region_code", "op": "prefix", "value": district}, ids


class TestAdvanceCampaigns:
    async def test_launches_when_due_and_enqueues_the_materialiser(self, live: LiveServer) -> None:
        deps = make_deps(live)
        dsl, _ = await residents(1)
        campaign = await scheduled(deps, dsl)
        # given the moment just before schedule_at: nothing happens
        clock(deps).set(campaign.schedule_at - timedelta(seconds=1))
        await advance_campaigns(deps)
        assert (await Campaign.get(id=campaign.id)).status == S.SCHEDULED
        # when schedule_at has passed
        stored = await launched(deps, campaign)
        # then run 1 is materialising, audited by the system, and its job is queued on the campaign queue
        assert (stored.status, stored.run_no) == (S.MATERIALIZING, 1)
        assert (await audit(campaign.id))[-1][:3] == ("scheduled", "materializing", "system")
        assert await deps.redis.zcard(CAMPAIGN_QUEUE) == 1

    async def test_completes_a_single_run_once_every_delivery_is_final(self, live: LiveServer) -> None:
        deps = make_deps(live)
        dsl, _ = await residents(2)
        campaign = await launched(deps, await scheduled(deps, dsl))
        await materialize_campaign(deps, campaign.id)
        # while requests are unplanned the run is not over
        await advance_campaigns(deps)
        assert (await Campaign.get(id=campaign.id)).status == S.SENDING
        # when planned (no device: the inbox, final at once)
        await plan_requests(deps, [r.id for r in await requests_of(campaign.id)])
        await advance_campaigns(deps)
        # then completed
        assert (await Campaign.get(id=campaign.id)).status == S.COMPLETED
        assert [t[1] for t in await audit(campaign.id)][-2:] == ["sending", "completed"]


class TestMaterializeCampaign:
    async def test_one_request_per_recipient_with_the_campaign_fields(self, live: LiveServer) -> None:
        deps = make_deps(live)
        dsl, ids = await residents(3)
        campaign = await launched(deps, await scheduled(deps, dsl))
        assert await materialize_campaign(deps, campaign.id) == 3
        requests = await requests_of(campaign.id)
        assert sorted(r.recipient_user_id for r in requests) == ids
        assert {r.dedup_key for r in requests} == {f"campaign:{campaign.id}:1:{u}" for u in ids}
        first = requests[0]
        assert (first.kind, first.category, first.priority, first.template_code, first.status) == (
            "campaign",
            "campaign",
            5,
            "LICENSE_RENEWAL_CAMPAIGN",
            RequestStatus.PENDING,
        )
        assert first.expires_at == campaign.window_end
        assert await stat(campaign.id, "targeted") == 3
        assert (await Campaign.get(id=campaign.id)).status == S.SENDING

    async def test_resumes_after_a_crash_and_a_second_run_adds_nothing(
        self, live: LiveServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given pages of 2 and a worker that dies after committing its first page
        deps = make_deps(live)
        dsl, ids = await residents(5)
        campaign = await launched(deps, await scheduled(deps, dsl))
        monkeypatch.setattr(campaign_runs, "PAGE_SIZE", 2)
        real = campaign_runs._enqueue_plans

        async def dies(*args: Any) -> None:
            raise RuntimeError("worker killed")

        monkeypatch.setattr(campaign_runs, "_enqueue_plans", dies)
        with pytest.raises(RuntimeError):
            await materialize_campaign(deps, campaign.id)
        assert len(await requests_of(campaign.id)) == 2
        assert (await Campaign.get(id=campaign.id)).status == S.MATERIALIZING
        # when the job runs again (twice)
        monkeypatch.setattr(campaign_runs, "_enqueue_plans", real)
        assert await materialize_campaign(deps, campaign.id) == 3
        assert await materialize_campaign(deps, campaign.id) == 0
        # then every resident exactly once, as recipient, request and targeted count
        assert sorted(r.recipient_user_id for r in await requests_of(campaign.id)) == ids
        recipients = await CampaignRecipient.filter(campaign_id=campaign.id).values_list("user_id", "run_no")
        assert sorted(recipients) == [(u, 1) for u in ids]
        assert await stat(campaign.id, "targeted") == 5
        assert (await Campaign.get(id=campaign.id)).status == S.SENDING

    async def test_a_cancel_stops_the_run_and_cancels_what_was_not_sent(
        self, live: LiveServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given a run cut after its first page of 2, with one planned recipient holding a device
        deps = make_deps(live)
        dsl, ids = await residents(4)
        await devices.register_device(deps, ids[0], PushPlatform.IOS, "a" * 64, PushEnv.PROD, "1.0")
        campaign = await launched(deps, await scheduled(deps, dsl))
        monkeypatch.setattr(campaign_runs, "PAGE_SIZE", 2)

        async def dies(*args: Any) -> None:
            raise RuntimeError("worker killed")

        monkeypatch.setattr(campaign_runs, "_enqueue_plans", dies)
        with pytest.raises(RuntimeError):
            await materialize_campaign(deps, campaign.id)
        first = next(r for r in await requests_of(campaign.id) if r.recipient_user_id == ids[0])
        await plan_requests(deps, [first.id])
        push = await Delivery.get(request_id=first.id, channel="apns")
        assert push.status == NoticeStatus.CREATED
        # when cancelled, then materialised again
        await cancel_campaign(deps, uuid.uuid4(), campaign.id)
        assert await materialize_campaign(deps, campaign.id) == 0
        # then no more requests, the unsent delivery and the unplanned request are cancelled, and counted
        requests = await requests_of(campaign.id)
        assert len(requests) == 2
        assert sorted(r.status for r in requests) == [RequestStatus.CANCELLED, RequestStatus.PLANNED]
        assert (await Delivery.get(id=push.id)).status == NoticeStatus.CANCELLED
        assert await stat(campaign.id, "failed:cancelled", "apns") == 1


class TestAdvanceCampaignsRecurring:
    async def test_a_run_finishing_after_the_next_runs_time_launches_it_in_the_same_tick(
        self, live: LiveServer
    ) -> None:
        # given a daily campaign whose day 1 run is only seen finished at day 2, 09:00:30
        day1 = date(2031, 5, 1)
        deps = make_deps(live, at=shanghai(day1, 8))
        dsl, _ = await residents(1)
        campaign = await scheduled(
            deps,
            dsl,
            schedule_at=shanghai(day1, 9),
            window_end=shanghai(day1 + timedelta(days=5), 0),
            recurrence={"every": "day", "at": "09:00"},
        )
        await launched(deps, campaign)
        await materialize_campaign(deps, campaign.id)
        await plan_requests(deps, [r.id for r in await requests_of(campaign.id)])
        # when the tick comes only then
        clock(deps).set(shanghai(day1 + timedelta(days=1), 9, 0, 30))
        await advance_campaigns(deps)
        # then day 2's run is under way, not postponed to day 3
        stored = await Campaign.get(id=campaign.id)
        assert (stored.status, stored.run_no, stored.next_run_at) == (
            S.MATERIALIZING,
            2,
            shanghai(day1 + timedelta(days=1), 9),
        )
        assert [t[1] for t in await audit(campaign.id)][-2:] == ["scheduled", "materializing"]


class TestPauseAndResumeCampaign:
    async def test_sending_pauses_and_resumes_without_materialising_again(self, live: LiveServer) -> None:
        deps = make_deps(live)
        dsl, _ = await residents(2)
        campaign = await launched(deps, await scheduled(deps, dsl))
        await materialize_campaign(deps, campaign.id)
        (operator,) = operators(1)
        await pause_campaign(deps, operator, campaign.id)
        await plan_requests(deps, [r.id for r in await requests_of(campaign.id)])
        await advance_campaigns(deps)  # a paused campaign never completes
        assert (await Campaign.get(id=campaign.id)).status == S.PAUSED
        await resume_campaign(deps, operator, campaign.id)
        stored = await Campaign.get(id=campaign.id)
        assert (stored.status, stored.run_no, len(await requests_of(campaign.id))) == (S.SENDING, 1, 2)
        assert [t[1] for t in await audit(campaign.id)][-2:] == ["paused", "sending"]


def shanghai(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


class TestRecurringCampaign:
    async def test_n09_each_licence_is_notified_once_across_daily_runs(self, live: LiveServer) -> None:
        # given enterprises of industry Y with licences expiring in 30, 31 and -1 days, and one of Z in 10 days
        day1 = date(2031, 4, 1)
        deps = make_deps(live, at=shanghai(day1, 8))
        district = fresh_district()
        contact_30, contact_31, contact_gone, contact_z = [await person(district) for _ in range(4)]
        y30 = await enterprise(district, contact_30, industry="F5111")
        y31 = await enterprise(district, contact_31, industry="F5111")
        y_gone = await enterprise(district, contact_gone, industry="F5111")
        z = await enterprise(district, contact_z, industry="C1311")
        in30 = await licence(district, day1 + timedelta(days=30), holder=y30)
        in31 = await licence(district, day1 + timedelta(days=31), holder=y31)
        await licence(district, day1 - timedelta(days=1), holder=y_gone)
        await licence(district, day1 + timedelta(days=10), holder=z)
        dsl = {
            "all": [
                {"field": "enterprise.region_code", "op": "prefix", "value": district},
                {"field": "enterprise.industry_code", "op": "eq", "value": "F5111"},
                {"field": "license.expires_within_days", "op": "lte", "value": 30},
            ]
        }
        campaign = await scheduled(
            deps,
            dsl,
            schedule_at=shanghai(day1, 9),
            window_end=shanghai(day1 + timedelta(days=7), 0),
            recurrence={"every": "day", "at": "09:00"},
        )
        # when day 1's run goes, and its job runs twice
        clock(deps).set(shanghai(day1, 9, 0, 1))
        await advance_campaigns(deps)
        assert await materialize_campaign(deps, campaign.id) == 1
        assert await materialize_campaign(deps, campaign.id) == 0
        day1_requests = await requests_of(campaign.id)
        assert [(r.recipient_user_id, r.dedup_key) for r in day1_requests] == [
            (contact_30.id, f"campaign:{campaign.id}:{in30.id}:{contact_30.id}")
        ]
        assert day1_requests[0].params["validTo"] == in30.valid_to.isoformat()  # type: ignore[union-attr]
        # and the run is over: the next one waits for day 2 at 09:00
        await plan_requests(deps, [r.id for r in day1_requests])
        await advance_campaigns(deps)
        stored = await Campaign.get(id=campaign.id)
        assert (stored.status, stored.next_run_at) == (S.SCHEDULED, shanghai(day1 + timedelta(days=1), 9))
        # when day 2's run goes (the 30-day licence still matches, the 31-day one now does too)
        clock(deps).set(shanghai(day1 + timedelta(days=1), 9, 0, 1))
        await advance_campaigns(deps)
        running = await Campaign.get(id=campaign.id)
        assert (running.status, running.run_no) == (S.MATERIALIZING, 2)
        assert await materialize_campaign(deps, campaign.id) == 1
        # then only the former 31-day licence's contact is new; the expired and the industry-Z ones never come
        requests = await requests_of(campaign.id)
        assert sorted((r.recipient_user_id, r.state_version) for r in requests) == sorted(
            [(contact_30.id, 1), (contact_31.id, 2)]
        )
        assert {r.dedup_key for r in requests} == {
            f"campaign:{campaign.id}:{in30.id}:{contact_30.id}",
            f"campaign:{campaign.id}:{in31.id}:{contact_31.id}",
        }
        assert await stat(campaign.id, "targeted") == 2
        runs = await CampaignRecipient.filter(campaign_id=campaign.id).values_list("run_no", "user_id")
        assert sorted(runs, key=str) == sorted([(1, contact_30.id), (2, contact_30.id), (2, contact_31.id)], key=str)


class TestNextRunAt:
    def campaign(self, last: datetime, **over: Any) -> Campaign:
        fields: dict[str, Any] = {
            "recurrence": {"every": "day", "at": "09:00"},
            "schedule_at": last,
            "next_run_at": last,
            "window_end": last + timedelta(days=3),
            **over,
        }
        return Campaign(**fields)

    def test_the_next_local_day_at_the_recurrence_time(self) -> None:
        day1 = date(2031, 4, 1)
        last = shanghai(day1, 9)
        assert campaign_runs.next_run_at(self.campaign(last), shanghai(day1, 9, 30)) == shanghai(
            day1 + timedelta(days=1), 9
        )

    def test_a_run_that_ended_after_its_successors_time_keeps_todays_run(self) -> None:
        day1 = date(2031, 4, 1)
        late = shanghai(day1 + timedelta(days=1), 9, 0, 30)
        assert campaign_runs.next_run_at(self.campaign(shanghai(day1, 9)), late) == shanghai(
            day1 + timedelta(days=1), 9
        )

    def test_missed_days_are_not_caught_up(self) -> None:
        day1 = date(2031, 4, 1)
        later = shanghai(day1 + timedelta(days=2), 7)
        assert campaign_runs.next_run_at(self.campaign(shanghai(day1, 9)), later) == shanghai(
            day1 + timedelta(days=2), 9
        )

    def test_none_past_the_window_or_for_a_single_run(self) -> None:
        day1 = date(2031, 4, 1)
        last = shanghai(day1, 9)
        short = self.campaign(last, window_end=shanghai(day1 + timedelta(days=1), 8))
        assert campaign_runs.next_run_at(short, shanghai(day1, 10)) is None
        assert campaign_runs.next_run_at(self.campaign(last, recurrence=None), shanghai(day1, 10)) is None
