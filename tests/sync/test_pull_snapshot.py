"""A pull page reads one snapshot (sync-protocol.md §9, decision 6): a commit landing while the page is being read
is not seen half-way, on SQLite (the write waits) as on PostgreSQL (REPEATABLE READ). A temporary database failure
is SERVER_BUSY with a retry delay (§8.2's temporary errors), never a 500."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from tortoise.exceptions import OperationalError
from tortoise.expressions import F

from api.models.sync import SyncClient, SyncSpace
from sync import pull as pull_module
from sync.contract import PullRejected, PullRequest
from sync.snapshot import read_snapshot
from tests.support.client import LiveServer
from tests.sync.test_pull_seed import add_client, deps_of, new_space, write


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


async def test_a_temporary_database_failure_is_server_busy(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    space = new_space()
    await write(space, values={"a": "1"})

    @asynccontextmanager
    async def locked() -> AsyncIterator[None]:
        raise OperationalError("database is locked")
        yield

    monkeypatch.setattr(pull_module, "read_snapshot", locked)
    answer = await pull_module.pull(deps_of(live), space.claims, PullRequest(str(uuid.uuid4()), 1))
    assert isinstance(answer, PullRejected)
    assert (answer.code, answer.retry_after_ms is not None and answer.retry_after_ms >= 500) == ("SERVER_BUSY", True)


async def test_any_other_failure_is_not_disguised(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    @asynccontextmanager
    async def broken() -> AsyncIterator[None]:
        raise ZeroDivisionError
        yield

    monkeypatch.setattr(pull_module, "read_snapshot", broken)
    with pytest.raises(ZeroDivisionError):
        await pull_module.pull(deps_of(live), new_space().claims, PullRequest(str(uuid.uuid4()), 1))
