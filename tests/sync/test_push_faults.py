"""Failures inside a push (sync-protocol.md §8.2): temporary errors roll back and stop without advancing LMID,
permanent ones are quarantined and advance it, unexpected exceptions become INTERNAL_ERROR, and concurrent pushes
of one space serialize into one version order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from tortoise.exceptions import DBConnectionError

from api.models.sync import (
    Draft,
    DraftBlobRef,
    DraftFieldHistory,
    SyncClient,
    SyncMutationStatus,
    SyncQuarantine,
    SyncSpace,
)
from sync import template_registry
from sync.contract import FieldOpIn, SyncErrorCode
from sync.deps import SyncDeps
from sync.merge import item_hash, value_hash
from sync.templates import derive
from tests.support.client import Api
from tests.sync.test_push_kit import SCHEMA, SERVICE, Device, deps_of, fields_of, new_draft, op, person_claims

Hook = Callable[[int], Awaitable[None]]


@pytest.fixture
async def hook(api: Api) -> AsyncIterator[Callable[[Hook | None], None]]:
    deps: SyncDeps = deps_of(api)
    before = deps.fault_hook

    def install(fn: Hook | None) -> None:
        deps.fault_hook = fn

    try:
        yield install
    finally:
        deps.fault_hook = before


def failing_once(at: int, error: Exception) -> Hook:
    fired: list[int] = []

    async def fail(mutation_id: int) -> None:
        if mutation_id == at and not fired:
            fired.append(mutation_id)
            raise error

    return fail


async def test_transient_database_failure_stops_the_batch(api: Api, hook: Callable[[Hook | None], None]) -> None:
    device = Device(api, person_claims(api))
    x = new_draft()
    batch = [
        device.create(x),
        *[device.edit(x, op(f"f{i}", str(i))) for i in (1, 2, 5)],
        device.edit(x, op("nick", "n")),
    ]
    hook(failing_once(3, DBConnectionError("connection refused")))
    first = await device.push(*batch)
    assert [r.id for r in first.results] == [1, 2]
    assert first.stopped_at == 3 and first.last_mutation_id == 2
    assert first.stop_reason is not None and first.stop_reason.code is SyncErrorCode.SERVER_BUSY
    assert first.stop_reason.retryable and (first.retry_after_ms or 0) >= 500
    assert await fields_of(x) == {"f1": "1"}
    second = await device.push(*batch)
    assert [r.replayed for r in second.results] == [True, True, False, False, False]
    assert second.last_mutation_id == 5
    assert await fields_of(x) == {"f1": "1", "f2": "2", "f5": "5", "nick": "n"}


async def test_sqlite_lock_error_is_temporary_too(api: Api, hook: Callable[[Hook | None], None]) -> None:
    from tortoise.exceptions import OperationalError

    device = Device(api, person_claims(api))
    hook(failing_once(1, OperationalError("database is locked")))
    answer = await device.push(device.create(new_draft()))
    assert answer.results == [] and answer.stop_reason is not None
    assert answer.stop_reason.code is SyncErrorCode.SERVER_BUSY and answer.last_mutation_id == 0


async def test_unexpected_exception_is_recorded_as_internal_error(
    api: Api, hook: Callable[[Hook | None], None]
) -> None:
    device = Device(api, person_claims(api))
    x = new_draft()
    await device.push(device.create(x))
    hook(failing_once(2, RuntimeError("a bug")))
    answer = await device.push(device.edit(x, op("f1", "a")), device.edit(x, op("f2", "b")))
    broken, fine = answer.results
    assert broken.status is SyncMutationStatus.REJECTED and broken.error is not None
    assert broken.error.code is SyncErrorCode.INTERNAL_ERROR and not broken.error.retryable
    assert fine.status is SyncMutationStatus.APPLIED and answer.last_mutation_id == 3
    assert await fields_of(x) == {"f2": "b"}
    entry = await SyncQuarantine.get(client_id=device.client_id, mutation_id=2)
    assert entry.reason == "INTERNAL_ERROR" and entry.payload["ops"][0]["value"] == "a"


async def test_unknown_form_version_is_temporary_until_registered(api: Api) -> None:
    device = Device(api, person_claims(api))
    x = new_draft()
    await device.push(device.create(x))
    version = f"v{uuid.uuid4().hex[:8]}"
    newer = device.edit(x, op("f1", "a"), form=version)
    stopped = await device.push(newer)
    assert stopped.stop_reason is not None and stopped.stop_reason.code is SyncErrorCode.FORM_VERSION_UNKNOWN
    assert stopped.stopped_at == 2 and stopped.last_mutation_id == 1 and stopped.stop_reason.retryable
    template_registry.register(derive(SERVICE, version, SCHEMA))
    applied = await device.push(newer)
    assert applied.results[0].status is SyncMutationStatus.APPLIED and await fields_of(x) == {"f1": "a"}


async def test_poison_pills_are_quarantined_and_the_queue_moves_on(api: Api) -> None:
    device = Device(api, person_claims(api))
    x = new_draft()
    await device.push(device.create(x, op("f1", "a")))
    version = (await Draft.get(id=x)).version
    bad = [
        (device.edit(x, op("__proto__", "p")), SyncErrorCode.UNKNOWN_PATH),
        (device.edit(x, op("../x", "p")), SyncErrorCode.UNKNOWN_PATH),
        (device.edit(x, op("a" * 257, "p")), SyncErrorCode.UNKNOWN_PATH),
        (device.edit(x, op("nope", "p")), SyncErrorCode.UNKNOWN_PATH),
        (device.edit(x, op("f2", "x" * (65 * 1024))), SyncErrorCode.VALUE_TOO_LARGE),
        (device.edit(x, op("f2", 2**60)), SyncErrorCode.VALIDATION_FAILED),
        (device.edit(x, op("photo", {"name": "x"})), SyncErrorCode.VALIDATION_FAILED),
        (device.edit(x, op("f2", "ok"), op("nope", "p")), SyncErrorCode.UNKNOWN_PATH),  # atomic: f2 not written
    ]
    answer = await device.push(*[m for m, _ in bad], device.edit(x, op("f5", "1")))
    assert [r.error.code if r.error else None for r in answer.results] == [code for _, code in bad] + [None]
    assert answer.last_mutation_id == 10
    assert await SyncQuarantine.filter(draft_id=x).count() == len(bad)
    assert await fields_of(x) == {"f1": "a", "f5": "1"}  # a string that looks like a number stays a string
    assert (await Draft.get(id=x)).version > version


async def test_remove_item_and_file_references(api: Api) -> None:
    claims = person_claims(api)
    d1, d2 = Device(api, claims), Device(api, claims)
    x = new_draft()
    photo = {"blobSha256": "cd" * 32, "name": "p.png", "size": 10, "mime": "image/png"}
    await d1.push(d1.create(x, op("members/m3/name", "王五"), op("members/m1/name", "甲"), op("photo", photo)))
    assert [r.sha256 for r in await DraftBlobRef.filter(draft_id=x)] == ["cd" * 32]
    seen = {"members/m3/name": "王五"}
    await d2.push(d2.edit(x, op("members/m3/name", "王五五", "王五")))
    remove = FieldOpIn("members/m3", "REMOVE_ITEM", item_hash(seen, "members/m3"))
    conflicted = await d1.push(d1.edit(x, remove))
    result = conflicted.results[0]
    assert result.status is SyncMutationStatus.APPLIED_WITH_CONFLICTS and result.conflicts is not None
    assert result.conflicts[0].path == "members/m3"
    assert result.conflicts[0].server_value == {"members/m3/name": "王五五"}
    assert result.conflicts[0].candidates[0].value is None
    assert (await fields_of(x))["members/m3/name"] == "王五五"  # edit beats remove

    removed = await d1.push(
        d1.edit(x, FieldOpIn("members/m1", "REMOVE_ITEM", item_hash({"members/m1/name": "甲"}, "members/m1")))
    )
    assert removed.results[0].status is SyncMutationStatus.APPLIED
    assert "members/m1/name" not in await fields_of(x)
    cleared = await d1.push(d1.edit(x, op("photo", None, photo)))
    assert cleared.results[0].status is SyncMutationStatus.APPLIED
    assert not await DraftBlobRef.filter(draft_id=x).exists()
    history = await DraftFieldHistory.filter(draft_id=x, path="photo").order_by("version")
    assert [h.value_hash for h in history] == [value_hash(photo), value_hash(None)]


async def test_concurrent_pushes_of_one_space_serialize(api: Api) -> None:
    claims = person_claims(api)
    x = new_draft()
    owner = Device(api, claims)
    await owner.push(owner.create(x))
    start = (await SyncSpace.get(space_id=f"P:{claims.subject}")).version
    devices = [Device(api, claims) for _ in range(4)]
    batches = [[d.edit(x, op(f"members/d{i}x{k}/name", f"{i}-{k}")) for k in range(5)] for i, d in enumerate(devices)]
    answers = await asyncio.gather(*(d.push(*b) for d, b in zip(devices, batches, strict=True)))
    versions = sorted(r.draft_version or 0 for a in answers for r in a.results)
    assert versions == list(range(start + 1, start + 21))  # one version per commit, no two alike
    assert (await SyncSpace.get(space_id=f"P:{claims.subject}")).version == start + 20
    assert len(await fields_of(x)) == 20

    # The same batch sent twice at once is applied once.
    twin = Device(api, claims)
    batch = [twin.edit(x, op("f1", "once")), twin.edit(x, op("f2", "once"))]
    both = await asyncio.gather(twin.push(*batch), twin.push(*batch))
    assert sorted(r.replayed for a in both for r in a.results) == [False, False, True, True] or any(
        a.stop_reason is not None for a in both
    )
    assert await DraftFieldHistory.filter(draft_id=x, path__in=["f1", "f2"]).count() == 2
    assert (await SyncClient.get(client_id=twin.client_id)).last_mutation_id == 2


@pytest.mark.postgres_only
async def test_a_space_locked_elsewhere_times_out_as_server_busy(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from tortoise.transactions import in_transaction

    from sync import spaces

    monkeypatch.setattr(spaces, "LOCK_TIMEOUT_MS", 200)
    device = Device(api, person_claims(api))
    x = new_draft()
    await device.push(device.create(x))
    held, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:  # another process's transaction, as far as this one can tell: its own connection
        async with in_transaction():
            await SyncSpace.select_for_update().get(space_id=f"P:{device.claims.subject}")
            held.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await held.wait()
    try:
        answer = await device.push(device.edit(x, op("f1", "a")))
    finally:
        release.set()
        await holder
    assert answer.stop_reason is not None and answer.stop_reason.code is SyncErrorCode.SERVER_BUSY
    assert answer.last_mutation_id == 1 and answer.results == []
    device.next_id -= 1
    assert (await device.push(device.edit(x, op("f1", "a")))).last_mutation_id == 2
