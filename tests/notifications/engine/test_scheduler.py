"""The scheduler tick and reconciler (§C5, §C7), the outbox relay (N17) and the arq jobs run by a burst worker."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta
from unittest import mock

import arq.worker
from arq.connections import ArqRedis
from arq.jobs import JobDef

from api.models import OutboxEvent
from api.models.notifications import (
    Delivery,
    NoticeCategory,
    NoticeStatus,
    NotificationRequest,
    RequestStatus,
)
from notifications import scheduler
from notifications.default_templates import ensure_default_templates
from notifications.deps import CAMPAIGN_QUEUE, TX_QUEUE, NotificationsDeps
from notifications.emit import emit
from notifications.jobs import FUNCTIONS
from notifications.plan import plan_request
from notifications.relay import relay_outbox, requests_for_event
from notifications.scheduler import tick
from notifications.sender import send_batch
from tests.notifications.engine.support import (
    ScriptedAdapter,
    campaign_request,
    deliveries,
    iphone,
    make_deps,
    push_template,
    stat,
)
from tests.notifications.engine.test_pipeline import notice
from tests.support.client import LiveServer


async def _no_redis_info(*_args: object) -> None:
    return None


async def queued(deps: NotificationsDeps, queue: str) -> list[JobDef]:
    return list(await ArqRedis(connection_pool=deps.redis.connection_pool).queued_jobs(queue_name=queue))


def sends_of(jobs: list[JobDef]) -> list[str]:
    return [i for job in jobs if job.function == "send_batch" for i in job.args[0]]


class TestTick:
    async def test_enqueues_the_relay_once_however_many_ticks(self, live: LiveServer) -> None:
        deps = make_deps(live)

        await tick(deps)
        await tick(deps)

        jobs = await queued(deps, TX_QUEUE)
        assert [j.function for j in jobs].count("relay_outbox") == 1

    async def test_a_deferred_campaign_delivery_is_enqueued_when_due_and_not_before(self, live: LiveServer) -> None:
        deps = make_deps(live)
        code = await push_template(deps, NoticeCategory.CAMPAIGN)
        user = uuid.uuid4()
        await iphone(deps, user)
        deps.clock.advance(timedelta(hours=8, minutes=30))  # type: ignore[attr-defined]  # 22:30 in Shanghai
        request_id = await campaign_request(deps, code, user)
        await plan_request(deps, request_id)
        push = (await deliveries(request_id))["apns"]

        await tick(deps)
        before = sends_of(await queued(deps, CAMPAIGN_QUEUE))
        deps.clock.set(push.next_attempt_at)  # type: ignore[attr-defined]
        await tick(deps)
        after = sends_of(await queued(deps, CAMPAIGN_QUEUE))

        assert push.status == NoticeStatus.DEFERRED
        assert str(push.id) not in before
        assert str(push.id) in after

    async def test_a_transactional_send_past_its_lease_goes_again(self, live: LiveServer) -> None:
        apns = ScriptedAdapter("apns")
        apns.gate = asyncio.Event()  # the worker "dies" mid-send
        deps = make_deps(live, adapters=[apns])
        code = await push_template(deps, NoticeCategory.SERVICE)
        user = uuid.uuid4()
        await iphone(deps, user)
        request_id = await notice(deps, code, user)
        await plan_request(deps, request_id)
        push = (await deliveries(request_id))["apns"]
        dying = asyncio.create_task(send_batch(deps, [push.id]))
        await asyncio.sleep(0.2)
        dying.cancel()

        deps.clock.advance(timedelta(seconds=deps.settings.apns_timeout_s * 2 + 31))  # type: ignore[attr-defined]
        report = await tick(deps)
        apns.gate.set()
        sent = await send_batch(deps, [push.id])

        assert report.leases_retried >= 1
        row = await Delivery.get(id=push.id)
        assert (row.status, row.attempts, sent) == (NoticeStatus.SENT, 2, 1)
        assert apns.sent[0].apns_id == apns.sent[-1].apns_id

    async def test_a_campaign_send_past_its_lease_is_never_sent_again(self, live: LiveServer) -> None:
        apns = ScriptedAdapter("apns")
        apns.gate = asyncio.Event()
        deps = make_deps(live, adapters=[apns])
        code = await push_template(deps, NoticeCategory.CAMPAIGN)
        user = uuid.uuid4()
        await iphone(deps, user)
        campaign = uuid.uuid4()
        request_id = await campaign_request(deps, code, user, campaign)
        await plan_request(deps, request_id)
        push = (await deliveries(request_id))["apns"]
        dying = asyncio.create_task(send_batch(deps, [push.id]))
        await asyncio.sleep(0.2)
        dying.cancel()

        deps.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
        await tick(deps)
        again = await send_batch(deps, [push.id])

        row = await Delivery.get(id=push.id)
        assert (row.status, again) == (NoticeStatus.TECHNICAL_FAILURE, 0)
        assert await stat(f"campaign:{campaign}", "apns", "failed:technical_failure") == 1
        assert (await NotificationRequest.get(id=request_id)).status == RequestStatus.DONE

    async def test_an_unsent_delivery_past_the_request_expiry_expires(self, live: LiveServer) -> None:
        deps = make_deps(live)
        code = await push_template(deps, NoticeCategory.SERVICE)
        user = uuid.uuid4()
        await iphone(deps, user)
        request_id = await notice(deps, code, user, expires_at=deps.clock.now() + timedelta(minutes=1))
        await plan_request(deps, request_id)

        deps.clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]
        await tick(deps)

        assert (await deliveries(request_id))["apns"].status == NoticeStatus.EXPIRED
        assert await stat("topic:test.topic", "apns", "failed:expired") >= 1
        assert (await NotificationRequest.get(id=request_id)).status == RequestStatus.DONE

    async def test_a_request_whose_plan_was_never_enqueued_is_planned_after_ten_seconds(self, live: LiveServer) -> None:
        deps = make_deps(live)
        code = await push_template(deps, NoticeCategory.SERVICE)
        request_id = await notice(deps, code, uuid.uuid4())

        await tick(deps)
        early = await queued(deps, TX_QUEUE)
        deps.clock.advance(timedelta(seconds=11))  # type: ignore[attr-defined]
        await tick(deps)
        late = await queued(deps, TX_QUEUE)

        def plans(jobs: list[JobDef]) -> list[str]:
            return [i for j in jobs if j.function == "plan_request" for i in j.args[0]]

        assert str(request_id) not in plans(early)
        assert str(request_id) in plans(late)


class TestRelayOutbox:
    async def test_a_replayed_event_makes_one_request_and_its_plan_is_enqueued(self, live: LiveServer) -> None:
        deps = make_deps(live)
        await ensure_default_templates()
        user, key = uuid.uuid4(), f"A{uuid.uuid4().hex[:12]}"
        event = await OutboxEvent.create(
            topic="application.accepted",
            key=key,
            state_version=3,
            payload={"applicationId": key, "applicantPersonId": str(user), "itemName": "营业执照"},
        )
        # a run that inserted the request and died before its receipt and progress were recorded
        crashed = await requests_for_event(deps, event)

        await relay_outbox(deps)
        await relay_outbox(deps)

        [request] = await NotificationRequest.filter(recipient_user_id=user)
        assert crashed == [request.id]
        assert request.dedup_key == f"application.accepted:{key}:3:{user}"
        plans = [i for j in await queued(deps, TX_QUEUE) if j.function == "plan_request" for i in j.args[0]]
        assert plans.count(str(request.id)) == 1


class TestJobs:
    async def test_a_burst_worker_plans_and_sends_an_emitted_notice(self, live: LiveServer) -> None:
        apns = ScriptedAdapter("apns")
        deps = make_deps(live, adapters=[apns])
        await ensure_default_templates()
        user, key = uuid.uuid4(), f"C{uuid.uuid4().hex[:8]}"
        token = await iphone(deps, user)
        request_id = await emit(
            deps,
            topic="application.accepted",
            key=key,
            state_version=1,
            recipient_user_id=user,
            params={"applicationId": key, "itemName": "营业执照"},
        )

        worker = arq.worker.Worker(
            functions=FUNCTIONS,
            redis_pool=ArqRedis(connection_pool=deps.redis.connection_pool),
            queue_name=TX_QUEUE,
            burst=True,
            poll_delay=0.01,
            handle_signals=False,
            ctx={"notifications": deps},
        )
        # fakeredis has no INFO, which arq logs at start-up
        with mock.patch.object(arq.worker, "log_redis_info", _no_redis_info):
            await worker.main()  # burst: returns once the queue is empty

        assert [m.address for m in apns.sent] == [token]
        assert apns.sent[0].deeplink == f"zsb://applications/{key}"
        rows = await deliveries(request_id)
        assert {c: d.status for c, d in rows.items()} == {"apns": NoticeStatus.SENT, "inbox": NoticeStatus.SENT}
        assert (await NotificationRequest.get(id=request_id)).status == RequestStatus.DONE


class TestRunScheduler:
    async def test_one_ticker_is_active_and_the_lock_is_freed_on_stop(self, live: LiveServer) -> None:
        first = make_deps(live, scheduler_interval_s=0.05)
        second = dataclasses.replace(first)  # another process: same Redis, its own deps
        ticked: list[int] = []

        async def record(deps: NotificationsDeps) -> None:
            ticked.append(id(deps))

        stop = asyncio.Event()
        with mock.patch.object(scheduler, "tick", record):
            loops = [asyncio.create_task(scheduler.run_scheduler(d, stop)) for d in (first, second)]
            await asyncio.sleep(0.5)
            stop.set()
            await asyncio.gather(*loops)

        assert len(ticked) >= 3
        assert len(set(ticked)) == 1
        assert await first.redis.exists(scheduler.LOCK_KEY) == 0
