"""The generic outbox relay: id order, at most once per (consumer, event), the handler's writes in the receipt's
transaction, a watermark that stays behind the grace period, and a failing handler that stops its consumer.

Each test reads topics of its own (`test.<random>`) under a consumer of its own, against the live database.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from api.models import OutboxEvent, OutboxProgress, OutboxReceipt
from api.outbox.relay import GRACE, prune_receipts, relay_once, run_relay
from tests.support.client import LiveServer


class Boom(RuntimeError):
    pass


def names() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:12]
    return f"test.{tag}", f"test-consumer-{tag}"


async def events(topic: str, count: int, created_at: datetime, *, key: str = "k") -> list[OutboxEvent]:
    return [
        await OutboxEvent.create(topic=topic, key=key, state_version=n, payload={"n": n}, created_at=created_at)
        for n in range(1, count + 1)
    ]


async def receipts(consumer: str) -> list[int]:
    return sorted(r.event_id for r in await OutboxReceipt.filter(consumer=consumer))


async def watermark(consumer: str) -> int:
    progress = await OutboxProgress.get_or_none(consumer=consumer)
    return progress.last_event_id if progress else 0


class Recorder:
    def __init__(self, fail_on: int | None = None) -> None:
        self.seen: list[int] = []
        self.fail_on = fail_on

    async def __call__(self, event: OutboxEvent) -> None:
        # a write of the handler's own, which must share the receipt's fate; idempotent, as handlers outside the
        # relay's transaction must be
        topic, key = f"{event.topic}.echo", str(event.id)
        if not await OutboxEvent.exists(topic=topic, key=key):
            await OutboxEvent.create(topic=topic, key=key, state_version=0, payload={}, created_at=event.created_at)
        if event.payload["n"] == self.fail_on:
            raise Boom(f"handler failed on {event.id}")
        self.seen.append(event.id)


async def echoes(topic: str) -> list[int]:
    return sorted(int(e.key) for e in await OutboxEvent.filter(topic=f"{topic}.echo"))


class TestRunRelay:
    async def test_handles_each_event_once_in_id_order_and_only_its_topics(self, live: LiveServer) -> None:
        # given: three old events of the topic, and one of another topic in between
        topic, consumer = names()
        now = live.clock.now()
        first = await events(topic, 2, now - timedelta(hours=1))
        other, _ = names()
        await events(other, 1, now - timedelta(hours=1))
        last = await events(topic, 1, now - timedelta(hours=1), key="k2")
        ids = [e.id for e in first + last]
        handle = Recorder()

        # when
        handled = await run_relay(consumer, [topic], handle, now=now)
        again = await run_relay(consumer, [topic], handle, now=now)

        # then
        assert (handled, again) == (3, 0)
        assert handle.seen == ids
        assert await receipts(consumer) == ids
        assert await echoes(topic) == ids
        assert await watermark(consumer) == ids[-1]

    async def test_reads_past_a_full_batch_in_one_run(self, live: LiveServer) -> None:
        # given: five events, read two at a time
        topic, consumer = names()
        created = await events(topic, 5, live.clock.now() - timedelta(hours=1))
        handle = Recorder()

        # when
        handled = await run_relay(consumer, [topic], handle, now=live.clock.now(), batch=2)

        # then
        assert handled == 5
        assert handle.seen == [e.id for e in created]
        assert await watermark(consumer) == created[-1].id

    async def test_the_watermark_stays_before_events_younger_than_the_grace_period(self, live: LiveServer) -> None:
        # given: an old event, then one just written (a lower id may still commit late on PostgreSQL)
        topic, consumer = names()
        now = live.clock.now()
        old = await events(topic, 1, now - GRACE - timedelta(seconds=1))
        young = await events(topic, 1, now - GRACE + timedelta(seconds=1), key="k2")
        handle = Recorder()

        # when
        run = await relay_once(consumer, [topic], handle, now=now)

        # then: both handled, but only the old one is behind the watermark
        assert (run.handled, run.skipped, run.failed_event_id) == (2, 0, None)
        assert await watermark(consumer) == old[0].id
        # and the next run reads the young one again and skips it by its receipt
        rerun = await relay_once(consumer, [topic], handle, now=now)
        assert (rerun.handled, rerun.skipped) == (0, 1)
        assert handle.seen == [old[0].id, young[0].id]
        # and once it is old enough the watermark passes it
        await relay_once(consumer, [topic], handle, now=now + GRACE)
        assert await watermark(consumer) == young[0].id

    async def test_a_late_commit_below_a_handled_event_is_not_skipped(self, live: LiveServer) -> None:
        # given: events 1 and 3 handled while young; event 2's id is lower but it becomes visible only later
        topic, consumer = names()
        now = live.clock.now()
        first, late, third = await events(topic, 3, now)
        await late.delete()  # invisible for the first run, as an uncommitted insert would be
        handle = Recorder()
        await run_relay(consumer, [topic], handle, now=now)
        await OutboxEvent.create(
            id=late.id, topic=topic, key="k", state_version=2, payload={"n": 2}, created_at=late.created_at
        )

        # when
        handled = await run_relay(consumer, [topic], handle, now=now + timedelta(seconds=5))

        # then
        assert handled == 1
        assert handle.seen == [first.id, third.id, late.id]
        assert await receipts(consumer) == [first.id, late.id, third.id]

    async def test_an_event_with_a_receipt_is_skipped(self, live: LiveServer) -> None:
        # given: another worker already handled the first event
        topic, consumer = names()
        created = await events(topic, 2, live.clock.now() - timedelta(hours=1))
        await OutboxReceipt.create(consumer=consumer, event_id=created[0].id)
        handle = Recorder()

        # when
        run = await relay_once(consumer, [topic], handle, now=live.clock.now())

        # then
        assert (run.handled, run.skipped) == (1, 1)
        assert handle.seen == [created[1].id]
        assert await echoes(topic) == [created[1].id]

    async def test_a_failing_handler_rolls_back_its_writes_and_stops_the_consumer(self, live: LiveServer) -> None:
        # given: the second of three events fails
        topic, consumer = names()
        now = live.clock.now()
        created = await events(topic, 3, now - timedelta(hours=1))
        handle = Recorder(fail_on=2)

        # when
        run = await relay_once(consumer, [topic], handle, now=now)

        # then: the first is handled, the second left no trace, the third waits behind it
        assert (run.handled, run.failed_event_id) == (1, created[1].id)
        assert handle.seen == [created[0].id]
        assert await receipts(consumer) == [created[0].id]
        assert await echoes(topic) == [created[0].id]
        assert await watermark(consumer) == created[0].id

        # when: the handler is fixed and the relay runs again
        handle.fail_on = None
        handled = await run_relay(consumer, [topic], handle, now=now)

        # then: the failed event first, then the rest, each once
        assert handled == 2
        assert handle.seen == [e.id for e in created]
        assert await receipts(consumer) == [e.id for e in created]
        assert await echoes(topic) == [e.id for e in created]

    async def test_a_handler_outside_the_transaction_gets_its_receipt_only_after_success(
        self, live: LiveServer
    ) -> None:
        # given: a topic whose handler calls a channel (its writes commit on their own)
        topic, consumer = names()
        now = live.clock.now()
        created = await events(topic, 2, now - timedelta(hours=1))
        handle = Recorder(fail_on=1)

        # when: it fails after its own write
        run = await relay_once(consumer, [topic], handle, now=now, outside_transaction={topic})

        # then: its write stays (it was not in a relay transaction), no receipt, the consumer stopped
        assert (run.handled, run.failed_event_id) == (0, created[0].id)
        assert await echoes(topic) == [created[0].id]
        assert await receipts(consumer) == []

        # when: it succeeds on the next run
        handle.fail_on = None
        assert await run_relay(consumer, [topic], handle, now=now, outside_transaction={topic}) == 2

        # then
        assert await receipts(consumer) == [e.id for e in created]
        assert handle.seen == [e.id for e in created]

    async def test_consumers_keep_their_own_progress(self, live: LiveServer) -> None:
        # given: two consumers of one topic
        topic, consumer = names()
        other = f"{consumer}-other"
        created = await events(topic, 2, live.clock.now() - timedelta(hours=1))
        mine, theirs = Recorder(), Recorder()
        await run_relay(consumer, [topic], mine, now=live.clock.now())

        # when
        handled = await run_relay(other, [topic], theirs, now=live.clock.now())

        # then
        assert handled == 2
        assert mine.seen == theirs.seen == [e.id for e in created]
        assert await receipts(consumer) == await receipts(other) == [e.id for e in created]


@pytest.mark.postgres_only
class TestRunRelayConcurrently:
    async def test_two_runs_at_once_handle_each_event_once(self, live: LiveServer) -> None:
        import asyncio

        # given
        topic, consumer = names()
        created = await events(topic, 20, live.clock.now() - timedelta(hours=1))
        handle = Recorder()

        # when
        results = await asyncio.gather(*(run_relay(consumer, [topic], handle, now=live.clock.now()) for _ in range(2)))

        # then
        assert sum(results) == 20
        assert sorted(handle.seen) == [e.id for e in created]
        assert await echoes(topic) == [e.id for e in created]


class TestPruneReceipts:
    async def test_removes_the_receipts_at_or_below_the_watermark_and_nothing_is_handled_twice(
        self, live: LiveServer
    ) -> None:
        # given: old events handled (watermark past them), then a fresh one handled within the grace period
        topic, consumer = names()
        now = live.clock.now()
        old = await events(topic, 2, now - timedelta(hours=1))
        fresh = await events(topic, 1, now, key="fresh")
        handle = Recorder()
        await run_relay(consumer, [topic], handle, now=now)
        mark = await watermark(consumer)

        # when
        removed = await prune_receipts(consumer)
        again = await run_relay(consumer, [topic], handle, now=now)

        # then
        assert mark == old[-1].id
        assert removed == 2
        assert await receipts(consumer) == [fresh[0].id]
        assert again == 0
        assert handle.seen == [e.id for e in old + fresh]

    async def test_a_consumer_that_never_ran_has_nothing_to_prune(self, live: LiveServer) -> None:
        _, consumer = names()
        assert await prune_receipts(consumer) == 0
