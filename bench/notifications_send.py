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
    registered: int  # through register_device (the rest by one INSERT … SELECT of the same rows)
    register_s: float


_DEVICES = """
INSERT INTO device_endpoint (id, created_at, updated_at, user_id, platform, token, env, app_version, registered_at,
                             last_seen_at)
SELECT gen_random_uuid(), now(), now(), u, 'ios', t, 'prod', 'bench', $3, $3
FROM unnest($1::uuid[], $2::text[]) AS d(u, t)
"""


async def users_with_devices(
    deps: NotificationsDeps, count: int, rng: random.Random, tokens: list[str], *, via_service: int
) -> Users:
    """`count` generated residents with an iOS device each: the first `via_service` registered by register_device
    (timed), the others by one statement writing the rows register_device writes."""
    residents = await generate_residents(count, rng)
    ids = await resident_ids(residents.district)
    served = min(via_service, count)
    started = time.perf_counter()
    await bounded(
        [
            partial(devices.register_device, deps, user, PushPlatform.IOS, token, PushEnv.PROD, "bench")
            for user, token in zip(ids[:served], tokens[:served], strict=True)
        ],
        16,
    )
    register_s = time.perf_counter() - started
    if served < count:
        await sql(_DEVICES, ids[served:], tokens[served:], deps.clock.now())
    return Users(ids, tokens, served, register_s)


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


_PLANNED = """
WITH planned AS (
    UPDATE notification_request SET status = 'planned' WHERE id = ANY($1::uuid[]) AND status = 'pending'
    RETURNING id, recipient_user_id, dedup_key
)
INSERT INTO delivery (id, request_id, recipient_user_id, channel, endpoint_key, dedup_key, status, attempts,
                      next_attempt_at, created_at)
SELECT gen_random_uuid(), p.id, p.recipient_user_id, 'apns', e.id::text, p.dedup_key, 'created', 0, $2, $2
FROM planned p JOIN device_endpoint e ON e.user_id = p.recipient_user_id AND e.platform = 'ios'
"""


async def plan_rest(deps: NotificationsDeps, request_ids: Sequence[uuid.UUID]) -> None:
    """The APNs deliveries plan_requests would make for these requests, in one statement (no inbox items)."""
    if request_ids:
        await sql(_PLANNED, list(request_ids), deps.clock.now())


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
