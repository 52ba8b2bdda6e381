"""The push state machine (sync-protocol.md §8.1, §8.2): request checks, replay, gaps, acknowledgement, the
field rule's writes, conflicts and resolution, delete and restore."""

from __future__ import annotations

import dataclasses

import orjson

from api.models.sync import (
    ConflictStatus,
    Draft,
    DraftConflict,
    DraftFieldHistory,
    DraftStatus,
    SyncClient,
    SyncMutationResult,
    SyncMutationStatus,
    SyncSpace,
)
from sync.contract import PushRejected, SyncErrorCode, SyncMutationType
from sync.merge import map_hash, value_hash
from tests.support.client import Api
from tests.sync.test_push_kit import Device, fields_of, new_draft, op, person_claims


async def test_create_edit_and_byte_identical_replay(api: Api) -> None:
    device = Device(api, person_claims(api))
    x = new_draft()
    batch = [device.create(x), device.edit(x, op("f1", "张三")), device.edit(x, op("f2", "110101199001011234"))]
    first = await device.push(*batch)
    assert first.last_mutation_id == 3
    assert [r.status for r in first.results] == [SyncMutationStatus.APPLIED] * 3
    assert not any(r.replayed for r in first.results)
    draft = await Draft.get(id=x)
    assert draft.version == first.results[-1].draft_version
    assert draft.content_hash == map_hash({"f1": "张三", "f2": "110101199001011234"})
    space = await SyncSpace.get(space_id=draft.space_id)
    assert space.version == draft.version

    again = await device.push(*batch)
    assert again.last_mutation_id == 3
    assert [(r.id, r.status, r.replayed) for r in again.results] == [(r.id, r.status, True) for r in first.results]
    assert [r.draft_version for r in again.results] == [r.draft_version for r in first.results]
    assert await DraftFieldHistory.filter(draft_id=x).count() == 2
    assert (await SyncSpace.get(space_id=draft.space_id)).version == space.version


async def test_gap_stops_without_effects_then_applies(api: Api) -> None:
    device = Device(api, person_claims(api))
    x = new_draft()
    await device.push(device.create(x), device.edit(x, op("f1", "a")))
    skipped = device.edit(x, op("f1", "b", "a"))
    later = [device.edit(x, op("f1", "c", "b")), device.edit(x, op("f2", "d"))]
    gap = await device.push(*later)
    assert gap.results == [] and gap.stopped_at == 4 and gap.last_mutation_id == 2
    assert gap.stop_reason is not None and gap.stop_reason.code is SyncErrorCode.OUT_OF_ORDER
    assert gap.stop_reason.retryable
    assert await fields_of(x) == {"f1": "a"}
    done = await device.push(skipped, *later)
    assert done.last_mutation_id == 5 and done.stopped_at is None
    assert await fields_of(x) == {"f1": "c", "f2": "d"}


async def test_request_checks_refuse_the_whole_batch(api: Api) -> None:
    device = Device(api, person_claims(api))
    x = new_draft()
    good = device.create(x)
    cases = {
        "protocol": (await device.send(good, protocol_version=0), SyncErrorCode.CLIENT_UPGRADE_REQUIRED, None),
        "future": (await device.send(good, protocol_version=99), SyncErrorCode.SERVER_BUSY, None),
        "empty": (await device.send(), SyncErrorCode.INVALID_BATCH, ["mutations"]),
    }
    for name, (answer, code, path) in cases.items():
        assert isinstance(answer, PushRejected), name
        assert answer.code == code.value, name
        if path is not None:
            assert answer.path == path
    future = cases["future"][0]
    assert isinstance(future, PushRejected) and future.retryable and (future.retry_after_ms or 0) >= 500
    too_many = await device.send(*[device.edit(x, op("f1", str(i))) for i in range(101)])
    assert isinstance(too_many, PushRejected) and too_many.code == "PAYLOAD_TOO_LARGE"

    fresh = Device(api, device.claims)
    m1, m2, m3 = fresh.create(x), fresh.edit(x, op("f1", "a")), fresh.edit(x, op("f2", "b"))
    for batch, path in (
        ([m1, m3, m2], ["mutations", "1", "id"]),
        ([m1, m1], ["mutations", "1", "id"]),
        ([m1, m3], ["mutations", "1", "id"]),
    ):
        answer = await fresh.send(*batch)
        assert isinstance(answer, PushRejected) and answer.code == "INVALID_BATCH" and answer.path == path
    broken = [
        (fresh.mutation(m1.type, "not-a-uuid", service_code="PUSHKIT"), ["mutations", "0", "draftId"]),
        (fresh.edit(x), ["mutations", "0", "ops"]),
        (fresh.edit(x, op("f1", None, kind="SET")), ["mutations", "0", "ops", "0", "value"]),
        (fresh.edit(x, op("f1", "a", base_hash="ABC")), ["mutations", "0", "ops", "0", "baseHash"]),
        (fresh.mutation(m1.type, x), ["mutations", "0", "serviceCode"]),
    ]
    for m, path in broken:
        fresh.next_id = 1
        answer = await fresh.send(m.__class__(**{**m.__dict__, "id": 1}))
        assert isinstance(answer, PushRejected) and answer.code == "INVALID_BATCH", (path, answer)
        assert answer.path == path
    assert not await Draft.exists(id=x)
    assert not await SyncClient.exists(client_id=fresh.client_id)


async def test_ownership_and_unknown_clients(api: Api) -> None:
    owner, stranger = Device(api, person_claims(api)), Device(api, person_claims(api))
    x = new_draft()
    await owner.push(owner.create(x, op("f1", "mine")))

    stolen = Device(api, stranger.claims, client_id=owner.client_id, next_id=2)
    answer = await stolen.send(stolen.edit(x, op("f1", "theirs", "mine")))
    assert isinstance(answer, PushRejected) and answer.code == "CLIENT_NOT_OWNED"
    assert answer.client_last_mutation_id is None

    unknown = Device(api, stranger.claims, next_id=5)
    answer = await unknown.send(unknown.edit(x, op("f1", "z")))
    assert isinstance(answer, PushRejected) and answer.code == "CLIENT_STATE_NOT_FOUND"
    assert not await SyncClient.exists(client_id=unknown.client_id)

    # A foreign draft and a missing one answer alike.
    foreign = await stranger.push(
        stranger.edit(x, op("f1", "theirs", "mine")), stranger.edit(new_draft(), op("f1", "z"))
    )
    errors = [r.error for r in foreign.results]
    assert all(e is not None and e.code is SyncErrorCode.NOT_OWNER for e in errors)
    assert errors[0] == errors[1]
    assert foreign.last_mutation_id == 2
    assert await fields_of(x) == {"f1": "mine"}


async def test_ack_results_through_forgets_stored_results(api: Api) -> None:
    device = Device(api, person_claims(api))
    x = new_draft()
    batch = [device.create(x), device.edit(x, op("f1", "a"))]
    await device.push(*batch)
    ack = await device.push(batch[1], ack_results_through=5)  # capped at LMID
    assert await SyncMutationResult.filter(client_id=device.client_id).count() == 0
    assert ack.results[0].replayed and ack.results[0].status is SyncMutationStatus.NOOP


async def test_same_field_conflict_and_resolution(api: Api) -> None:
    claims = person_claims(api)
    d1, d2 = Device(api, claims), Device(api, claims)
    x = new_draft()
    await d1.push(d1.create(x, op("f1", "a")))
    first = await d1.push(d1.edit(x, op("f1", "A1", "a")))
    losing = d2.edit(x, op("f1", "A2", "a"))
    second = await d2.push(losing)
    assert first.results[0].status is SyncMutationStatus.APPLIED
    result = second.results[0]
    assert result.status is SyncMutationStatus.APPLIED_WITH_CONFLICTS
    assert result.conflicts is not None and len(result.conflicts) == 1
    conflict = result.conflicts[0]
    assert (conflict.path, conflict.server_value, conflict.server_hash) == ("f1", "A1", value_hash("A1"))
    assert [(str(c.client_id), c.value) for c in conflict.candidates] == [(d2.client_id, "A2")]
    assert await fields_of(x) == {"f1": "A1"}
    orjson.dumps(second)  # plain values only (no driver types): any edge can serialize the answer
    replayed = (await d2.push(losing)).results[0]
    assert replayed.replayed and dataclasses.replace(replayed, replayed=False) == result

    # An EDIT of the path leaves it open; only RESOLVE_CONFLICT closes it.
    same = await d1.push(d1.edit(x, op("f1", "A1", "A1")))
    assert same.results[0].status is SyncMutationStatus.NOOP
    resolve = d2.mutation(
        SyncMutationType.RESOLVE_CONFLICT, x, ops=[op("f1", "A2", "A1")], conflict_id=str(conflict.id)
    )
    resolved = await d2.push(resolve)
    assert resolved.results[0].status is SyncMutationStatus.APPLIED
    row = await DraftConflict.get(id=conflict.id)
    assert row.status is ConflictStatus.RESOLVED and row.resolved_version == resolved.results[0].draft_version
    assert await fields_of(x) == {"f1": "A2"}


async def test_delete_conflict_delete_and_restore_reoffers_quarantined_ops(api: Api) -> None:
    claims = person_claims(api)
    d1, d2 = Device(api, claims), Device(api, claims)
    x = new_draft()
    created = await d1.push(d1.create(x, op("f1", "a")))
    seen = created.results[0].draft_version
    await d2.push(d2.edit(x, op("f2", "b")))
    delete = SyncMutationType.DELETE_DRAFT
    stale = await d1.push(d1.mutation(delete, x, base_draft_version=str(seen)))
    assert stale.results[0].error is not None and stale.results[0].error.code is SyncErrorCode.DELETE_CONFLICT
    current = (await Draft.get(id=x)).version
    deleted = await d1.push(d1.mutation(delete, x, base_draft_version=str(current)))
    assert deleted.results[0].status is SyncMutationStatus.APPLIED
    draft = await Draft.get(id=x)
    assert draft.status is DraftStatus.DELETED and draft.restorable_until is not None

    late = await d2.push(d2.edit(x, op("f1", "late", "a")))
    assert late.results[0].error is not None and late.results[0].error.code is SyncErrorCode.DRAFT_DELETED
    assert (await Draft.get(id=x)).version > draft.version  # the quarantine count syncs

    again = await d2.push(d2.mutation(delete, x, base_draft_version="0"))
    assert again.results[0].status is SyncMutationStatus.NOOP
    restore = d2.mutation(SyncMutationType.RESTORE_DRAFT, x)
    restored = await d2.push(restore)
    result = restored.results[0]
    assert result.status is SyncMutationStatus.APPLIED
    assert result.reoffered_ops is not None and [q.mutation_id for q in result.reoffered_ops] == [2]
    assert result.reoffered_ops[0].mutation["ops"][0]["value"] == "late"
    assert (await Draft.get(id=x)).status is DraftStatus.EDITING
    orjson.dumps(restored)
    replay = (await d2.push(restore)).results[0]
    assert replay.replayed and replay.reoffered_ops == result.reoffered_ops


async def test_versions_move_only_when_a_pull_would_see_a_change(api: Api) -> None:
    device = Device(api, person_claims(api))
    x = new_draft()
    await device.push(device.create(x, op("f1", "a")))
    space_id = f"P:{device.claims.subject}"
    before = (await SyncSpace.get(space_id=space_id)).version
    answer = await device.push(
        device.create(x),  # the same id again: idempotent
        device.edit(x, op("f1", "a", "zzz")),  # converged value
        device.mutation(SyncMutationType.RESTORE_DRAFT, x),  # not deleted
    )
    assert [r.status for r in answer.results] == [SyncMutationStatus.NOOP] * 3
    assert [r.draft_version for r in answer.results] == [before] * 3
    assert (await SyncSpace.get(space_id=space_id)).version == before
    assert answer.last_mutation_id == 4

    other = Device(api, person_claims(api))
    taken = await other.push(other.create(x, op("f1", "b")))
    assert taken.results[0].error is not None and taken.results[0].error.code is SyncErrorCode.NOT_OWNER
    assert (await Draft.get(id=x)).space_id == space_id


async def test_restore_after_the_window_is_refused(api: Api) -> None:
    device = Device(api, person_claims(api))
    x = new_draft()
    created = await device.push(device.create(x, op("f1", "a")))
    version = str(created.results[0].draft_version)
    await device.push(device.mutation(SyncMutationType.DELETE_DRAFT, x, base_draft_version=version))
    await Draft.filter(id=x).update(restorable_until=api.live.clock.now())
    late = await device.push(device.mutation(SyncMutationType.RESTORE_DRAFT, x))
    assert late.results[0].error is not None and late.results[0].error.code is SyncErrorCode.DRAFT_DELETED
    assert (await Draft.get(id=x)).status is DraftStatus.DELETED
