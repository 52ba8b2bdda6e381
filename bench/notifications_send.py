"""Part 2 of the notifications benchmark, our side: transactional notices through the real pipeline.

Users are generated residents with an iOS device each (`register_device`); one `application.accepted` notice per
user is inserted (`insert_requests`, the rows `emit` writes), planned (`plan_requests`: the Delivery rows and the
inbox item of each), then sent by `send_batch` in batches of `send_batch_size`, several batches at once as an arq
worker runs them (max_jobs), with the real ApnsAdapter, PostgreSQL and Redis.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from api.models.notifications import NoticeCategory, NoticeKind, PushEnv, PushPlatform
from bench.notifications_data import generate_residents, resident_ids, sql
from notifications import devices, templates, topics
from notifications.deps import NotificationsDeps
from notifications.plan import plan_requests
from notifications.requests import NewRequest, insert_requests, transactional_dedup_key
from notifications.sender import send_batch

TOPIC = "application.accepted"
CAMPAIGN_TEMPLATE = "POLICY_ELDERLY_SUBSIDY"
T = TypeVar("T")


async def bounded(calls: Sequence[Callable[[], Awaitable[T]]], concurrency: int) -> list[T]:
    slots = asyncio.Semaphore(concurrency)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with slots:
            return await call()

    return list(await asyncio.gather(*(one(c) for c in calls)))


def chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


@dataclass
class Users:
    ids: list[uuid.UUID]
    tokens: list[str]
    register_s: float


async def users_with_devices(deps: NotificationsDeps, count: int, rng: random.Random, tokens: list[str]) -> Users:
    residents = await generate_residents(count, rng)
    ids = await resident_ids(residents.district)
    started = time.perf_counter()
    await bounded(
        [
            partial(devices.register_device, deps, user, PushPlatform.IOS, token, PushEnv.PROD, "bench")
            for user, token in zip(ids, tokens, strict=True)
        ],
        16,
    )
    return Users(ids, tokens, time.perf_counter() - started)


async def insert_notices(
    deps: NotificationsDeps, users: Sequence[uuid.UUID], tag: str
) -> tuple[list[uuid.UUID], float]:
    template = await templates.current_template(topics.template_for_topic(TOPIC))
    assert template is not None
    rows = [
        NewRequest(
            kind=NoticeKind.TRANSACTIONAL,
            category=template.category,
            topic=TOPIC,
            key=f"BENCH-{tag}-{i:06d}",
            state_version=1,
            recipient_user_id=user,
            template_code=template.code,
            template_version=template.version,
            params={"itemName": "合成事项", "projectNo": f"BENCH-{i:06d}", "promiseDate": "2026-12-31"},
            dedup_key=transactional_dedup_key(TOPIC, f"BENCH-{tag}-{i:06d}", 1, user),
            locale=template.locale,
        )
        for i, user in enumerate(users)
    ]
    started = time.perf_counter()
    found: dict[str, uuid.UUID] = {}
    for part in chunks(rows, 1000):
        found.update(await insert_requests(part, now=deps.clock.now()))
    return [found[r.dedup_key] for r in rows], time.perf_counter() - started


async def campaign_like_notices(deps: NotificationsDeps, users: Sequence[uuid.UUID], tag: str) -> list[uuid.UUID]:
    """Campaign notices (kind and category campaign, priority 5) without a campaign row: the campaign's own
    throttle (3,000/min by default) would otherwise decide how fast 102 deliveries may go."""
    template = await templates.current_template(CAMPAIGN_TEMPLATE)
    assert template is not None
    rows = [
        NewRequest(
            kind=NoticeKind.CAMPAIGN,
            category=NoticeCategory.CAMPAIGN,
            topic="campaign",
            key=f"bench-mix-{tag}",
            state_version=1,
            recipient_user_id=user,
            template_code=template.code,
            template_version=template.version,
            params={},
            dedup_key=f"campaign:bench-mix-{tag}:1:{user}",
            priority=5,
            locale=template.locale,
        )
        for user in users
    ]
    found = await insert_requests(rows, now=deps.clock.now())
    return [found[r.dedup_key] for r in rows]


async def plan_all(deps: NotificationsDeps, request_ids: Sequence[uuid.UUID], size: int, concurrency: int) -> float:
    started = time.perf_counter()
    await bounded([partial(plan_requests, deps, part) for part in chunks(request_ids, size)], concurrency)
    return time.perf_counter() - started


async def apns_deliveries(dedup_like: str, status: str = "created") -> list[uuid.UUID]:
    rows = await sql(
        "SELECT id FROM delivery WHERE dedup_key LIKE $1 AND channel = 'apns' AND status = $2", dedup_like, status
    )
    return [r["id"] if isinstance(r["id"], uuid.UUID) else uuid.UUID(str(r["id"])) for r in rows]


async def count_by(query: str, *args: object) -> int:
    return int((await sql(query, *args))[0]["n"])


@dataclass
class SendRun:
    seconds: float = 0.0
    returned_sent: int = 0
    batch_seconds: list[float] = field(default_factory=list)


async def send_all(deps: NotificationsDeps, delivery_ids: Sequence[uuid.UUID], size: int, concurrency: int) -> SendRun:
    run = SendRun()

    async def batch(part: list[uuid.UUID]) -> int:
        started = time.perf_counter()
        sent = await send_batch(deps, part)
        run.batch_seconds.append(time.perf_counter() - started)
        return sent

    started = time.perf_counter()
    results = await bounded([partial(batch, part) for part in chunks(delivery_ids, size)], concurrency)
    run.seconds = time.perf_counter() - started
    run.returned_sent = sum(results)
    return run


@dataclass
class MixRun:
    valid_sent_s: float | None  # when the 100 valid deliveries were all `sent` (None: not within the wait)
    batch_s: float
    valid_sent: int
    statuses: dict[str, str]  # busy / slow delivery → status after the batch


async def mix(deps: NotificationsDeps, valid: list[uuid.UUID], odd: dict[str, uuid.UUID]) -> MixRun:
    """One send_batch of the 102 deliveries; the 100 valid ones are polled every 20 ms until `sent`."""
    ids = [*valid, *odd.values()]
    started = time.perf_counter()
    task = asyncio.create_task(send_batch(deps, ids))
    valid_sent_s: float | None = None
    sent = 0
    while True:
        sent = await count_by(
            "SELECT count(*) AS n FROM delivery WHERE id = ANY($1::uuid[]) AND status = 'sent'", valid
        )
        if sent >= len(valid) and valid_sent_s is None:
            valid_sent_s = time.perf_counter() - started
        if task.done():
            break
        await asyncio.sleep(0.02)
    await task
    batch_s = time.perf_counter() - started
    rows = await sql("SELECT id, status FROM delivery WHERE id = ANY($1::uuid[])", list(odd.values()))
    by_id = {str(r["id"]): str(r["status"]) for r in rows}
    return MixRun(valid_sent_s, batch_s, sent, {name: by_id.get(str(d), "?") for name, d in odd.items()})
