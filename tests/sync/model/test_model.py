"""The randomized model test of sync-protocol.md §14.1 (Jepsen-lite): a hypothesis state machine drives three
simulated devices of one person (the app, the WeChat and the Alipay mini-program) through random offline and
online periods, random EDITs (same and different fields, MANUAL and LWW_SERVER_ORDER), DELETE, RESTORE, RESOLVE
of open conflicts and SUBMIT, quarantine acknowledgements, lost ACKs, server restarts, database failures
mid-batch and concurrent pushes, against the live server over HTTP.

After every push the server's answer is compared with the reference model of §8–§10 (`reference`): each processed
mutation's outcome (from its stored result, so a lost ACK is checked too) and each draft's resulting state (field
values, status, open conflicts, history rows — exactly once per applied op —, quarantine entries, the
application). After every step the invariants I1, I3, I4 and I5 hold (tests.support.sync_invariants); I2
(convergence) is checked whenever the machine lets every device push and pull, and at the end of each example.

What a "server restart" is here: the live server runs in this process and cannot really die, so a restart is the
part of a crash a device can observe, made honestly: a push whose commit happened while the process died before
answering (the device sees a dropped connection and retries later, getting its stored results back), and the
process memory a restart loses (the template registry's cache, the spaces known to exist) cleared. The durable
state — the database — is what a restarted process starts from, and is untouched.

How it runs: hypothesis is synchronous and the live server is served by this test's event loop, so the machine
runs in a worker thread (`asyncio.to_thread`) while the loop keeps serving; each step hands its coroutines to the
loop (`World.run`) and waits (hypothesis has no async rules: HypothesisWorks/hypothesis#4107). A fixed seed and
no example database replay the same steps in CI; every example works with a fresh person, so a replayed example
meets the same world.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import cast
from unittest import mock

import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from tortoise.exceptions import DBConnectionError

from sync import spaces, template_registry
from tests.support.client import Api, LiveServer
from tests.support.sync_device import Op, SyncDevice
from tests.sync.model.conftest import LWW_FIELD, MANUAL_FIELDS
from tests.sync.model.items import ModelItem
from tests.sync.model.machine import MachineBase, nth
from tests.sync.model.world import World, snapshot_of

SEED = int(os.environ.get("ZSB_MODEL_SEED", "4"))  # fixed in CI: this seed reaches every outcome kind
SETTINGS = settings(
    max_examples=12,
    stateful_step_count=40,
    deadline=None,
    database=None,
    # No shrinking: two pushes at once interleave as the server's scheduling has it, so a replayed example may
    # take another path and hypothesis would report a flaky strategy instead of the failure itself.
    phases=(Phase.generate,),
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
MAX_DRAFTS = 3
FIELDS = (*MANUAL_FIELDS, LWW_FIELD)
VALUES = ("甲", "乙", "丙")
devices = st.integers(0, 2)
picks = st.integers(0, 1_000)


class SyncMachine(MachineBase):
    """The steps of one example, in any order: editing on a device (online or not), the network, the server."""

    # -- editing (on the device, online or not) ----------------------------------------------------------------

    @precondition(lambda self: len(self.drafts) < MAX_DRAFTS)
    @rule(d=devices, first=st.sampled_from((None, *VALUES)))
    def create_draft(self, d: int, first: str | None) -> None:
        item = self.world.item
        values = {MANUAL_FIELDS[0]: first} if first else None
        self.drafts.append(self.devices[d].create_draft(item.service_code, item.form_version, values))

    @precondition(lambda self: self.with_drafts("EDITING", "CORRECTION"))
    @rule(pick=picks, field=st.sampled_from(FIELDS), value=st.sampled_from(VALUES), clear=st.booleans())
    def edit(self, pick: int, field: str, value: str, clear: bool) -> None:
        """A SET (now and then an UNSET) of one field, with the baseHash of the device's own view."""
        device: SyncDevice = nth(self.with_drafts("EDITING", "CORRECTION"), pick)
        draft_id = nth(self.local(device, "EDITING", "CORRECTION"), pick // 3)
        # A person clears a field the screen shows filled (an UNSET of an empty field is no edit at all).
        if clear and pick % 4 == 0 and device.values(draft_id).get(field) is not None:
            device.unset(draft_id, field)
        else:
            device.set(draft_id, field, value)

    @precondition(lambda self: self.shared())
    @rule(pick=picks, field=st.sampled_from(FIELDS), values=st.lists(st.sampled_from(VALUES), min_size=2, max_size=2))
    def edit_on_two_devices(self, pick: int, field: str, values: list[str]) -> None:
        """Two devices set the same field of a draft before either pushed: the same value converges (NOOP), a
        different one is a conflict (MANUAL) or the later arrival (LWW_SERVER_ORDER)."""
        first, second, draft_id = nth(self.shared(), pick)
        first.set(draft_id, field, values[0])
        second.set(draft_id, field, values[1])

    @precondition(lambda self: self.seen("EDITING", "SUBMITTED"))
    @rule(pick=picks)
    def delete(self, pick: int) -> None:
        device, draft_id = nth(self.seen("EDITING", "SUBMITTED"), pick)
        device.delete(draft_id)

    @precondition(lambda self: self.with_drafts("DELETED"))
    @rule(pick=picks)
    def restore(self, pick: int) -> None:
        device: SyncDevice = nth(self.with_drafts("DELETED"), pick)
        device.restore(nth(self.local(device, "DELETED"), pick // 3))

    @precondition(lambda self: self.conflicts())
    @rule(pick=picks)
    def resolve(self, pick: int) -> None:
        """RESOLVE_CONFLICT choosing the server's value or one of the candidates' (as the person would)."""
        device, draft_id, conflict = nth(self.conflicts(), pick)
        choices = [conflict["serverValue"], *(c["value"] for c in conflict["candidates"])]
        device.resolve(draft_id, conflict["id"], conflict["path"], nth(choices, pick // 7))

    @precondition(lambda self: self.seen("EDITING"))
    @rule(pick=picks)
    def submit(self, pick: int) -> None:
        """SUBMIT with the content hash of what the device shows."""
        device, draft_id = nth(self.seen("EDITING"), pick)
        device.submit(draft_id)

    @precondition(lambda self: self.reoffered())
    @rule(pick=picks)
    def resend_reoffered(self, pick: int) -> None:
        """The person takes a re-offered edit (§8.3 RESTORE_DRAFT, S11): its ops again, as a new EDIT."""
        device, draft_id, entry = nth(self.reoffered(), pick)
        self.resent.add((device.client_id, entry["id"]))
        ops = [Op(op["path"], op["kind"], op.get("value")) for op in entry["mutation"].get("ops") or []]
        ops = [op for op in ops if op.kind == "SET" or device.values(draft_id).get(op.path) is not None]
        if ops:
            device.edit(draft_id, ops)
            self.world.seen["re-offered edits re-sent"] += 1

    @precondition(lambda self: self.quarantined())
    @rule(pick=picks)
    def acknowledge_quarantine(self, pick: int) -> None:
        """The person dismisses a quarantined edit: acknowledgeQuarantinedOps removes it (and nothing else)."""
        index, draft_id = nth(self.quarantined(), pick)
        device = self.devices[index]
        entries = self.world.run(device.quarantined(draft_id))
        chosen = entries[: 1 + pick % len(entries)]
        answer = self.world.run(device.acknowledge(draft_id, [e["id"] for e in chosen]))
        assert answer == {
            "__typename": "QuarantinedOpsAcknowledged",
            "removed": len(chosen),
            "draftVersion": (answer.get("draftVersion")),
        }, answer
        state = self.reference.drafts[draft_id]
        for entry in chosen:
            state.quarantined.remove((entry["clientId"], int(entry["mutationId"])))
        assert self.world.run(self.world.snapshot(draft_id)) == snapshot_of(state)
        self.world.seen["quarantine entries acknowledged"] += len(chosen)

    # -- network ---------------------------------------------------------------------------------------------

    @rule(d=devices)
    def toggle_network(self, d: int) -> None:
        self.online[d] = not self.online[d]

    @precondition(lambda self: self.pushable())
    @rule(pick=picks, lose_ack=st.sampled_from((False, False, False, True)))
    def push_queue(self, pick: int, lose_ack: bool) -> None:
        """One device pushes its queue; now and then the answer is lost after the commit (a lost ACK)."""
        self.push([nth(self.pushable(), pick)], lose_ack=lose_ack)
        self.world.seen["push with its ACK lost" if lose_ack else "push"] += 1

    @precondition(lambda self: self.pushable())
    @rule(pick=picks)
    def push_into_a_database_fault(self, pick: int) -> None:
        """The database fails in the middle of a push (§8.2, a temporary error): the mutations before the failing
        one are processed, the batch stops at it with SERVER_BUSY, LMID stays below it; the device retries later."""
        index = nth(self.pushable(), pick)
        device = self.devices[index]
        lmid = self.world.run(self.world.lmid(device.client_id))
        fresh = [m for m in self.unsent(device) if m > lmid]  # a replayed id never reaches the mutation loop
        if not fresh:
            return
        failing = nth(fresh, pick // 3)
        deps = self.world.live.app.state.services.sync

        async def fail(mutation_id: int) -> None:
            if mutation_id == failing:
                raise DBConnectionError("connection refused (fault injection)")

        deps.fault_hook = fail
        try:
            self.push([index])
        finally:
            deps.fault_hook = None
        assert self.world.run(self.world.lmid(device.client_id)) == failing - 1
        self.world.seen["push stopped by a database fault"] += 1

    @precondition(lambda self: len(self.concurrent_pushers()) >= 2)
    @rule(pick=picks)
    def push_at_once(self, pick: int) -> None:
        """Two devices push at the same moment (asyncio.gather): the server serializes them per mutation."""
        ready = self.concurrent_pushers()
        first = nth(ready, pick)
        second = nth([i for i in ready if i != first], pick // 3)
        self.push([first, second])
        self.world.seen["two pushes at once"] += 1

    @precondition(lambda self: any(self.online))
    @rule(d=devices)
    def pull(self, d: int) -> None:
        if self.online[d]:
            self.world.run(self.devices[d].pull())

    @precondition(lambda self: self.pushable())
    @rule(pick=picks)
    def restart_server(self, pick: int) -> None:
        """The process dies after a push committed and before it answered; the restarted one has lost its
        memory (the template cache, the spaces it made sure exist). The device's retry comes with its next push."""
        self.push([nth(self.pushable(), pick)], lose_ack=True)
        # What a fresh process does not remember (read from the modules, so a rename breaks this loudly).
        template_registry._cache.clear()
        spaces._known.clear()
        self.world.seen["server restart"] += 1

    @precondition(lambda self: not all(self.online) or any(d.pending for d in self.devices))
    @rule()
    def converge(self) -> None:
        """Everyone comes online, pushes its queue and pulls to the end: I2 must hold."""
        self.settle()

    # -- invariants ------------------------------------------------------------------------------------------

    @invariant()
    def invariants_hold(self) -> None:
        """I1, I3, I4, I5 and the server's own consistency after every step (I2 needs everyone synced)."""
        self.world.run(self.step_invariants())
        self.world.seen["steps checked (I1, I3, I4, I5)"] += 1


@pytest.mark.timeout(600)
async def test_drafts_hold_the_invariants_under_random_steps(api: Api, live: LiveServer, model_item: ModelItem) -> None:
    world = World(live, api, model_item, asyncio.get_running_loop())

    def factory() -> SyncMachine:
        return SyncMachine(world)

    seed(SEED)(factory)  # marks the factory: run_state_machine_as_test takes the seed from it
    machine = cast(type[RuleBasedStateMachine], factory)  # any callable returning a machine will do
    limits = live.settings.graphql
    # The machine sends hundreds of requests as one person from a few IPs; the shared test buckets (60 per
    # identity) would make it wait, not fail. Raised for this test only, restored afterwards.
    with mock.patch.multiple(limits, burst_per_identity=1_000_000, burst_per_ip=1_000_000):
        started = time.monotonic()
        await asyncio.to_thread(run_state_machine_as_test, machine, settings=SETTINGS)
    print(
        f"model test: {SETTINGS.max_examples} examples × ≤ {SETTINGS.stateful_step_count} steps "
        f"in {time.monotonic() - started:.1f} s"
    )
    for what, count in sorted(world.seen.items()):
        print(f"  {count:4d} × {what}")
