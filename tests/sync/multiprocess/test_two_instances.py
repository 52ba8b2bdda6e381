"""Two API processes on one PostgreSQL and one Redis (issue 6, Proof): devices push to both at the same time, a
third client pulls; every device converges on the server's drafts (I1–I5), and the pokes one process publishes
reach subscribers connected to the other (syncPoke over graphql-transport-ws, fanned out through Redis).

The processes (tests.sync.multiprocess.processes) are `zsb serve` as deployed on the session's PostgreSQL and
Redis; the test process reads the same database through tortoise for the invariant checker.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from api.models.sync import DraftFieldHistory, SyncSpace
from sync import poke
from tests.support.client import Api, LiveServer, Session
from tests.support.sync_device import SyncDevice
from tests.support.sync_invariants import check_invariants
from tests.sync.model.items import ModelItem
from tests.sync.multiprocess.conftest import FIELDS, as_live
from tests.sync.multiprocess.processes import ApiProcess

pytestmark = pytest.mark.postgres_only

VALUES = ("甲", "乙", "丙", "丁")
ROUNDS = 12
PROTOCOL = Subprotocol("graphql-transport-ws")
POKE = "subscription Poke($clientId: ID!) { syncPoke(clientId: $clientId) }"
ME = "{ me { id } }"


@asynccontextmanager
async def poke_socket(instance: LiveServer, session: Session, client_id: str) -> AsyncIterator[list[int]]:
    """A syncPoke subscription on `instance`; the versions it receives are appended to the yielded list."""
    url = instance.base_url.replace("http://", "ws://") + "/graphql"
    received: list[int] = []
    async with connect(url, subprotocols=[PROTOCOL], open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"accessToken": session.access_token}}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        assert ack["type"] == "connection_ack", ack
        subscribe = {"query": POKE, "variables": {"clientId": client_id}}
        await ws.send(json.dumps({"id": "poke", "type": "subscribe", "payload": subscribe}))
        reader = asyncio.create_task(_read_pokes(ws, received))
        try:
            yield received
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)


async def _read_pokes(ws: ClientConnection, received: list[int]) -> None:
    try:
        async for raw in ws:
            message = json.loads(raw)
            assert message["type"] == "next", message
            received.append(int(message["payload"]["data"]["syncPoke"]))
    except ConnectionClosed:
        return


async def _listening(redis: Redis, space_id: str, count: int) -> None:
    for _ in range(250):
        [(_, listeners)] = await redis.pubsub_numsub(poke.channel(space_id))
        if listeners >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{listeners} poke subscribers on {space_id}, expected {count}")


async def _eventually(received: list[int], expected: set[int], label: str) -> None:
    """Every push that changed something published, after its last commit, a version at least that of its last
    change (a later NOOP commit may carry the other process's newer version): one such poke must arrive."""
    for _ in range(250):
        missing = {v for v in expected if not any(r >= v for r in received)}
        if not missing:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{label}: no poke at or above {sorted(missing)} arrived (got {received})")


async def _same_pokes(left: list[int], right: list[int]) -> None:
    """Each publish reaches every subscriber, whichever process holds its socket: both see the same versions."""
    for _ in range(250):
        if sorted(left) == sorted(right):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the two instances' subscribers saw different pokes: {sorted(left)} vs {sorted(right)}")


def poked_version(answer: dict[str, Any]) -> int | None:
    """The least version a push publishes after its last commit: that of its last result that changed something."""
    assert answer["__typename"] == "SyncPushPayload" and answer["stoppedAt"] is None, answer
    changed = [int(r["draftVersion"]) for r in answer["results"] if r["status"] != "NOOP" and not r["replayed"]]
    return max(changed) if changed else None


async def test_two_instances_converge_and_poke_each_other(
    instances: list[ApiProcess], live: LiveServer, item: ModelItem, backend_urls: tuple[str, str]
) -> None:
    left, right = (as_live(process, live) for process in instances)
    async with Api.connect(left) as api:
        session = await api.sign_in()
    async with Api.connect(right) as other:
        me = await other.data(ME, token=session.access_token)
        assert me["me"]["id"] == session.person_id, "a token one instance issued is valid on the other"

    redis = Redis.from_url(backend_urls[1])
    rng = random.Random(6)
    async with AsyncExitStack() as stack:
        app = await stack.enter_async_context(SyncDevice.open(left, session, "APP_IOS"))
        wechat = await stack.enter_async_context(SyncDevice.open(right, session, "WECHAT_MP"))
        reader = await stack.enter_async_context(SyncDevice.open(right, session, "ALIPAY_MP"))
        reader.create_draft(item.service_code, item.form_version, {"f1": "读者"})
        assert poked_version(await reader.push()) is not None  # registers the reader's client
        on_left = await stack.enter_async_context(poke_socket(left, session, reader.client_id))
        on_right = await stack.enter_async_context(poke_socket(right, session, reader.client_id))
        await _listening(redis, app.space_id, 2)

        drafts = [app.create_draft(item.service_code, item.form_version, {"f1": "甲"}) for _ in range(2)]
        first = poked_version(await app.push())
        assert first is not None
        await _eventually(on_right, {first}, "a push to the left instance, poke on the right")
        await wechat.pull()
        wechat.set(drafts[0], "f2", "乙")
        second = poked_version(await wechat.push())
        assert second is not None
        await _eventually(on_left, {second}, "a push to the right instance, poke on the left")

        pushed_left: set[int] = set()
        pushed_right: set[int] = set()
        for _ in range(ROUNDS):
            await asyncio.gather(app.pull(), wechat.pull())
            for device in (app, wechat):
                for _ in range(rng.randint(1, 3)):  # same and different fields of the same drafts
                    device.set(rng.choice(drafts), rng.choice(FIELDS), rng.choice(VALUES))
            answers = await asyncio.gather(app.push(), wechat.push())
            for answer, pushed in zip(answers, (pushed_left, pushed_right), strict=True):
                version = poked_version(answer)
                if version is not None:
                    pushed.add(version)
            if rng.random() < 0.5:
                await reader.pull()
        await _eventually(on_right, pushed_left, "pushes to the left instance, pokes on the right")
        await _eventually(on_left, pushed_right, "pushes to the right instance, pokes on the left")
        await _same_pokes(on_left, on_right)

        await check_invariants(app, wechat, reader)  # pushes every queue, pulls to the end, I1–I5
        space = await SyncSpace.get(space_id=app.space_id)
        for device in (app, wechat, reader):
            assert {d: c.content_hash for d, c in device.base.items()} == {
                d: c.content_hash for d, c in reader.base.items()
            }
            assert all(device.base[d].version <= space.version for d in drafts)
        mutations = sum(len(d.mutations) for d in (app, wechat, reader))
        history = await DraftFieldHistory.filter(draft_id__in=drafts).count()
        assert 0 < history <= mutations * len(FIELDS)
        assert max(on_left + on_right) <= space.version
    await redis.aclose()
