"""The deadline scan: 提示 / 黄牌 / 红牌 raised exactly once per (case or rectification, rule), timer states."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from arq.connections import ArqRedis
from arq.worker import Worker

from api.lifespan import Services
from api.models import Application, ApplicationStatus, EfficiencyAlert, OutboxEvent, RectificationStatus
from api.supervision import scan
from api.worker import FUNCTIONS
from tests.supervision.support import alerts_of, at, case, department, outbox_of, rectification, run_scan, timer, today
from tests.support.client import LiveServer


class TestScanCases:
    async def test_each_rule_raises_once_across_two_scans_and_timers_follow(self, live: LiveServer) -> None:
        # given one department's cases: overdue, near due, a step overrun, on track, paused, finished
        org = await department()
        day, cal = await today(live)
        overdue = await case(org, promise_date=day - timedelta(days=1), step_due_date=day - timedelta(days=3))
        near = await case(org, promise_date=cal.add_working_days(day, 1), step_due_date=cal.add_working_days(day, 1))
        step = await case(org, promise_date=cal.add_working_days(day, 5), step_due_date=day - timedelta(days=1))
        fine = await case(org, promise_date=cal.add_working_days(day, 2), step_due_date=cal.add_working_days(day, 1))
        paused = await case(
            org,
            status=ApplicationStatus.SUPPLEMENT_REQUIRED,
            resume_status=ApplicationStatus.IN_PROGRESS,
            paused_since=at(day) - timedelta(days=4),
            promise_date=day - timedelta(days=2),
            step_due_date=day - timedelta(days=3),
        )
        done = await case(org, status=ApplicationStatus.COMPLETED, promise_date=day - timedelta(days=5))
        # when the scan runs twice
        first = await run_scan(live)
        await run_scan(live)
        # then one alert per rule and case, each with one outbox row
        assert await alerts_of(org) == sorted(
            [
                ("PROMISE_NEAR_DUE", "NOTICE", str(near.id), None),
                ("PROMISE_OVERDUE", "RED", str(overdue.id), None),
                ("STEP_OVERDUE", "YELLOW", str(step.id), None),
            ]
        )
        assert await outbox_of(org) == 3
        assert first.raised["PROMISE_OVERDUE"] >= 1
        # and the timers show the highest open level; the paused case raises nothing and shows PAUSED
        assert [await timer(a) for a in (overdue, near, step, fine, paused, done)] == [
            "RED",
            "NEAR_DUE",
            "YELLOW",
            "NORMAL",
            "PAUSED",
            "NORMAL",
        ]

    async def test_the_alert_says_what_and_whom(self, live: LiveServer) -> None:
        # given an overdue case
        org = await department()
        day, _ = await today(live)
        overdue = await case(org, promise_date=day - timedelta(days=1))
        # when
        await run_scan(live)
        # then the alert names the case, and its outbox row carries what a notice needs
        alert = await EfficiencyAlert.get(application_id=overdue.id)
        assert alert.reason == (
            f"办件 {overdue.project_no}（{overdue.item_name}）承诺办结日期 {day - timedelta(days=1)} 已过，尚未办结"
        )
        assert (alert.responsible_org_id, alert.acknowledged_at, alert.resolved_at) == (org.id, None, None)
        event = await OutboxEvent.get(topic="supervision.alert_raised", key=str(alert.id))
        assert event.state_version == 1
        assert event.payload == {
            "alertId": str(alert.id),
            "level": "RED",
            "ruleCode": "PROMISE_OVERDUE",
            "ruleTitle": "超过承诺办结时间未办结",
            "applicationId": str(overdue.id),
            "rectificationId": None,
            "responsibleOrgId": str(org.id),
            "reason": alert.reason,
            "raisedAt": alert.raised_at.isoformat(),
            "projectNo": overdue.project_no,
            "itemName": overdue.item_name,
        }

    async def test_an_instant_case_is_red_the_day_after_acceptance(self, live: LiveServer) -> None:
        # given two 即办件: one accepted yesterday, one today, neither completed
        org = await department()
        day, _ = await today(live)
        late = await case(org, project_type="1", accept_time=at(day - timedelta(days=1)), promise_date=None)
        fresh = await case(org, project_type="1", accept_time=live.clock.now(), promise_date=day)
        # when
        await run_scan(live)
        # then only yesterday's is RED
        assert await alerts_of(org) == [("INSTANT_OVERDUE", "RED", str(late.id), None)]
        assert [await timer(late), await timer(fresh)] == ["RED", "NORMAL"]

    async def test_a_case_not_yet_accepted_has_no_promise_to_miss(self, live: LiveServer) -> None:
        # given a case waiting for acceptance (no accept_time) with a stale promise column
        org = await department()
        day, _ = await today(live)
        waiting = await case(
            org, status=ApplicationStatus.PENDING_ACCEPTANCE, accept_time=None, promise_date=day - timedelta(days=1)
        )
        # when
        await run_scan(live)
        # then
        assert await alerts_of(org) == []
        assert await timer(waiting) == "NORMAL"

    async def test_two_scans_at_once_raise_each_alert_once(self, live: LiveServer) -> None:
        # given three overdue cases
        org = await department()
        day, _ = await today(live)
        cases = [await case(org, promise_date=day - timedelta(days=1)) for _ in range(3)]
        # when two scans race
        await asyncio.gather(run_scan(live), run_scan(live))
        # then
        assert await alerts_of(org) == sorted(("PROMISE_OVERDUE", "RED", str(c.id), None) for c in cases)
        assert await outbox_of(org) == 3

    async def test_small_batches_reach_every_row(self, live: LiveServer) -> None:
        # given five overdue cases and a batch size of two
        org = await department()
        day, _ = await today(live)
        cases = [await case(org, promise_date=day - timedelta(days=1)) for _ in range(5)]
        # when
        await scan.scan(live.clock.now(), batch_size=2)
        # then every case is alerted once and RED
        assert await alerts_of(org) == sorted(("PROMISE_OVERDUE", "RED", str(c.id), None) for c in cases)
        assert [await timer(c) for c in cases] == ["RED"] * 5

    async def test_resuming_moves_the_case_from_paused_back_to_its_level(self, live: LiveServer) -> None:
        # given a paused case whose promise lies in the past
        org = await department()
        day, _ = await today(live)
        app = await case(
            org,
            status=ApplicationStatus.SPECIAL_PROCEDURE,
            resume_status=ApplicationStatus.IN_PROGRESS,
            paused_since=at(day) - timedelta(days=1),
            promise_date=day - timedelta(days=1),
        )
        await run_scan(live)
        assert (await timer(app), await alerts_of(org)) == ("PAUSED", [])
        # when the special procedure ends without moving the promise enough
        await Application.filter(id=app.id).update(status=ApplicationStatus.IN_PROGRESS, paused_since=None)
        await run_scan(live)
        # then
        assert await timer(app) == "RED"
        assert await alerts_of(org) == [("PROMISE_OVERDUE", "RED", str(app.id), None)]


class TestScanRectifications:
    async def test_callback_overdue_is_yellow_past_due_and_escalated_are_red(self, live: LiveServer) -> None:
        # given a department's rectifications
        org = await department()
        parent = await department()
        sub = await department(parent)
        now = live.clock.now()
        callback = await rectification(
            org,
            status=RectificationStatus.PENDING_CALLBACK,
            callback_due_at=now - timedelta(hours=1),
            due_at=now + timedelta(days=3),
        )
        late = await rectification(org, status=RectificationStatus.RECTIFYING, due_at=now - timedelta(hours=2))
        await rectification(org, status=RectificationStatus.CLOSED, due_at=now - timedelta(days=2))
        await rectification(org, status=RectificationStatus.APPEALED, due_at=now - timedelta(days=2))
        await rectification(org, status=RectificationStatus.VERIFYING, due_at=now + timedelta(hours=2))
        escalated = await rectification(
            sub, status=RectificationStatus.CLOSED, escalated=True, due_at=now + timedelta(days=1)
        )
        # when scanned twice
        await run_scan(live)
        await run_scan(live)
        # then
        assert await alerts_of(org) == sorted(
            [
                ("CALLBACK_OVERDUE", "YELLOW", None, str(callback.id)),
                ("RECTIFICATION_OVERDUE", "RED", None, str(late.id)),
            ]
        )
        assert await alerts_of(sub) == [("RECTIFICATION_ESCALATED", "RED", None, str(escalated.id))]
        alert = await EfficiencyAlert.get(rectification_id=escalated.id)
        event = await OutboxEvent.get(topic="supervision.alert_raised", key=str(alert.id))
        assert event.payload["escalatedToOrgId"] == str(parent.id)

    async def test_a_reopened_rectification_that_overruns_again_raises_again(self, live: LiveServer) -> None:
        # given an overdue rectification, alerted
        org = await department()
        now = live.clock.now()
        row = await rectification(org, due_at=now - timedelta(hours=1))
        await run_scan(live)
        # when the rater's 不满意 reopens it with a new deadline that passes too
        await type(row).filter(id=row.id).update(reopen_count=1, due_at=now - timedelta(minutes=1))
        await run_scan(live)
        await run_scan(live)
        # then one RED per round
        assert await alerts_of(org) == [("RECTIFICATION_OVERDUE", "RED", None, str(row.id))] * 2


class TestScanJob:
    async def test_the_worker_job_raises_after_the_clock_moves_a_day(self, live: LiveServer) -> None:
        # given a case due today: near due, not overdue
        org = await department()
        day, _ = await today(live)
        app = await case(org, promise_date=day)
        services: Services = live.app.state.services
        pool = ArqRedis(connection_pool=services.redis.connection_pool)

        async def run_job() -> object:
            job = await pool.enqueue_job("scan_deadlines", _job_id=f"scan-{uuid.uuid4()}")
            assert job is not None
            if not live.settings.worker_in_process:
                worker = Worker(
                    functions=FUNCTIONS, redis_pool=pool, burst=True, handle_signals=False, ctx={"clock": live.clock}
                )
                await worker.async_run()
            return await job.result(timeout=30, poll_delay=0.05)

        # when the job runs today
        await run_job()
        assert await alerts_of(org) == [("PROMISE_NEAR_DUE", "NOTICE", str(app.id), None)]
        assert await timer(app) == "NEAR_DUE"
        # and again after the shared clock moved on by one day
        live.clock.advance(timedelta(days=1))
        result = await run_job()
        await run_job()
        # then the promise has passed: one RED, still one NOTICE
        assert isinstance(result, dict)
        assert await alerts_of(org) == sorted(
            [("PROMISE_NEAR_DUE", "NOTICE", str(app.id), None), ("PROMISE_OVERDUE", "RED", str(app.id), None)]
        )
        assert await timer(app) == "RED"
