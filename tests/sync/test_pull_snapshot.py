"""A pull page reads one snapshot (sync-protocol.md §9, decision 6): a commit landing while the page is being read
is not seen half-way, on SQLite (the write waits) as on PostgreSQL (REPEATABLE READ)."""

from __future__ import annotations

import asyncio

from tortoise.expressions import F

from api.models.sync import SyncClient, SyncSpace
from sync.snapshot import read_snapshot
from tests.support.client import LiveServer
from tests.sync.test_pull_seed import add_client, new_space, write


async def test_a_commit_during_a_page_is_invisible_to_it(live: LiveServer) -> None:
    space = new_space()
    client_id = await add_client(space, 1)
    await write(space, values={"a": "1"})
    inside = asyncio.Event()

    async def concurrent_push() -> None:
        # Started outside the snapshot, so it runs on its own connection, not the snapshot's transaction.
        await inside.wait()
        await SyncSpace.filter(space_id=space.space_id).update(version=F("version") + 1)
        await SyncClient.filter(client_id=client_id).update(last_mutation_id=2)

    push = asyncio.create_task(concurrent_push())
    async with read_snapshot():
        before = (await SyncSpace.get(space_id=space.space_id)).version
        inside.set()
        await asyncio.wait({push}, timeout=1.0)  # done on PostgreSQL; waiting for the write lock on SQLite
        after = (await SyncSpace.get(space_id=space.space_id)).version
        lmid = (await SyncClient.get(client_id=client_id)).last_mutation_id
    await push
    assert (before, after, lmid) == (1, 1, 1)
    assert (await SyncSpace.get(space_id=space.space_id)).version == 2
