"""A real server restart in the middle of a push (issue 6, Proof: "server restarts"): the API process is killed
(SIGKILL, no shutdown) while it works through a batch of 100 mutations, started again on its port, and the device
resends its queue. Every mutation must take effect exactly once: the ones committed before the crash come back
as stored results (`replayed = true`), the one whose transaction died with the process and the rest are applied
now; nothing is lost, nothing is applied twice, and another device on the other process converges (I1–I5)."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack

import httpx
import pytest

from api.models.sync import DraftFieldHistory, SyncClient
from tests.support.client import Api, LiveServer
from tests.support.sync_device import Op, SyncDevice
from tests.support.sync_invariants import check_invariants
from tests.sync.model.items import ModelItem
from tests.sync.multiprocess.conftest import FIELDS, as_live
from tests.sync.multiprocess.processes import ApiProcess

pytestmark = pytest.mark.postgres_only

BATCH = 100
OPS = 3  # per EDIT: enough work per mutation that the kill lands with most of the batch still to do
KILL_AFTER = 10  # committed mutations: the retry then replays some and applies the rest


async def _lmid(client_id: str) -> int:
    client = await SyncClient.get_or_none(client_id=client_id)
    return 0 if client is None else client.last_mutation_id


async def test_a_push_cut_off_by_a_killed_process_takes_effect_exactly_once(
    instances: list[ApiProcess], live: LiveServer, item: ModelItem
) -> None:
    crashing, other = instances
    async with Api.connect(as_live(crashing, live)) as api:
        session = await api.sign_in()
    async with AsyncExitStack() as stack:
        device = await stack.enter_async_context(SyncDevice.open(as_live(crashing, live), session, "APP_ANDROID"))
        witness = await stack.enter_async_context(SyncDevice.open(as_live(other, live), session, "WECHAT_MP"))
        draft = device.create_draft(item.service_code, item.form_version, {"f1": "开始"})
        for n in range(1, BATCH):
            device.edit(draft, [Op(f, "SET", f"第{n}次 {f}") for f in FIELDS[:OPS]])

        push = asyncio.create_task(device.push())
        for _ in range(1000):
            if await _lmid(device.client_id) >= KILL_AFTER:
                break
            await asyncio.sleep(0.005)
        crashing.kill()
        with pytest.raises(httpx.TransportError):
            await push
        crashed_at = await _lmid(device.client_id)
        assert KILL_AFTER <= crashed_at < BATCH, f"the kill should land mid-batch, LMID {crashed_at}"
        print(f"\nkilled with {crashed_at} of {BATCH} mutations committed")

        crashing.start()
        await crashing.ready()
        answer = await device.push()  # the device never heard back: it resends its whole queue
        assert answer["__typename"] == "SyncPushPayload" and answer["stoppedAt"] is None, answer
        assert answer["lastMutationId"] == BATCH
        assert [r["id"] for r in answer["results"]] == list(range(1, BATCH + 1))
        assert [r["replayed"] for r in answer["results"]] == [m <= crashed_at for m in range(1, BATCH + 1)]
        assert {r["status"] for r in answer["results"]} == {"APPLIED"}

        history = await DraftFieldHistory.filter(draft_id=draft, client_id=device.client_id)
        per_op = Counter((h.mutation_id, h.path) for h in history)
        assert set(per_op.values()) == {1}, "an op applied twice"
        assert len(per_op) == 1 + (BATCH - 1) * OPS, "an op lost"

        await check_invariants(device, witness)  # the witness pulls through the other process
        assert witness.base[draft].fields == {f: f"第{BATCH - 1}次 {f}" for f in FIELDS[:OPS]}
