"""ratingStatistics on a controlled data set (one fresh item), and the daily EXPIRED_UNRATED job."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from arq.connections import ArqRedis
from arq.worker import Worker

from api.kit.clock import shanghai_date
from api.lifespan import Services
from api.models import Application, ApplicationStatus, Evaluation, EvaluationStatus, Rectification, ServiceMoment
from api.ratings.jobs import expire_unrated
from api.settings import RatingSettings
from api.worker import FUNCTIONS
from tests.ratings.support import (
    CALLBACK,
    CLASSIFY,
    COMPLETE,
    DECIDE_APPEAL,
    OTHER_DEPT,
    STATISTICS,
    bad_input,
    case,
    handler,
    org_id,
    rated,
    rating_input,
    step,
    supervisor,
)
from tests.support.client import Api


def ratio(numerator: int, denominator: int) -> dict[str, Any]:
    return {"numerator": numerator, "denominator": denominator, "rate": numerator / denominator}


class TestRatingStatistics:
    async def test_figures_are_exact_on_a_controlled_data_set(self, api: Api) -> None:
        # given one fresh item of 白沙县医疗保障局 and one resident
        me = await api.sign_in()
        token = me.access_token
        item = uuid.uuid4()
        now = api.live.clock.now()
        dept = await handler(api)

        async def completed(**kw: Any) -> Application:
            return await case(me.person_id, now=now, item_id=item, **kw)

        a, b, c, _d, e, f, i = [await completed() for _ in range(7)]
        g = await completed(completed_ago=timedelta(days=5))  # completed before the period, rated in it
        h = await completed(status=ApplicationStatus.IN_PROGRESS)
        await rated(api, token, rating_input(a, code=1))
        await rated(api, token, rating_input(b, code=3))
        c_loop = (await rated(api, token, bad_input(c, code=5)))["rectification"]["id"]
        # d is never rated
        await rated(api, token, bad_input(e, code=4))  # callback not yet due
        f_loop = (await rated(api, token, bad_input(f, code=5)))["rectification"]["id"]
        i_loop = (await rated(api, token, bad_input(i, code=4)))["rectification"]["id"]
        await rated(api, token, rating_input(g, code=2))
        await rated(api, token, bad_input(h, "APPLY", code=4, anonymous=True))
        # c: called back on time and rectified; f: appeal upheld; i: callback overdue
        await step(api, CALLBACK, dept, rectificationId=c_loop, result="已回访")
        await step(api, CLASSIFY, dept, rectificationId=c_loop, category="IMMEDIATE")
        await step(api, COMPLETE, dept, rectificationId=c_loop, rectificationText="已整改", feedback="已整改")
        await step(api, CALLBACK, dept, rectificationId=f_loop, result="已回访")
        await step(api, CLASSIFY, dept, rectificationId=f_loop, category="MISJUDGED", text="恶意差评")
        boss = await supervisor(api)
        await step(api, DECIDE_APPEAL, boss, rectificationId=f_loop, upheld=True)
        await Rectification.filter(id=i_loop).update(callback_due_at=now - timedelta(hours=1))
        today = shanghai_date(api.live.clock.now())
        period = {"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}
        # when the department asks for its figures of that item
        figures = (await api.data(STATISTICS, {"item": str(item), **period}, dept))["ratingStatistics"]
        # then (f is excluded everywhere; d and the unrated stay in the 参评率 denominator)
        assert (figures["orgId"], figures["itemId"]) == (str(org_id()), str(item))
        assert figures["completedCases"] == 7  # a, b, c, d, e, f, i
        assert figures["participation"] == ratio(5, 6)  # a, b, c, e, i of 7 less f
        assert figures["ratings"] == 7  # a1 b3 c5 e4 i4 g2 h4
        assert figures["countByCode"] == [1, 1, 1, 3, 1]
        assert figures["goodRate"] == ratio(3, 7)
        assert figures["badRate"] == ratio(4, 7)
        assert figures["weightedScore"] == 33 / 7  # 10 + 8 + 6 + 3 × 3 + 0
        assert figures["rectifiedRate"] == ratio(1, 4)  # c
        assert figures["callbackRate"] == ratio(1, 3)  # c of the real-name c, e, i
        assert figures["callbackOnTimeRate"] == ratio(1, 2)  # c on time; i overdue; e not yet due
        # a supervisor gets the same figures for that org
        same = (await api.data(STATISTICS, {"org": str(org_id()), "item": str(item), **period}, boss))[
            "ratingStatistics"
        ]
        assert same == figures

    async def test_an_empty_period_has_no_rates(self, api: Api) -> None:
        dept = await handler(api)
        figures = (
            await api.data(STATISTICS, {"item": str(uuid.uuid4()), "from": "2025-01-01", "to": "2025-01-31"}, dept)
        )["ratingStatistics"]
        assert (figures["completedCases"], figures["ratings"], figures["weightedScore"]) == (0, 0, None)
        assert figures["participation"] == {"numerator": 0, "denominator": 0, "rate": None}

    async def test_another_departments_figures_are_refused(self, api: Api) -> None:
        other = await handler(api, OTHER_DEPT)
        body = await api.gql(STATISTICS, {"org": str(org_id()), "from": "2026-01-01", "to": "2026-01-31"}, other)
        assert body["errors"][0]["extensions"]["code"] == "NOT_ASSIGNED_ORG"

    async def test_a_reversed_period_is_refused(self, api: Api) -> None:
        body = await api.gql(STATISTICS, {"from": "2026-02-01", "to": "2026-01-01"}, await handler(api))
        assert body["errors"][0]["extensions"]["code"] == "INVALID_PERIOD"


class TestExpireUnratedRatings:
    async def test_completed_cases_past_the_window_without_a_rating_expire_and_no_others(self, api: Api) -> None:
        me = await api.sign_in()
        now = api.live.clock.now()
        expired = await case(me.person_id, now=now, completed_ago=timedelta(days=31))
        legacy = await case(me.person_id, now=now, completed_ago=timedelta(days=31))
        await Application.filter(id=legacy.id).update(evaluation_status=None, rating_due_at=None)
        fresh = await case(me.person_id, now=now, completed_ago=timedelta(days=1))
        rated_late = await case(me.person_id, now=now, completed_ago=timedelta(days=31))
        await Evaluation.create(
            id=uuid.uuid4(),
            application_id=rated_late.id,
            service_moment=ServiceMoment.COMPLETE,
            channel="APP",
            rater_person_id=uuid.UUID(me.person_id),
            satisfaction_code=1,
            form_version="2026.1",
            evaluated_at=now - timedelta(days=2),
            target_org_id=org_id(),
            target_org_uscc="x",
        )
        in_progress = await case(
            me.person_id, now=now, status=ApplicationStatus.IN_PROGRESS, completed_ago=timedelta(days=40)
        )
        # when the job runs twice
        await expire_unrated(now, RatingSettings())
        await expire_unrated(now, RatingSettings())
        statuses = {
            row.id: row.evaluation_status
            for row in await Application.filter(id__in=[expired.id, legacy.id, fresh.id, rated_late.id, in_progress.id])
        }
        assert statuses == {
            expired.id: EvaluationStatus.EXPIRED_UNRATED,
            legacy.id: EvaluationStatus.EXPIRED_UNRATED,
            fresh.id: EvaluationStatus.PENDING,
            rated_late.id: EvaluationStatus.PENDING,
            in_progress.id: None,
        }

    async def test_the_job_is_registered_with_the_worker(self, api: Api) -> None:
        me = await api.sign_in()
        app = await case(me.person_id, now=api.live.clock.now(), completed_ago=timedelta(days=32))
        services: Services = api.live.app.state.services
        pool = ArqRedis(connection_pool=services.redis.connection_pool)
        job = await pool.enqueue_job("expire_unrated_ratings", _job_id=f"expire-{uuid.uuid4()}")
        assert job is not None
        if not api.live.settings.worker_in_process:
            worker = Worker(
                functions=FUNCTIONS, redis_pool=pool, burst=True, handle_signals=False, ctx={"clock": api.live.clock}
            )
            await worker.async_run()
        assert await job.result(timeout=10, poll_delay=0.05) >= 1
        assert (await Application.get(id=app.id)).evaluation_status is EvaluationStatus.EXPIRED_UNRATED
