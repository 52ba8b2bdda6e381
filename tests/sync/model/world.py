"""What the model test's machine acts on and reads: the live server's loop, simulated devices, and the server's
records (stored results, history, conflicts, quarantine, applications) through the tortoise models, which read the
same database as the live server in this process.

Every method but `run` is a coroutine for the test's event loop; the machine runs in a worker thread and hands
them over with `run` (`asyncio.run_coroutine_threadsafe`), so that the loop keeps serving the live server.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, TypeVar

from api.models import Application
from api.models.sync import (
    ConflictStatus,
    Draft,
    DraftConflict,
    DraftField,
    DraftFieldHistory,
    SyncClient,
    SyncMutationResult,
    SyncQuarantine,
)
from tests.support import sync_invariants as inv
from tests.support.client import Api, LiveServer
from tests.support.sync_device import SyncDevice
from tests.sync.model.items import ModelItem
from tests.sync.model.reference import DraftState, Facts, Outcome

T = TypeVar("T")
# Three devices of one person: the app and both mini-programs (sync-protocol.md §2, decision 2).
PLATFORMS = ("APP_IOS", "WECHAT_MP", "ALIPAY_MP")
STEP_TIMEOUT = 60.0

# What the model compares per draft: status, non-null fields, open conflict paths, history rows
# (clientId, mutationId, path), quarantine entries (clientId, mutationId), the application's content hash.
DraftSnapshot = tuple[str, dict[str, Any], list[str], list[tuple[str, int, str]], list[tuple[str, int]], str | None]


def snapshot_of(state: DraftState) -> DraftSnapshot:
    return (
        state.status,
        dict(state.fields),
        state.open_paths,
        sorted(state.history),
        sorted(state.quarantined),
        state.submitted_hash,
    )


@dataclass
class World:
    live: LiveServer
    api: Api
    item: ModelItem
    loop: asyncio.AbstractEventLoop
    # What the examples went through (printed at the end, so that a run shows what it exercised).
    seen: Counter[str] = field(default_factory=Counter)

    def run(self, step: Awaitable[T], timeout: float = STEP_TIMEOUT) -> T:
        """Run a coroutine on the test's loop from the machine's thread and wait for it."""
        return asyncio.run_coroutine_threadsafe(_coroutine(step), self.loop).result(timeout)

    async def open_devices(self, stack: AsyncExitStack) -> list[SyncDevice]:
        """Three devices of a fresh person (one sign-in; each device is its own client)."""
        session = await self.api.sign_in()
        return [await stack.enter_async_context(SyncDevice.open(self.live, session, p)) for p in PLATFORMS]

    async def lmid(self, client_id: str) -> int:
        client = await SyncClient.get_or_none(client_id=client_id)
        return 0 if client is None else client.last_mutation_id

    async def stored(self, client_id: str, ids: list[int]) -> dict[int, Outcome]:
        """The stored result of each processed mutation: what the server decided, lost ACK or not."""
        rows = await SyncMutationResult.filter(client_id=client_id, mutation_id__in=ids)
        found = {}
        for row in rows:
            error = row.result.get("error") or {}
            found[row.mutation_id] = Outcome(row.status.value, error.get("code"))
        assert set(found) == set(ids), f"{client_id}: stored results for {sorted(found)}, processed {ids}"
        return found

    async def facts(self, draft_ids: list[str]) -> Facts:
        facts = Facts()
        for row in await DraftFieldHistory.filter(draft_id__in=draft_ids):
            facts.history_versions[(str(row.client_id), row.mutation_id, row.path)] = row.version
        per_path: dict[tuple[str, str], int] = {}
        for conflict in await DraftConflict.filter(draft_id__in=draft_ids).order_by("opened_version"):
            key = (str(conflict.draft_id), conflict.path)
            facts.conflict_slots[str(conflict.id)] = (conflict.path, per_path.get(key, 0))
            per_path[key] = per_path.get(key, 0) + 1
        return facts

    async def snapshot(self, draft_id: str) -> DraftSnapshot | None:
        draft = await Draft.get_or_none(id=draft_id)
        if draft is None:
            return None
        rows = await DraftField.filter(draft_id=draft_id)
        conflicts = await DraftConflict.filter(draft_id=draft_id, status=ConflictStatus.OPEN)
        history = await DraftFieldHistory.filter(draft_id=draft_id)
        quarantined = await SyncQuarantine.filter(draft_id=draft_id)
        application = await Application.filter(draft_id=draft_id).first()
        return (
            draft.status.value,
            {row.path: row.value for row in rows if row.value is not None},
            sorted(c.path for c in conflicts),
            sorted((str(h.client_id), h.mutation_id, h.path) for h in history),
            sorted((str(q.client_id), q.mutation_id) for q in quarantined),
            None if application is None else application.content_hash,
        )

    async def check_exactly_once(self, device: SyncDevice) -> None:
        """I3. A device that lost an ACK and then pulled past those mutations dropped them without ever seeing
        their results (§9 step 5), so the shared checker's "a result for every id up to LMID" cannot hold for it;
        the server side of I3 is checked all the same: one stored result per id up to LMID and none above, and at
        most one history row per op."""
        lmid = await self.lmid(device.client_id)
        if set(device.results) >= set(range(1, lmid + 1)):
            await inv.check_exactly_once(device)
            return
        seen = device.lmids_seen
        assert seen == sorted(seen), f"{device.client_id}: lastMutationId went back: {seen}"
        stored = Counter(r.mutation_id for r in await SyncMutationResult.filter(client_id=device.client_id))
        assert sorted(stored) == list(range(1, lmid + 1)), f"{device.client_id}: stored {stored}, LMID {lmid}"
        assert all(n == 1 for n in stored.values()), f"{device.client_id}: two stored results for one mutation"
        history = await DraftFieldHistory.filter(client_id=device.client_id)
        per_op = Counter((str(h.draft_id), h.path, h.mutation_id) for h in history)
        assert all(n == 1 for n in per_op.values()), f"{device.client_id}: one op applied twice {per_op}"


async def _coroutine(step: Awaitable[T]) -> T:
    return await step
