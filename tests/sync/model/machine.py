"""The model test's machine without its rules: three devices of one person, what each device shows, pushes
checked against the reference model (`reference`) with the server's stored outcomes, and the invariant checks.
The rules (what may happen) are in test_model.py."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

import httpx
from hypothesis.stateful import RuleBasedStateMachine

from tests.support import sync_invariants as inv
from tests.support.sync_device import SyncDevice
from tests.sync.model.conftest import LWW_FIELD
from tests.sync.model.reference import Processed, Reference, interleavings, replay
from tests.sync.model.world import World, snapshot_of

MAX_CONCURRENT_BATCH = 5  # interleavings of two batches of 5: 252, enumerated by the model


def nth(items: list[Any], pick: int) -> Any:
    return items[pick % len(items)]


class MachineBase(RuleBasedStateMachine):
    """One example: one person's three devices and everything that may happen to their drafts."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.stack = AsyncExitStack()
        self.devices: list[SyncDevice] = world.run(world.open_devices(self.stack))
        self.online = [True, True, True]
        self.reference = Reference({LWW_FIELD: "LWW_SERVER_ORDER"})
        self.drafts: list[str] = []  # every draft any device created, in order
        self.resent: set[tuple[str, str]] = set()  # (clientId, quarantine entry id) re-sent after a restore

    def local(self, device: SyncDevice, *statuses: str) -> list[str]:
        views = [(d, device.view(d)) for d in self.drafts]
        return [d for d, view in views if view is not None and (not statuses or view.status in statuses)]

    def unsent(self, device: SyncDevice) -> list[int]:
        return [m for m in device.pending if m > device.pushed_through]

    def with_drafts(self, *statuses: str) -> list[SyncDevice]:
        return [d for d in self.devices if self.local(d, *statuses)]

    def pushable(self) -> list[int]:
        return [i for i, d in enumerate(self.devices) if self.online[i] and self.unsent(d)]

    def push(self, indexes: list[int], *, lose_ack: bool = False) -> None:
        """Push the queues of `indexes` (at once when two), then check every processed mutation with the model."""
        chosen = [self.devices[i] for i in indexes]
        before = {d.client_id: self.world.run(self.world.lmid(d.client_id)) for d in chosen}

        async def send() -> list[Any]:
            answers: list[Any] = await asyncio.gather(
                *(d.push(lose_ack=lose_ack) for d in chosen), return_exceptions=True
            )
            return answers

        answers = self.world.run(send())
        for device, answer in zip(chosen, answers, strict=True):
            if lose_ack:
                assert isinstance(answer, httpx.ReadError), answer
                continue
            assert not isinstance(answer, BaseException), answer
            assert answer["__typename"] == "SyncPushPayload", answer
            if answer["stoppedAt"] is not None:  # a temporary error: the device keeps the rest and retries
                assert answer["stopReason"]["code"] == "SERVER_BUSY" and answer["retryAfterMs"] >= 500, answer
            for result in answer["results"]:
                assert result["replayed"] is (int(result["id"]) <= before[device.client_id]), result
        self.world.run(self.check_processed(chosen, before))

    async def check_processed(self, chosen: list[SyncDevice], before: dict[str, int]) -> None:
        queues = []
        for device in chosen:
            after = await self.world.lmid(device.client_id)
            assert after >= before[device.client_id], "I3: lastMutationId went back"
            ids = list(range(before[device.client_id] + 1, after + 1))
            outcomes = await self.world.stored(device.client_id, ids)
            queues.append([Processed(device.client_id, device.mutations[i], outcomes[i]) for i in ids])
            self.world.seen.update(f"{device.mutations[i]['type']} {outcomes[i]}" for i in ids)
        touched = {str(p.mutation["draftId"]) for q in queues for p in q} | set(self.reference.drafts)
        facts = await self.world.facts(sorted(touched))
        server = {d: await self.world.snapshot(d) for d in sorted(touched)}
        first_failure = ""
        for order in interleavings(*queues):
            trial, mismatches = replay(self.reference, order, facts)
            differing = [d for d in sorted(touched) if server[d] != _model_snapshot(trial, d)]
            if not mismatches and not differing:
                self.reference = trial
                return
            if not first_failure:
                first_failure = "; ".join(mismatches) or "; ".join(
                    f"draft {d}: server {server[d]} vs model {_model_snapshot(trial, d)}" for d in differing
                )
        raise AssertionError(f"no order of the processed mutations matches the reference model: {first_failure}")

    def shared(self) -> list[tuple[SyncDevice, SyncDevice, str]]:
        """(device, other device, draft) where both show the draft as editable."""
        editable = [(d, set(self.local(d, "EDITING", "CORRECTION"))) for d in self.devices]
        return [
            (a, b, draft_id)
            for i, (a, mine) in enumerate(editable)
            for b, theirs in editable[i + 1 :]
            for draft_id in sorted(mine & theirs)
        ]

    def seen(self, *statuses: str) -> list[tuple[SyncDevice, str]]:
        """(device, draft) where the device pulled the draft and shows it in one of `statuses`: a person deletes
        or submits what the screen shows, which came from the server at least once."""
        return [(d, x) for d in self.devices for x in self.local(d, *statuses) if x in d.base]

    def conflicts(self) -> list[tuple[SyncDevice, str, dict[str, Any]]]:
        found = []
        for device in self.devices:
            for draft_id in self.local(device, "EDITING", "CORRECTION"):
                base = device.base.get(draft_id)
                found += [(device, draft_id, c) for c in (base.open_conflicts if base else [])]
        return found

    def reoffered(self) -> list[tuple[SyncDevice, str, dict[str, Any]]]:
        """(device, draft, quarantined mutation) the server re-offered to a device with a RESTORE_DRAFT result,
        for drafts the device shows as editable again and entries not yet re-sent."""
        found = []
        for device in self.devices:
            for result in device.results.values():
                for entry in result.get("reofferedOps") or []:
                    draft_id, key = entry["draftId"], (device.client_id, entry["id"])
                    if key not in self.resent and draft_id in self.local(device, "EDITING", "CORRECTION"):
                        found.append((device, draft_id, entry))
        return found

    def quarantined(self) -> list[tuple[int, str]]:
        return [
            (i, draft_id)
            for i, device in enumerate(self.devices)
            if self.online[i]
            for draft_id, state in self.reference.drafts.items()
            if state.quarantined
        ]

    def concurrent_pushers(self) -> list[int]:
        return [i for i in self.pushable() if len(self.unsent(self.devices[i])) <= MAX_CONCURRENT_BATCH]

    async def step_invariants(self) -> None:
        await inv.check_server_state(self.devices[0].space_id)
        acknowledged = set().union(*(d.acknowledged_quarantine for d in self.devices))
        for device in self.devices:
            await self.world.check_exactly_once(device)
            await inv.check_no_lost_edit(device, acknowledged)
            inv.check_monotonic_snapshots(device)
        await inv.check_one_application_per_draft(self.devices)

    async def converged_invariants(self) -> None:
        for device in self.devices:
            await inv.check_converged(device)
        await self.step_invariants()
        # Through the public reads too: draftHistory has one entry per applied op of the model (exactly once),
        # quarantinedOps one per rejected mutation with ops, and every device holds the model's field values.
        reader = self.devices[0]
        for draft_id, state in self.reference.drafts.items():
            history = sorted((h["clientId"], h["mutationId"], h["path"]) for h in await reader.history(draft_id))
            assert history == sorted(state.history), f"draftHistory of {draft_id}: {history} vs {state.history}"
            quarantined = sorted((q["clientId"], q["mutationId"]) for q in await reader.quarantined(draft_id))
            assert quarantined == sorted(state.quarantined), f"quarantinedOps of {draft_id}"
            for device in self.devices:
                assert device.base[draft_id].fields == state.fields, f"{device.platform}: fields of {draft_id}"

    def settle(self) -> None:
        """Everyone comes online, pushes its queue and pulls to the end; then I2 and the model's reads hold."""
        self.online = [True, True, True]
        for _ in range(10):
            for i in self.pushable():
                self.push([i])
            for device in self.devices:
                self.world.run(device.pull())
            if not any(self.unsent(d) or d.pending for d in self.devices):
                break
        self.world.run(self.converged_invariants())
        self.world.seen["convergence checked (I2)"] += 1

    def teardown(self) -> None:
        try:
            self.settle()
        finally:
            self.world.run(self.stack.aclose())


def _model_snapshot(reference: Reference, draft_id: str) -> Any:
    state = reference.drafts.get(draft_id)
    return None if state is None else snapshot_of(state)
