"""S11–S13 (sync-protocol.md §14): soft deletes, restores and tombstone GC (§8.3, §9, decision 4)."""

from __future__ import annotations

from datetime import timedelta

from api.models.sync import Draft, SyncSpace
from tests.support.client import Session
from tests.support.sync_invariants import check_invariants
from tests.sync.conformance.conftest import OpenDevice
from tests.sync.conformance.gc import collect_garbage
from tests.sync.conformance.support import SyncItem, error_code, lmid, result, seeded_draft, server_draft


async def test_s11_delete_arrives_before_an_edit(sync_item: SyncItem, person: Session, open_device: OpenDevice) -> None:
    d1, d2 = await open_device(person, "APP_ANDROID"), await open_device(person, "ALIPAY_MP")
    draft_id = await seeded_draft(sync_item, d1, {"f1": "a"}, d2)
    delete = d1.delete(draft_id)
    assert result(await d1.push(), delete)["status"] == "APPLIED"

    edit = d2.set(draft_id, "f1", "离线修改")
    rejected = await d2.push()
    assert error_code(rejected, edit) == "DRAFT_DELETED"
    assert rejected["lastMutationId"] == edit and await lmid(d2) == edit
    [entry] = await d2.quarantined(draft_id)
    assert (entry["clientId"], entry["mutationId"], entry["reason"]) == (d2.client_id, edit, "DRAFT_DELETED")
    assert entry["mutation"]["ops"][0]["value"] == "离线修改"
    pulled = await d2.pull()
    change = pulled.draft(draft_id)
    assert change is not None and change["status"] == "DELETED"
    assert str(change["restorableUntil"]).endswith("+08:00")  # DateTime is rendered in Asia/Shanghai
    assert change["quarantinedOps"] == 1
    assert d2.base[draft_id].fields == {"f1": "a"}
    row = await server_draft(draft_id)
    assert row.deleted_at is not None and row.restorable_until == row.deleted_at + timedelta(days=30)

    restore = d2.restore(draft_id)
    restored = result(await d2.push(), restore)
    assert restored["status"] == "APPLIED"
    assert [(op["id"], op["mutationId"]) for op in restored["reofferedOps"]] == [(entry["id"], edit)]
    await d2.pull()
    assert d2.base[draft_id].status == "EDITING" and d2.base[draft_id].restorable_until is None

    reoffered = restored["reofferedOps"][0]["mutation"]["ops"][0]
    resend = d2.set(draft_id, reoffered["path"], reoffered["value"])
    assert result(await d2.push(), resend)["status"] == "APPLIED"
    await d2.pull()
    assert d2.base[draft_id].fields == {"f1": "离线修改"}
    await check_invariants(d1, d2)


async def test_s12_edit_arrives_before_a_delete(sync_item: SyncItem, person: Session, open_device: OpenDevice) -> None:
    d1, d2 = await open_device(person, "APP_IOS"), await open_device(person, "WECHAT_MP")
    draft_id = await seeded_draft(sync_item, d1, {"f1": "a"}, d2)
    seen_by_d1 = d1.base[draft_id].version
    edit = d2.set(draft_id, "f2", "b")
    edited = result(await d2.push(), edit)
    assert edited["status"] == "APPLIED" and int(edited["draftVersion"]) > seen_by_d1

    stale = d1.delete(draft_id)
    answer = await d1.push()
    assert error_code(answer, stale) == "DELETE_CONFLICT"
    row = await server_draft(draft_id)
    assert row.status.value == "EDITING" and row.version == int(edited["draftVersion"])

    await d1.pull()
    assert d1.base[draft_id].version == int(edited["draftVersion"])
    assert d1.base[draft_id].fields == {"f1": "a", "f2": "b"}
    informed = d1.delete(draft_id)
    assert d1.mutations[informed]["baseDraftVersion"] == edited["draftVersion"]
    assert result(await d1.push(), informed)["status"] == "APPLIED"
    assert (await server_draft(draft_id)).status.value == "DELETED"

    late = d2.delete(draft_id)
    assert result(await d2.push(), late)["status"] == "NOOP"
    await check_invariants(d1, d2)


async def test_s13_tombstone_gc_versus_an_old_cursor(
    sync_item: SyncItem, person: Session, open_device: OpenDevice
) -> None:
    d1 = await open_device(person)
    kept = await seeded_draft(sync_item, d1, {"f1": "留下"})
    gone = await seeded_draft(sync_item, d1, {"f1": "删除"})
    old_cursor = d1.cursor
    assert old_cursor is not None
    delete = d1.delete(gone)
    assert result(await d1.push(), delete)["status"] == "APPLIED"
    deleted = await Draft.get(id=gone)
    assert deleted.restorable_until is not None

    purged_at = deleted.restorable_until + timedelta(minutes=1)
    await collect_garbage(d1.api.live, purged_at)
    assert not await Draft.exists(id=gone), "GC left a tombstone past restorable_until"
    space = await SyncSpace.get(space_id=d1.space_id)
    assert space.min_valid_version >= deleted.version

    pulled = await d1.pull(old_cursor, allow_reset=True)
    assert pulled.reset is True
    assert pulled.draft(gone) is None
    assert [d["draftId"] for d in pulled.drafts] == [kept] and pulled.drafts[0]["full"] is True
    assert set(d1.base) == {kept}
    await check_invariants(d1, purged=[gone])
