"""Relays as arq jobs: one run per consumer at a time, a kick during a run makes it go once more, and kicks
de-duplicate while one is queued. Redis here is a fakeredis of the test's own (no worker reads it)."""

from __future__ import annotations

import uuid

import fakeredis
import pytest
from arq.connections import ArqRedis

from api import worker
from api.outbox import runner


def fresh_redis() -> ArqRedis:
    fake = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    return ArqRedis(connection_pool=fake.connection_pool)


class TestExclusively:
    async def test_without_redis_it_just_runs(self) -> None:
        # given
        calls: list[int] = []

        async def run() -> int:
            calls.append(1)
            return 3

        # when / then
        assert await runner.exclusively(None, "c", run) == 3
        assert calls == [1]

    async def test_a_run_while_another_holds_the_lock_does_nothing_and_the_holder_runs_again(self) -> None:
        # given: a run during which another one (a kick) starts
        redis = fresh_redis()
        consumer = f"c-{uuid.uuid4().hex[:8]}"
        nested: list[int] = []
        runs: list[int] = []

        async def inner() -> int:
            raise AssertionError("the second run must not start while the first holds the lock")

        async def outer() -> int:
            runs.append(1)
            if len(runs) == 1:
                nested.append(await runner.exclusively(redis, consumer, inner))
            return 1

        # when
        total = await runner.exclusively(redis, consumer, outer)

        # then: the nested run did nothing; the holder went once more; the lock is free again
        assert (nested, len(runs), total) == ([0], 2, 2)
        lock, again = runner._keys(consumer)
        assert (await redis.exists(lock), await redis.exists(again)) == (0, 0)

    async def test_a_failing_run_frees_the_lock(self) -> None:
        # given
        redis = fresh_redis()
        consumer = f"c-{uuid.uuid4().hex[:8]}"

        async def broken() -> int:
            raise RuntimeError("database away")

        async def fine() -> int:
            return 1

        # when
        with pytest.raises(RuntimeError, match="database away"):
            await runner.exclusively(redis, consumer, broken)

        # then
        assert await redis.exists(runner._keys(consumer)[0]) == 0
        assert await runner.exclusively(redis, consumer, fine) == 1


class TestKick:
    async def test_kicks_enqueue_one_job_per_relay_and_mark_it(self) -> None:
        # given
        redis = fresh_redis()

        # when: two kicks in a row
        await runner.kick(redis, [("payments", "relay_payments"), ("applications", "relay_applications")])
        await runner.kick(redis, [("payments", "relay_payments"), ("applications", "relay_applications")])

        # then: one queued job each, under the de-dup id, and the marks a running relay would find
        jobs = await redis.queued_jobs()
        assert sorted((j.function, j.job_id) for j in jobs) == [
            ("relay_applications", "outbox-kick:relay_applications"),
            ("relay_payments", "outbox-kick:relay_payments"),
        ]
        assert await redis.exists(runner._keys("payments")[1]) == 1

    async def test_the_next_run_consumes_the_mark(self) -> None:
        # given: a kick while nothing runs
        redis = fresh_redis()
        await runner.kick(redis, [("payments", "relay_payments")])
        runs: list[int] = []

        async def run() -> int:
            runs.append(1)
            return 0

        # when
        await runner.exclusively(redis, "payments", run)

        # then: one run, not two
        assert runs == [1]


class TestKickRelays:
    async def test_the_workers_kick_enqueues_every_relay_job_it_registers(self) -> None:
        # given
        redis = fresh_redis()

        # when
        await worker.kick_relays(redis)

        # then: every relay, each registered without a kept result (so that the de-dup id frees at once)
        jobs = await redis.queued_jobs()
        assert sorted(j.function for j in jobs) == ["relay_applications", "relay_corrections", "relay_payments"]
        registered = {f.name: f for f in worker.FUNCTIONS}
        assert all(registered[j.function].keep_result_s == 0 for j in jobs)
