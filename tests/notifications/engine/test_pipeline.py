"""emit → plan_request → send_batch against the live database, with a scripted adapter and an injected clock."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from api.kit.redis import Redis
from api.models.notifications import (
    Delivery,
    DeviceEndpoint,
    InboxItem,
    NoticeCategory,
    NoticeKind,
    NoticeStatus,
    NotificationRequest,
    RequestStatus,
    SuppressReason,
)
from notifications import preferences, templates
from notifications.channels.base import LateReply, SendResult
from notifications.default_templates import ensure_default_templates
from notifications.deps import NotificationsDeps
from notifications.emit import emit
from notifications.errors import NotificationsError, NotificationsErrorCode
from notifications.ids import apns_id, collapse_id
from notifications.plan import plan_request
from notifications.requests import NewRequest, insert_requests
from notifications.sender import on_late_reply, send_batch
from tests.notifications.engine.support import (
    AFTERNOON,
    ScriptedAdapter,
    attempts,
    campaign_request,
    deliveries,
    iphone,
    make_deps,
    push_template,
    stat,
)
from tests.support.client import LiveServer


async def notice(
    deps: NotificationsDeps, code: str, user: uuid.UUID, *, expires_at: datetime | None = None
) -> uuid.UUID:
    template = await templates.current_template(code)
    assert template is not None
    key = f"test.topic:{uuid.uuid4()}:1:{user}"
    row = NewRequest(
        kind=NoticeKind.TRANSACTIONAL,
        category=template.category,
        topic="test.topic",
        key=key,
        state_version=1,
        recipient_user_id=user,
        template_code=code,
        template_version=template.version,
        params={"no": "C42"},
        dedup_key=key,
        expires_at=expires_at,
    )
    return (await insert_requests([row], now=deps.clock.now()))[key]


async def planned_notice(deps: NotificationsDeps, user: uuid.UUID, token: str | None = None) -> uuid.UUID:
    """A service notice to `user`'s new iPhone, planned: its push delivery waits in `created`."""
    code = await push_template(deps, NoticeCategory.SERVICE)
    await iphone(deps, user, token)
    request_id = await notice(deps, code, user)
    await plan_request(deps, request_id)
    return request_id


class TestEmit:
    async def test_a_repeated_event_returns_the_same_request(self, live: LiveServer) -> None:
        deps = make_deps(live)
        await ensure_default_templates()
        user, key = uuid.uuid4(), f"C{uuid.uuid4().hex[:8]}"

        ids = [
            await emit(
                deps,
                topic="application.accepted",
                key=key,
                state_version=1,
                recipient_user_id=user,
                params={"applicationId": key},
            )
            for _ in range(3)
        ]

        assert ids[0] == ids[1] == ids[2]
        request = await NotificationRequest.get(id=ids[0])
        assert (request.dedup_key, request.template_code, request.status) == (
            f"application.accepted:{key}:1:{user}",
            "APPLICATION_ACCEPTED",
            RequestStatus.PENDING,
        )
        assert await NotificationRequest.filter(recipient_user_id=user).count() == 1

    async def test_an_unknown_topic_is_invalid_input_and_writes_nothing(self, live: LiveServer) -> None:
        deps = make_deps(live)
        user = uuid.uuid4()

        with pytest.raises(NotificationsError) as raised:
            await emit(deps, topic="no.such", key="k", state_version=1, recipient_user_id=user, params={})

        assert raised.value.code == NotificationsErrorCode.INVALID_INPUT
        assert await NotificationRequest.filter(recipient_user_id=user).count() == 0


class TestPlanRequest:
    async def test_plans_push_and_writes_the_inbox_at_once(self, live: LiveServer) -> None:
        deps = make_deps(live)
        code = await push_template(deps, NoticeCategory.SERVICE)
        user = uuid.uuid4()
        await iphone(deps, user)
        request_id = await notice(deps, code, user)

        created = await plan_request(deps, request_id)
        again = await plan_request(deps, request_id)

        assert (created, again) == (1, 0)
        rows = await deliveries(request_id)
        assert {c: (d.status, d.attempts) for c, d in rows.items()} == {
            "apns": (NoticeStatus.CREATED, 0),
            "inbox": (NoticeStatus.SENT, 1),
        }
        item = await InboxItem.get(request_id=request_id)
        assert (item.title, item.deeplink, item.delivery_id) == (
            "办件通知 C42",
            "zsb://applications/C42",
            rows["inbox"].id,
        )
        assert (await NotificationRequest.get(id=request_id)).status == RequestStatus.PLANNED
        assert await stat("topic:test.topic", "apns", "eligible") >= 1

    async def test_without_endpoints_push_is_suppressed_and_the_request_done(self, live: LiveServer) -> None:
        deps = make_deps(live)
        code = await push_template(deps, NoticeCategory.SERVICE)
        user = uuid.uuid4()
        request_id = await notice(deps, code, user)

        created = await plan_request(deps, request_id)

        assert created == 0
        rows = await deliveries(request_id)
        assert (rows["apns"].status, rows["apns"].suppress_reason, rows["apns"].endpoint_key) == (
            NoticeStatus.SUPPRESSED,
            SuppressReason.NO_ENDPOINT,
            "none",
        )
        assert (await NotificationRequest.get(id=request_id)).status == RequestStatus.DONE


class TestSendBatch:
    async def test_sends_with_deterministic_ids_and_records_everything(self, live: LiveServer) -> None:
        apns = ScriptedAdapter("apns")
        deps = make_deps(live, adapters=[apns])
        code = await push_template(deps, NoticeCategory.SERVICE)
        user = uuid.uuid4()
        token = await iphone(deps, user)
        request_id = await notice(deps, code, user)
        await plan_request(deps, request_id)
        push = (await deliveries(request_id))["apns"]

        sent = await send_batch(deps, [str(push.id)])

        assert sent == 1
        [message] = apns.sent
        request = await NotificationRequest.get(id=request_id)
        assert (message.address, message.env, message.kind, message.deeplink) == (
            token,
            "prod",
            "transactional",
            "zsb://applications/C42",
        )
        assert message.apns_id == apns_id(request.dedup_key, "apns", push.endpoint_key)
        assert message.collapse_id == collapse_id(request.dedup_key)
        row = await Delivery.get(id=push.id)
        assert (row.status, row.attempts, row.provider_message_id, row.sent_at) == (
            NoticeStatus.SENT,
            1,
            message.apns_id,
            deps.clock.now(),
        )
        assert [(a.attempt_no, a.outcome, a.http_status) for a in await attempts(push.id)] == [(1, "sent", 200)]
        assert request.status == RequestStatus.DONE

    async def test_two_concurrent_batches_of_the_same_ids_send_once(self, live: LiveServer) -> None:
        apns = ScriptedAdapter("apns")
        apns.gate = asyncio.Event()
        deps = make_deps(live, adapters=[apns])
        user = uuid.uuid4()
        request_id = await planned_notice(deps, user)
        ids = [str((await deliveries(request_id))["apns"].id)]

        first = asyncio.create_task(send_batch(deps, ids))
        second = asyncio.create_task(send_batch(deps, ids))
        await asyncio.sleep(0.2)
        apns.gate.set()
        results = await asyncio.gather(first, second)

        assert sorted(results) == [0, 1]
        assert (apns.calls, len(apns.sent)) == (1, 1)
        assert len(await attempts(uuid.UUID(ids[0]))) == 1

    async def test_a_slow_token_does_not_hold_the_others_of_its_batch(self, live: LiveServer) -> None:
        apns = ScriptedAdapter("apns")
        apns.gate = asyncio.Event()
        slow = "slow" + uuid.uuid4().hex
        apns.hold = {slow}
        deps = make_deps(live, adapters=[apns])
        code = await push_template(deps, NoticeCategory.SERVICE)
        fast_user, slow_user = uuid.uuid4(), uuid.uuid4()
        await iphone(deps, fast_user)
        await iphone(deps, slow_user, slow)
        requests = [await notice(deps, code, u) for u in (fast_user, slow_user)]
        for r in requests:
            await plan_request(deps, r)
        fast_id, slow_id = [(await deliveries(r))["apns"].id for r in requests]

        batch = asyncio.create_task(send_batch(deps, [fast_id, slow_id]))
        for _ in range(100):
            if (await Delivery.get(id=fast_id)).status == NoticeStatus.SENT:
                break
            await asyncio.sleep(0.02)
        while_slow_waits = ((await Delivery.get(id=fast_id)).status, (await Delivery.get(id=slow_id)).status)
        apns.gate.set()
        sent = await batch

        assert while_slow_waits == (NoticeStatus.SENT, NoticeStatus.SENDING)
        assert sent == 2
        assert (await Delivery.get(id=slow_id)).status == NoticeStatus.SENT

    async def test_a_retry_waits_for_its_backoff_and_keeps_the_apns_id(self, live: LiveServer) -> None:
        user = uuid.uuid4()
        token = uuid.uuid4().hex * 2
        apns = ScriptedAdapter("apns", {token: [SendResult("retry", reason="InternalServerError", http_status=500)]})
        deps = make_deps(live, adapters=[apns], retry_base_s=1)
        request_id = await planned_notice(deps, user, token)
        push = (await deliveries(request_id))["apns"]
        start = deps.clock.now()

        await send_batch(deps, [push.id])
        failed = await Delivery.get(id=push.id)
        early = await send_batch(deps, [push.id])
        deps.clock.advance(timedelta(seconds=1.2))  # type: ignore[attr-defined]
        late = await send_batch(deps, [push.id])

        assert failed.status == NoticeStatus.TEMPORARY_FAILURE
        assert start + timedelta(seconds=1) <= failed.next_attempt_at <= start + timedelta(seconds=1.2)
        assert (early, late) == (0, 1)
        assert [m.apns_id for m in apns.sent] == [apns.sent[0].apns_id] * 2
        row = await Delivery.get(id=push.id)
        assert (row.status, row.attempts) == (NoticeStatus.SENT, 2)
        assert [a.outcome for a in await attempts(push.id)] == ["retry", "sent"]

    async def test_an_unregistered_token_fails_for_good_from_the_410_timestamp(self, live: LiveServer) -> None:
        user = uuid.uuid4()
        token = "gone" + uuid.uuid4().hex
        gone_at = AFTERNOON + timedelta(seconds=30)
        invalid = SendResult("invalid_endpoint", reason="Unregistered", http_status=410, endpoint_invalid_at=gone_at)
        apns = ScriptedAdapter("apns", {token: [invalid]})
        deps = make_deps(live, adapters=[apns])
        request_id = await planned_notice(deps, user, token)
        deps.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]

        await send_batch(deps, [(await deliveries(request_id))["apns"].id])

        row = (await deliveries(request_id))["apns"]
        assert (row.status, row.last_error, row.attempts) == (NoticeStatus.PERMANENT_FAILURE, "Unregistered", 1)
        assert (await DeviceEndpoint.get(token=token)).invalidated_at == gone_at

    async def test_bad_device_token_invalidates_and_the_next_notice_is_suppressed(self, live: LiveServer) -> None:
        user = uuid.uuid4()
        token = "bad" + uuid.uuid4().hex
        apns = ScriptedAdapter(
            "apns", {token: [SendResult("invalid_endpoint", reason="BadDeviceToken", http_status=400)]}
        )
        deps = make_deps(live, adapters=[apns])
        code = await push_template(deps, NoticeCategory.SERVICE)
        await iphone(deps, user, token)
        first = await notice(deps, code, user)
        await plan_request(deps, first)
        deps.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]

        await send_batch(deps, [(await deliveries(first))["apns"].id])
        second = await notice(deps, code, user)
        await plan_request(deps, second)

        endpoint = await DeviceEndpoint.get(token=token)
        assert (endpoint.invalidated_at, endpoint.invalid_reason) == (deps.clock.now(), "BadDeviceToken")
        assert (await deliveries(first))["apns"].status == NoticeStatus.PERMANENT_FAILURE
        later = (await deliveries(second))["apns"]
        assert (later.status, later.suppress_reason) == (NoticeStatus.SUPPRESSED, SuppressReason.NO_ENDPOINT)
        assert len(apns.sent) == 1

    async def test_an_auth_failure_is_retried_once_then_permanent(self, live: LiveServer) -> None:
        user = uuid.uuid4()
        token = uuid.uuid4().hex * 2
        auth = SendResult("auth", reason="InvalidProviderToken", http_status=403)
        apns = ScriptedAdapter("apns", {token: [auth, auth]})
        deps = make_deps(live, adapters=[apns], retry_base_s=1)
        request_id = await planned_notice(deps, user, token)
        push = (await deliveries(request_id))["apns"]

        await send_batch(deps, [push.id])
        first = await Delivery.get(id=push.id)
        deps.clock.advance(timedelta(seconds=2))  # type: ignore[attr-defined]
        await send_batch(deps, [push.id])

        second = await Delivery.get(id=push.id)
        assert (first.status, first.last_error) == (NoticeStatus.TEMPORARY_FAILURE, "auth: InvalidProviderToken")
        assert (second.status, second.attempts) == (NoticeStatus.PERMANENT_FAILURE, 2)
        assert len(apns.sent) == 2

    async def test_no_adapter_is_a_technical_failure(self, live: LiveServer) -> None:
        deps = make_deps(live)
        user = uuid.uuid4()
        request_id = await planned_notice(deps, user)

        settled = await send_batch(deps, [(await deliveries(request_id))["apns"].id])

        row = (await deliveries(request_id))["apns"]
        assert (row.status, row.last_error, settled) == (NoticeStatus.TECHNICAL_FAILURE, "no adapter for apns", 1)

    async def test_a_mute_after_planning_suppresses_at_send_time(self, live: LiveServer) -> None:
        apns = ScriptedAdapter("apns")
        deps = make_deps(live, adapters=[apns])
        user = uuid.uuid4()
        request_id = await planned_notice(deps, user)

        await preferences.update_preference(deps, user, NoticeCategory.SERVICE, "push", False)
        await send_batch(deps, [(await deliveries(request_id))["apns"].id])

        row = (await deliveries(request_id))["apns"]
        assert (row.status, row.suppress_reason) == (NoticeStatus.SUPPRESSED, SuppressReason.OPT_OUT)
        assert apns.sent == []

    async def test_past_its_expiry_a_delivery_expires_unsent(self, live: LiveServer) -> None:
        apns = ScriptedAdapter("apns")
        deps = make_deps(live, adapters=[apns])
        code = await push_template(deps, NoticeCategory.SERVICE)
        user = uuid.uuid4()
        await iphone(deps, user)
        request_id = await notice(deps, code, user, expires_at=deps.clock.now() + timedelta(minutes=1))
        await plan_request(deps, request_id)

        deps.clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]
        await send_batch(deps, [(await deliveries(request_id))["apns"].id])

        assert (await deliveries(request_id))["apns"].status == NoticeStatus.EXPIRED
        assert apns.sent == []

    async def test_an_empty_transactional_bucket_puts_the_rest_back_without_an_attempt(self, live: LiveServer) -> None:
        apns = ScriptedAdapter("apns")
        deps = make_deps(live, adapters=[apns], transactional_rate_per_s=1.0)
        code = await push_template(deps, NoticeCategory.SERVICE)
        user = uuid.uuid4()
        await iphone(deps, user)
        requests = [await notice(deps, code, user) for _ in range(2)]
        for r in requests:
            await plan_request(deps, r)
        ids = [(await deliveries(r))["apns"].id for r in requests]

        sent = await send_batch(deps, ids)

        rows = sorted([await Delivery.get(id=i) for i in ids], key=lambda d: d.status)
        assert sent == 1
        assert [(d.status, d.attempts) for d in rows] == [(NoticeStatus.DEFERRED, 0), (NoticeStatus.SENT, 1)]
        assert rows[0].next_attempt_at == deps.clock.now() + timedelta(seconds=1)


class TestRedisUnreachable:
    async def test_transactional_sends_go_unmetered(self, live: LiveServer) -> None:
        apns = ScriptedAdapter("apns")
        deps = make_deps(live, adapters=[apns])
        user = uuid.uuid4()
        request_id = await planned_notice(deps, user)

        async with dead_redis() as dead:
            sent = await send_batch(dataclasses.replace(deps, redis=dead), [(await deliveries(request_id))["apns"].id])

        assert sent == 1
        assert (await deliveries(request_id))["apns"].status == NoticeStatus.SENT

    async def test_campaign_sends_wait_without_an_attempt(self, live: LiveServer) -> None:
        apns = ScriptedAdapter("apns")
        deps = make_deps(live, adapters=[apns])
        code = await push_template(deps, NoticeCategory.CAMPAIGN)
        user = uuid.uuid4()
        await iphone(deps, user)
        request_id = await campaign_request(deps, code, user)
        await plan_request(deps, request_id)

        async with dead_redis() as dead:
            sent = await send_batch(dataclasses.replace(deps, redis=dead), [(await deliveries(request_id))["apns"].id])

        row = (await deliveries(request_id))["apns"]
        assert (sent, apns.sent) == (0, [])
        assert (row.status, row.attempts) == (NoticeStatus.DEFERRED, 0)
        assert row.next_attempt_at == deps.clock.now() + timedelta(seconds=5)


@contextlib.asynccontextmanager
async def dead_redis() -> AsyncIterator[Redis]:
    """A Redis client whose server refuses connections: a port that was just bound and closed again."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client: Redis = Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    try:
        yield client
    finally:
        await client.aclose()


class TestFrequencyCap:
    async def test_the_third_campaign_of_the_day_is_capped_and_counted(self, live: LiveServer) -> None:
        apns = ScriptedAdapter("apns")
        deps = make_deps(live, adapters=[apns])
        code = await push_template(deps, NoticeCategory.CAMPAIGN)
        user = uuid.uuid4()
        await iphone(deps, user)
        campaigns = [uuid.uuid4() for _ in range(3)]
        requests = [await campaign_request(deps, code, user, c) for c in campaigns]
        for r in requests:
            await plan_request(deps, r)

        for r in requests:
            await send_batch(deps, [(await deliveries(r))["apns"].id])

        statuses = [
            ((await deliveries(r))["apns"].status, (await deliveries(r))["apns"].suppress_reason) for r in requests
        ]
        assert statuses == [
            (NoticeStatus.SENT, None),
            (NoticeStatus.SENT, None),
            (NoticeStatus.SUPPRESSED, SuppressReason.FREQUENCY_CAPPED),
        ]
        assert await stat(f"campaign:{campaigns[2]}", "apns", "suppressed:frequency_capped") == 1
        assert (await deliveries(requests[2]))["inbox"].status == NoticeStatus.SENT

    async def test_the_devices_of_one_campaign_request_share_one_slot(self, live: LiveServer) -> None:
        apns = ScriptedAdapter("apns")
        deps = make_deps(live, adapters=[apns], campaign_daily_cap=1)
        code = await push_template(deps, NoticeCategory.CAMPAIGN)
        user = uuid.uuid4()
        await iphone(deps, user)
        await iphone(deps, user)
        first, second = await campaign_request(deps, code, user), await campaign_request(deps, code, user)
        for r in (first, second):
            await plan_request(deps, r)

        for r in (first, second):
            ids = [d.id for d in await Delivery.filter(request_id=r, channel="apns")]
            await send_batch(deps, ids[:1])
            await send_batch(deps, ids[1:])

        def statuses(rows: list[Delivery]) -> list[str]:
            return sorted(f"{d.status}:{d.suppress_reason}" for d in rows)

        assert statuses(await Delivery.filter(request_id=first, channel="apns")) == ["sent:None", "sent:None"]
        assert statuses(await Delivery.filter(request_id=second, channel="apns")) == [
            "suppressed:frequency_capped",
            "suppressed:frequency_capped",
        ]

    async def test_a_lost_cap_key_is_seeded_from_the_days_sent_campaigns(self, live: LiveServer) -> None:
        apns = ScriptedAdapter("apns")
        deps = make_deps(live, adapters=[apns], campaign_daily_cap=1)
        code = await push_template(deps, NoticeCategory.CAMPAIGN)
        user = uuid.uuid4()
        await iphone(deps, user)
        first = await campaign_request(deps, code, user)
        await plan_request(deps, first)
        await send_batch(deps, [(await deliveries(first))["apns"].id])
        await deps.redis.flushall()  # Redis restarted

        second = await campaign_request(deps, code, user)
        await plan_request(deps, second)
        await send_batch(deps, [(await deliveries(second))["apns"].id])

        assert (await deliveries(first))["apns"].status == NoticeStatus.SENT
        assert (await deliveries(second))["apns"].suppress_reason == SuppressReason.FREQUENCY_CAPPED
        assert len(apns.sent) == 1

    async def test_a_campaign_that_fails_gives_its_slot_back(self, live: LiveServer) -> None:
        user = uuid.uuid4()
        token = uuid.uuid4().hex * 2
        apns = ScriptedAdapter("apns", {token: [SendResult("permanent", reason="PayloadTooLarge", http_status=413)]})
        deps = make_deps(live, adapters=[apns], campaign_daily_cap=1)
        code = await push_template(deps, NoticeCategory.CAMPAIGN)
        await iphone(deps, user, token)
        first, second = await campaign_request(deps, code, user), await campaign_request(deps, code, user)
        for r in (first, second):
            await plan_request(deps, r)

        for r in (first, second):
            await send_batch(deps, [(await deliveries(r))["apns"].id])

        assert (await deliveries(first))["apns"].status == NoticeStatus.PERMANENT_FAILURE
        assert (await deliveries(second))["apns"].status == NoticeStatus.SENT


class TestLateReply:
    async def test_a_late_200_turns_a_temporary_failure_into_sent(self, live: LiveServer) -> None:
        user = uuid.uuid4()
        token = "slow" + uuid.uuid4().hex
        apns = ScriptedAdapter("apns", {token: [SendResult("retry", reason="timeout")]})
        deps = make_deps(live, adapters=[apns])
        request_id = await planned_notice(deps, user, token)
        push = (await deliveries(request_id))["apns"]
        await send_batch(deps, [push.id])

        late = SendResult("sent", provider_id="late-id", http_status=200)
        await on_late_reply(deps, LateReply(delivery_id=push.id, result=late, arrived_at=deps.clock.now()))
        deps.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
        retried = await send_batch(deps, [push.id])

        row = await Delivery.get(id=push.id)
        assert (row.status, row.provider_message_id, retried) == (NoticeStatus.SENT, "late-id", 0)
        assert [(a.outcome, a.late) for a in await attempts(push.id)] == [("retry", False), ("sent", True)]
        assert (await NotificationRequest.get(id=request_id)).status == RequestStatus.DONE
