"""The set-based compare-and-set of claimed deliveries: answers of a claim that lost its rows change nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta

from api.models.notifications import Delivery, NoticeCategory, NoticeStatus
from notifications import stats
from notifications.channels.base import SendResult
from notifications.plan import plan_request
from notifications.scheduler import tick
from notifications.sender import send_batch
from tests.notifications.engine.support import (
    ScriptedAdapter,
    attempts,
    deliveries,
    iphone,
    make_deps,
    push_template,
    stat,
)
from tests.notifications.engine.test_pipeline import notice
from tests.support.client import LiveServer

SCOPE = stats.scope_for(None, "test.topic")


class TestSendBatch:
    async def test_answers_arriving_after_the_row_was_claimed_again_change_and_count_nothing(
        self, live: LiveServer
    ) -> None:
        # given a batch stuck in its provider call past its lease, and the row swept and claimed by a second batch
        stuck, second = ScriptedAdapter("apns"), ScriptedAdapter("apns")
        stuck.gate, second.gate = asyncio.Event(), asyncio.Event()
        deps = make_deps(live, adapters=[stuck])
        code = await push_template(deps, NoticeCategory.SERVICE)
        user = uuid.uuid4()
        token = await iphone(deps, user)
        stuck.script[token] = [SendResult("permanent", http_status=400, reason="BadDeviceToken")]
        request_id = await notice(deps, code, user)
        await plan_request(deps, request_id)
        push = (await deliveries(request_id))["apns"]
        sent_before = await stat(SCOPE, "apns", "sent")
        failed_before = await stat(SCOPE, "apns", f"failed:{NoticeStatus.PERMANENT_FAILURE}")
        first = asyncio.create_task(send_batch(deps, [push.id]))
        await asyncio.sleep(0.2)
        deps.clock.advance(timedelta(seconds=deps.settings.apns_timeout_s * 2 + 31))  # type: ignore[attr-defined]
        await tick(deps)
        again = asyncio.create_task(send_batch(dataclasses.replace(deps, adapters={"apns": second}), [push.id]))
        await asyncio.sleep(0.2)

        # when the first batch's provider answer (a permanent failure) arrives while the second still sends
        stuck.gate.set()
        moved = await first
        row = await Delivery.get(id=push.id)

        # then its compare-and-set finds the row held by the other claim: nothing changes, nothing is counted
        assert moved == 0
        assert (row.status, row.attempts) == (NoticeStatus.SENDING, 2)
        second.gate.set()
        assert await again == 1
        row = await Delivery.get(id=push.id)
        assert (row.status, row.attempts, row.last_error) == (NoticeStatus.SENT, 2, None)
        assert await stat(SCOPE, "apns", "sent") == sent_before + 1
        assert await stat(SCOPE, "apns", f"failed:{NoticeStatus.PERMANENT_FAILURE}") == failed_before
        assert sorted((a.attempt_no, a.outcome) for a in await attempts(push.id)) == [(1, "permanent"), (2, "sent")]
