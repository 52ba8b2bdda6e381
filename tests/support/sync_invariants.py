"""The global invariants I1–I5 of sync-protocol.md §14.1, checked against the database (the live server runs in
the test process, so the tortoise models read the same database) and what the simulated devices recorded.

`check_invariants(*devices)` first lets every device push its queue and pull to hasMore = false (the premise of
I2), then checks:

- the server's own consistency: every draft's content hash is the map hash of its non-null fields, field hashes
  are H(value), and no version runs ahead of its draft or space;
- I1: every accepted op of every device is in the current value, the history, a conflict candidate or the
  quarantine, as its stored result says (acknowledged entries excepted);
- I2: every device's materialized drafts and content hashes equal the server's;
- I3: at most one set of effects and one stored result per (clientId, mutationId), LMIDs never decrease;
- I4: snapshot versions never decrease within an epoch except on a reset (the device asserts it on every page);
- I5: at most one application per draft, whose content hash is the one the submitting user confirmed.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from api.models import Application
from api.models.sync import (
    ConflictStatus,
    Draft,
    DraftConflict,
    DraftConflictCandidate,
    DraftField,
    DraftFieldHistory,
    DraftStatus,
    SyncClient,
    SyncMutationResult,
    SyncQuarantine,
    SyncSpace,
)
from sync.merge import NULL_HASH, map_hash, value_hash
from tests.support.sync_device import SyncDevice

_FILE_KEYS = frozenset({"blobSha256", "name", "size", "mime"})
_OP_TYPES = ("CREATE_DRAFT", "EDIT", "RESOLVE_CONFLICT")


def flatten(form_data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """An application's form data as a draft field map: nested objects become '/'-joined paths; a file reference
    `{blobSha256, name, size, mime}` is one value. A map that is already flat comes back unchanged."""
    flat: dict[str, Any] = {}
    for key, value in form_data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and set(value) != _FILE_KEYS:
            flat.update(flatten(value, path + "/"))
        elif value is not None:
            flat[path] = value
    return flat


async def check_invariants(*devices: SyncDevice, converge: bool = True, purged: Iterable[str] = ()) -> None:
    """`purged`: drafts the test's GC removed past their retention, whose edits are expired (I1 excepts them)."""
    if converge:
        for device in devices:
            if any(m > device.pushed_through for m in device.pending):
                answer = await device.push()
                assert answer["__typename"] == "SyncPushPayload", answer
                assert answer["stoppedAt"] is None, f"the queue of {device.client_id} did not drain: {answer}"
        for device in devices:
            await device.pull()
    for space_id in sorted({d.space_id for d in devices}):
        await check_server_state(space_id)
    acknowledged = set().union(*(d.acknowledged_quarantine for d in devices))
    for device in devices:
        if converge:
            await check_converged(device)
        await check_exactly_once(device)
        await check_no_lost_edit(device, acknowledged, set(purged))
        check_monotonic_snapshots(device)
    await check_one_application_per_draft(devices)


async def drafts_of(space_id: str) -> list[Draft]:
    return await Draft.filter(space_id=space_id).order_by("version", "id")


async def field_map(draft_id: uuid.UUID | str) -> dict[str, Any]:
    rows = await DraftField.filter(draft_id=draft_id)
    return {row.path: row.value for row in rows if row.value is not None}


async def check_server_state(space_id: str) -> None:
    space = await SyncSpace.get_or_none(space_id=space_id)
    drafts = await drafts_of(space_id)
    if space is None:
        assert not drafts, f"drafts in {space_id} without a sync_space row"
        return
    for draft in drafts:
        rows = await DraftField.filter(draft_id=draft.id)
        for row in rows:
            assert row.value_hash == value_hash(row.value), f"{draft.id} {row.path}: value_hash is not H(value)"
            assert row.version <= draft.version, f"{draft.id} {row.path}: field version above the draft's"
        values = {row.path: row.value for row in rows if row.value is not None}
        assert draft.content_hash == map_hash(values), f"{draft.id}: content_hash is not the map hash of its fields"
        assert draft.created_version <= draft.version <= space.version, f"{draft.id}: versions out of order"
        if draft.status is DraftStatus.SUBMITTED:
            assert draft.application_id is not None, f"{draft.id} is SUBMITTED without an application"
        if draft.status is DraftStatus.DELETED:
            assert draft.deleted_at is not None and draft.restorable_until is not None, f"{draft.id}: tombstone"
        paths = Counter(c.path for c in await DraftConflict.filter(draft_id=draft.id, status=ConflictStatus.OPEN))
        assert all(n == 1 for n in paths.values()), f"{draft.id}: two OPEN conflicts on one path {paths}"


async def check_converged(device: SyncDevice) -> None:
    """I2: after pushing its queue and pulling to the end, the device holds exactly the server's drafts."""
    assert not device.pending, f"{device.client_id}: mutations {device.pending} not covered by the pulled LMID"
    server = {str(d.id): d for d in await drafts_of(device.space_id)}
    assert set(device.base) == set(server), (
        f"{device.client_id}: holds drafts {sorted(set(device.base) ^ set(server))} unlike the server"
    )
    for draft_id, draft in server.items():
        copy_ = device.base[draft_id]
        assert copy_.fields == await field_map(draft_id), f"{device.client_id}: fields of {draft_id} differ"
        assert (copy_.status, copy_.version, copy_.content_hash) == (
            draft.status.value,
            draft.version,
            draft.content_hash,
        ), f"{device.client_id}: {draft_id} differs from the server"
        assert copy_.application_id == (str(draft.application_id) if draft.application_id else None)
        open_paths = sorted(c.path for c in await DraftConflict.filter(draft_id=draft_id, status=ConflictStatus.OPEN))
        assert sorted(c["path"] for c in copy_.open_conflicts) == open_paths, f"{draft_id}: open conflicts differ"
        quarantined = await SyncQuarantine.filter(draft_id=draft_id, space_id=device.space_id).count()
        assert copy_.quarantined_ops == quarantined, f"{draft_id}: quarantinedOps {copy_.quarantined_ops}"


async def check_exactly_once(device: SyncDevice) -> None:
    """I3: one stored result and at most one set of effects per mutation id; LMID never decreases."""
    seen = device.lmids_seen
    assert seen == sorted(seen), f"{device.client_id}: lastMutationId went back: {seen}"
    client = await SyncClient.get_or_none(client_id=device.client_id)
    if client is None:
        assert not device.results, f"{device.client_id} has results but no sync_client row"
        return
    assert client.space_id == device.space_id
    if seen:
        assert client.last_mutation_id == seen[-1], f"{device.client_id}: LMID {client.last_mutation_id} vs {seen}"
    assert set(device.results) == set(range(1, client.last_mutation_id + 1)), (
        f"{device.client_id}: results for {sorted(device.results)} but LMID {client.last_mutation_id}"
    )
    stored = await SyncMutationResult.filter(client_id=device.client_id)
    ids = Counter(row.mutation_id for row in stored)
    assert all(n == 1 for n in ids.values()), f"{device.client_id}: two stored results for one mutation"
    for row in stored:
        assert row.mutation_id <= client.last_mutation_id, f"a stored result above LMID: {row.mutation_id}"
        assert row.status.value == device.results[row.mutation_id]["status"], f"stored result {row.mutation_id}"
    for mid in range(device.results_acked_through + 1, client.last_mutation_id + 1):
        assert mid in ids, f"{device.client_id}: no stored result for unacknowledged mutation {mid}"
    for mid, replays in device.replays.items():
        first = device.results[mid]["status"]
        for replay in replays:
            assert replay["replayed"] is True
            assert replay["status"] in (first, "NOOP"), f"replay of {mid} answered {replay['status']}, not {first}"
            if replay["status"] == "NOOP" and first != "NOOP":
                assert mid <= device.results_acked_through, f"replay of unacknowledged {mid} lost its result"
    candidates = await DraftConflictCandidate.filter(client_id=device.client_id)
    per_conflict = Counter((str(c.conflict_id), c.mutation_id) for c in candidates)
    assert all(n == 1 for n in per_conflict.values()), f"{device.client_id}: one candidate added twice"
    history = await DraftFieldHistory.filter(client_id=device.client_id)
    per_mutation: dict[int, set[int]] = {}
    per_path = Counter((str(h.draft_id), h.path, h.mutation_id) for h in history)
    assert all(n == 1 for n in per_path.values()), f"{device.client_id}: one op applied twice {per_path}"
    for change in history:
        per_mutation.setdefault(change.mutation_id, set()).add(change.version)
        status = device.results.get(change.mutation_id, {}).get("status")
        assert status in ("APPLIED", "APPLIED_WITH_CONFLICTS"), (
            f"{device.client_id}: history row of mutation {change.mutation_id} whose result is {status}"
        )
    assert all(len(v) == 1 for v in per_mutation.values()), f"{device.client_id}: one mutation, several versions"


async def check_no_lost_edit(
    device: SyncDevice, acknowledged: AbstractSet[tuple[str, int]], purged: AbstractSet[str] = frozenset()
) -> None:
    """I1: every op of every processed mutation ended where its stored result says."""
    for mid, result in sorted(device.results.items()):
        mutation = device.mutations.get(mid)
        if mutation is None or mutation["draftId"] in purged:
            continue  # a raw request the test built itself, or a draft GC'd after its retention
        status = result["status"]
        quarantined = await SyncQuarantine.filter(client_id=device.client_id, mutation_id=mid)
        if status == "REJECTED":
            if mutation.get("ops") and (device.client_id, mid) not in acknowledged:
                assert len(quarantined) == 1, f"{device.client_id}/{mid} REJECTED with ops but not quarantined"
                assert quarantined[0].space_id == device.space_id
                assert quarantined[0].reason == result["error"]["code"]
                assert _op_keys(quarantined[0].payload.get("ops")) == _op_keys(mutation["ops"]), "quarantine lost ops"
            continue
        assert not quarantined, f"{device.client_id}/{mid} is {status} yet quarantined"
        if mutation["type"] not in _OP_TYPES:
            continue
        candidates = await _candidates(device.client_id, mid)
        written = await DraftFieldHistory.filter(client_id=device.client_id, mutation_id=mid)
        if status == "NOOP":
            assert not written and not candidates, f"{device.client_id}/{mid} NOOP with effects"
        if status == "APPLIED_WITH_CONFLICTS":
            assert candidates, f"{device.client_id}/{mid} APPLIED_WITH_CONFLICTS without a candidate"
        for op in mutation.get("ops") or []:
            assert await _op_landed(mutation["draftId"], op, written, candidates), (
                f"I1: op {op['kind']} {op['path']} of {device.client_id}/{mid} ({status}) is nowhere"
            )


def _op_keys(ops: Any) -> list[tuple[Any, ...]]:
    return [(op.get("path"), op.get("kind"), op.get("value"), op.get("baseHash")) for op in ops or []]


async def _candidates(client_id: str, mutation_id: int) -> list[tuple[DraftConflict, DraftConflictCandidate]]:
    rows = await DraftConflictCandidate.filter(client_id=client_id, mutation_id=mutation_id)
    found = []
    for row in rows:
        conflict = await DraftConflict.get(id=row.conflict_id)
        found.append((conflict, row))
    return found


async def _op_landed(
    draft_id: str,
    op: Mapping[str, Any],
    written: Iterable[DraftFieldHistory],
    candidates: Iterable[tuple[DraftConflict, DraftConflictCandidate]],
) -> bool:
    path = op["path"]
    if op["kind"] == "REMOVE_ITEM":
        prefix = path + "/"
        if any(h.path.startswith(prefix) and h.value is None for h in written):
            return True
        if any(c.path == path and cand.value is None for c, cand in candidates):
            return True
        return not any(p.startswith(prefix) for p in await field_map(draft_id))  # the item was already gone
    new_hash = value_hash(op.get("value")) if op["kind"] == "SET" else NULL_HASH
    if any(h.path == path and h.value_hash == new_hash for h in written):
        return True
    if any(c.path == path and cand.value_hash == new_hash for c, cand in candidates):
        return True
    # A converged NOOP: the value was already there, written by someone (or, for null, never set).
    if new_hash == NULL_HASH and not await DraftField.exists(draft_id=draft_id, path=path):
        return True
    return await DraftFieldHistory.exists(draft_id=draft_id, path=path, value_hash=new_hash)


def check_monotonic_snapshots(device: SyncDevice) -> None:
    """I4 (the device asserts it page by page as well)."""
    for (epoch_a, version_a, _), (epoch_b, version_b, reset_b) in zip(
        device.snapshots, device.snapshots[1:], strict=False
    ):
        if epoch_a == epoch_b and not reset_b:
            assert version_b >= version_a, f"{device.client_id}: snapshotVersion {version_a} → {version_b}"


async def check_one_application_per_draft(devices: Iterable[SyncDevice]) -> None:
    """I5: one application per draft, carrying the content hash its submitter confirmed."""
    devices = list(devices)
    confirmed: dict[str, list[tuple[str, str]]] = {}  # draftId → (applicationId, expectedContentHash)
    for device in devices:
        for mid, result in device.results.items():
            mutation = device.mutations.get(mid)
            if mutation is None or mutation["type"] != "SUBMIT" or result["status"] != "APPLIED":
                continue
            assert result["applicationId"], f"an APPLIED SUBMIT without applicationId: {result}"
            confirmed.setdefault(mutation["draftId"], []).append(
                (result["applicationId"], mutation["expectedContentHash"])
            )
    for space_id in {d.space_id for d in devices}:
        for draft in await drafts_of(space_id):
            apps = await Application.filter(draft_id=draft.id)
            assert len(apps) <= 1, f"I5: {len(apps)} applications for draft {draft.id}"
            submits = confirmed.get(str(draft.id), [])
            if draft.status is not DraftStatus.CORRECTION:
                assert len(submits) <= 1, f"I5: {len(submits)} SUBMITs of {draft.id} were APPLIED"
            if draft.application_id is None:
                assert not apps, f"I5: an application for {draft.id}, which does not name it"
                continue
            assert len(apps) == 1 and apps[0].id == draft.application_id, f"I5: {draft.id} application mismatch"
            app = apps[0]
            if submits:
                application_id, expected = submits[-1]
                assert application_id == str(app.id)
                assert app.content_hash == expected, "I5: the application is not the content the user confirmed"
            assert app.content_hash is not None
            assert map_hash(flatten(app.form_data)) == app.content_hash, "I5: form data does not hash to content_hash"
