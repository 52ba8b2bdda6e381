"""S06–S10 (sync-protocol.md §14): concurrent edits of two devices and the per-field rule (§8.3, §8.4)."""

from __future__ import annotations

import pytest

from api.models.sync import ConflictStatus, DraftConflict
from sync.merge import value_hash
from tests.support.client import Session
from tests.support.sync_device import Op, SyncDevice
from tests.support.sync_invariants import check_invariants
from tests.sync.conformance.conftest import OpenDevice
from tests.sync.conformance.support import SyncItem, error_code, result, seeded_draft, statuses


async def pair(open_device: OpenDevice, person: Session) -> tuple[SyncDevice, SyncDevice]:
    return await open_device(person, "APP_IOS"), await open_device(person, "WECHAT_MP")


@pytest.mark.parametrize("reverse", [False, True])
async def test_s06_two_devices_different_fields(
    sync_item: SyncItem, person: Session, open_device: OpenDevice, reverse: bool
) -> None:
    d1, d2 = await pair(open_device, person)
    draft_id = await seeded_draft(sync_item, d1, {"f1": "a", "f2": "b"}, d2)
    m1 = d1.set(draft_id, "f1", "A")
    m2 = d2.set(draft_id, "f2", "B")
    assert d1.mutations[m1]["ops"][0]["baseHash"] == value_hash("a")
    order = [(d2, m2), (d1, m1)] if reverse else [(d1, m1), (d2, m2)]
    for device, mutation_id in order:
        answer = await device.push()
        assert result(answer, mutation_id)["status"] == "APPLIED"
        assert result(answer, mutation_id)["conflicts"] in (None, [])
    for device in (d1, d2):
        pulled = await device.pull()
        assert device.base[draft_id].fields == {"f1": "A", "f2": "B"}
        assert device.base[draft_id].open_conflicts == []
        acks = {a["clientId"]: a["lastMutationId"] for a in pulled.pages[-1]["clients"]}
        assert acks == {d1.client_id: d1.pushed_through, d2.client_id: d2.pushed_through}
    assert d1.base[draft_id].content_hash == d2.base[draft_id].content_hash
    await check_invariants(d1, d2)


@pytest.mark.parametrize("reverse", [False, True])
async def test_s07_same_field_conflict(
    sync_item: SyncItem, person: Session, open_device: OpenDevice, reverse: bool
) -> None:
    d1, d2 = await pair(open_device, person)
    draft_id = await seeded_draft(sync_item, d1, {"f1": "a"}, d2)
    values = {d1.client_id: "A1", d2.client_id: "A2"}
    mutations = {d.client_id: d.set(draft_id, "f1", values[d.client_id]) for d in (d1, d2)}
    winner, loser = (d2, d1) if reverse else (d1, d2)
    loser.mutations[mutations[loser.client_id]]["clientTime"] = "2026-03-01T08:30:00+08:00"  # metadata only

    won = result(await winner.push(), mutations[winner.client_id])
    assert won["status"] == "APPLIED"
    lost = result(await loser.push(), mutations[loser.client_id])
    assert lost["status"] == "APPLIED_WITH_CONFLICTS"
    [conflict] = lost["conflicts"]
    assert (conflict["path"], conflict["serverValue"]) == ("f1", values[winner.client_id])
    assert conflict["serverHash"] == value_hash(values[winner.client_id])
    candidates = [(c["clientId"], c["value"], c["valueHash"]) for c in conflict["candidates"]]
    assert candidates == [(loser.client_id, values[loser.client_id], value_hash(values[loser.client_id]))]
    assert conflict["candidates"][0]["platform"] == loser.platform
    assert conflict["candidates"][0]["clientTime"] == "2026-03-01T08:30:00+08:00"
    assert conflict["openedVersion"] == lost["draftVersion"]
    for device in (d1, d2):
        await device.pull()
        assert device.base[draft_id].fields["f1"] == values[winner.client_id]
        assert [(c["id"], c["path"]) for c in device.base[draft_id].open_conflicts] == [(conflict["id"], "f1")]

    # Step 2: neither device may submit while the conflict is open.
    for device in (d1, d2):
        submit = device.submit(draft_id)
        answer = await device.push()
        assert error_code(answer, submit) == "UNRESOLVED_CONFLICTS"
        assert result(answer, submit)["error"]["paths"] == ["f1"]
        await device.pull()

    # Step 3: the loser resolves in favour of its own value, against the value it now sees.
    resolve = loser.resolve(draft_id, conflict["id"], "f1", values[loser.client_id])
    assert loser.mutations[resolve]["ops"][0]["baseHash"] == value_hash(values[winner.client_id])
    assert result(await loser.push(), resolve)["status"] == "APPLIED"
    row = await DraftConflict.get(id=conflict["id"])
    assert row.status is ConflictStatus.RESOLVED and row.resolved_version is not None
    for device in (d1, d2):
        await device.pull()
        assert device.base[draft_id].fields["f1"] == values[loser.client_id]
        assert device.base[draft_id].open_conflicts == []

    # Step 4: submitting now succeeds.
    submit = winner.submit(draft_id)
    submitted = result(await winner.push(), submit)
    assert submitted["status"] == "APPLIED" and submitted["applicationId"], submitted
    await check_invariants(d1, d2)


async def test_s08_same_field_same_value(sync_item: SyncItem, person: Session, open_device: OpenDevice) -> None:
    d1, d2 = await pair(open_device, person)
    draft_id = await seeded_draft(sync_item, d1, {"f1": "a"}, d2)
    first, second = d1.set(draft_id, "f1", "A"), d2.set(draft_id, "f1", "A")
    assert result(await d1.push(), first)["status"] == "APPLIED"
    converged = result(await d2.push(), second)
    assert converged["status"] == "NOOP" and converged["conflicts"] in (None, [])
    assert not await DraftConflict.exists(draft_id=draft_id)
    assert [h["clientId"] for h in await d1.history(draft_id) if h["value"] == "A"] == [d1.client_id]
    await check_invariants(d1, d2)


async def test_s09_one_device_consecutive_offline_edits(
    sync_item: SyncItem, person: Session, open_device: OpenDevice
) -> None:
    d1, d2 = await pair(open_device, person)
    draft_id = await seeded_draft(sync_item, d1, {"f1": "a"}, d2)
    first, second = d1.set(draft_id, "f1", "b"), d1.set(draft_id, "f1", "c")
    ops = [d1.mutations[m]["ops"][0] for m in (first, second)]
    assert [op["baseHash"] for op in ops] == [value_hash("a"), value_hash("b")]
    assert ops[0]["baseVersion"] == ops[1]["baseVersion"]  # both carry the stale pulled version
    assert statuses(await d1.push()) == [(first, "APPLIED"), (second, "APPLIED")]
    await d1.pull()
    assert d1.base[draft_id].fields == {"f1": "c"} and d1.base[draft_id].open_conflicts == []

    # Variant: another device writes between the two offline edits.
    other = await seeded_draft(sync_item, d1, {"f1": "a"}, d2)
    first, second = d1.set(other, "f1", "b"), d1.set(other, "f1", "c")
    assert statuses(await d1.push([first])) == [(first, "APPLIED")]
    await d2.pull()
    between = d2.set(other, "f1", "z")
    assert result(await d2.push(), between)["status"] == "APPLIED"
    late = result(await d1.push(), second)
    assert late["status"] == "APPLIED_WITH_CONFLICTS"
    [conflict] = late["conflicts"]
    assert (conflict["path"], conflict["serverValue"]) == ("f1", "z")
    assert [(c["clientId"], c["value"]) for c in conflict["candidates"]] == [(d1.client_id, "c")]
    await check_invariants(d1, d2)


async def test_s10_repeating_group(sync_item: SyncItem, person: Session, open_device: OpenDevice) -> None:
    d1, d2 = await pair(open_device, person)
    draft_id = await seeded_draft(sync_item, d1, {"members/m3/name": "王五"}, d2)
    add1, add2 = d1.set(draft_id, "members/m1/name", "甲"), d2.set(draft_id, "members/m2/name", "乙")
    assert result(await d1.push(), add1)["status"] == "APPLIED"
    assert result(await d2.push(), add2)["status"] == "APPLIED"
    for device in (d1, d2):
        await device.pull()
        assert device.base[draft_id].fields == {
            "members/m1/name": "甲",
            "members/m2/name": "乙",
            "members/m3/name": "王五",
        }

    # `_order` is always last-writer-wins in server order: concurrent moves never open a conflict.
    moves = d1.set(draft_id, "members/m3/_order", "a0"), d2.set(draft_id, "members/m3/_order", "b0")
    assert result(await d1.push(), moves[0])["status"] == "APPLIED"
    assert result(await d2.push(), moves[1])["status"] == "APPLIED"
    await d1.pull()
    assert d1.base[draft_id].fields["members/m3/_order"] == "b0"
    assert d1.base[draft_id].open_conflicts == []

    edit = d2.set(draft_id, "members/m3/name", "王五五")
    assert result(await d2.push(), edit)["status"] == "APPLIED"
    remove = d1.remove_item(draft_id, "members/m3")
    assert d1.mutations[remove]["ops"][0]["baseHash"] == value_hash(
        {"members/m3/_order": "b0", "members/m3/name": "王五"}
    )
    removed = result(await d1.push(), remove)
    assert removed["status"] == "APPLIED_WITH_CONFLICTS"
    [conflict] = removed["conflicts"]
    assert conflict["path"] == "members/m3"
    assert conflict["serverValue"] == {"members/m3/_order": "b0", "members/m3/name": "王五五"}
    assert [(c["clientId"], c["value"]) for c in conflict["candidates"]] == [(d1.client_id, None)]
    for device in (d1, d2):
        await device.pull()
        assert device.base[draft_id].fields["members/m3/name"] == "王五五"
        assert [c["path"] for c in device.base[draft_id].open_conflicts] == ["members/m3"]

    # The person decides for the removal after all: the item's fields go, and pulls carry them as removed paths.
    ops = [Op("members/m3/name", "UNSET"), Op("members/m3/_order", "UNSET")]
    decided = d1.enqueue(
        draft_id, "RESOLVE_CONFLICT", sync_item.form_version, conflictId=conflict["id"], ops=d1.op_inputs(draft_id, ops)
    )
    assert result(await d1.push(), decided)["status"] == "APPLIED"
    for device in (d1, d2):
        change = (await device.pull()).draft(draft_id)
        assert change is not None and change["full"] is False
        assert sorted(change["removedPaths"]) == ["members/m3/_order", "members/m3/name"]
        assert device.base[draft_id].fields == {"members/m1/name": "甲", "members/m2/name": "乙"}
        assert device.base[draft_id].open_conflicts == []
    await check_invariants(d1, d2)
