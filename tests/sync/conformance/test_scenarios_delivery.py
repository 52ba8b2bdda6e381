"""S01–S05 (sync-protocol.md §14): exactly-once delivery of a client's mutation stream (§8.1, §8.2)."""

from __future__ import annotations

import httpx
import pytest

from api.models.sync import DraftFieldHistory, SyncMutationResult, SyncSpace
from sync.merge import value_hash
from tests.support.client import Session
from tests.support.sync_device import SyncDevice
from tests.support.sync_invariants import check_invariants
from tests.sync.conformance.conftest import OpenDevice
from tests.sync.conformance.support import SyncItem, lmid, payload, statuses


async def space_version(device: SyncDevice) -> int:
    space = await SyncSpace.get(space_id=device.space_id)
    return int(space.version)


async def three_mutations(item: SyncItem, device: SyncDevice) -> str:
    draft_id = device.create_draft(item.service_code, item.form_version)
    device.set(draft_id, "f1", "张三")
    device.set(draft_id, "f2", "110101199001011234")
    return draft_id


def history_paths(history: list[dict[str, object]]) -> list[object]:
    return sorted(entry["path"] for entry in history)  # type: ignore[type-var]


async def test_s01_same_push_replayed_twice(sync_item: SyncItem, person: Session, open_device: OpenDevice) -> None:
    d1 = await open_device(person)
    draft_id = await three_mutations(sync_item, d1)
    first = await d1.push()
    assert statuses(first) == [(1, "APPLIED"), (2, "APPLIED"), (3, "APPLIED")]
    assert [r["replayed"] for r in first["results"]] == [False, False, False]
    pulled = await d1.pull()
    assert d1.base[draft_id].fields == {"f1": "张三", "f2": "110101199001011234"}
    version_after_first = await space_version(d1)

    second = payload(await d1.resend_last())
    assert second["lastMutationId"] == 3
    assert [(r["id"], r["status"], r["replayed"]) for r in second["results"]] == [
        (1, "APPLIED", True),
        (2, "APPLIED", True),
        (3, "APPLIED", True),
    ]
    assert [r["draftVersion"] for r in second["results"]] == [r["draftVersion"] for r in first["results"]]
    assert await space_version(d1) == version_after_first

    again = await d1.pull(pulled.cursor)
    assert again.drafts == []
    assert again.snapshot_version == pulled.snapshot_version
    history = await d1.history(draft_id)
    assert [(h["path"], h["value"], h["valueHash"], h["version"], h["clientId"], h["mutationId"]) for h in history] == [
        ("f1", "张三", value_hash("张三"), "2", d1.client_id, 2),
        ("f2", "110101199001011234", value_hash("110101199001011234"), "3", d1.client_id, 3),
    ]
    assert all(str(h["at"]).endswith("+08:00") for h in history)  # DateTime is rendered in Asia/Shanghai

    # Results acknowledged through ackResultsThrough are gone: a replay then answers NOOP, still replayed.
    acked = payload(await d1.ack_results(3))
    assert [(r["id"], r["status"], r["replayed"]) for r in acked["results"]] == [(3, "NOOP", True)]
    assert not await SyncMutationResult.filter(client_id=d1.client_id).exists()
    assert await space_version(d1) == version_after_first
    await check_invariants(d1)


async def test_s02_lost_ack(sync_item: SyncItem, person: Session, open_device: OpenDevice) -> None:
    d1 = await open_device(person)
    draft_id = await three_mutations(sync_item, d1)
    with pytest.raises(httpx.TransportError):
        await d1.push(lose_ack=True)
    assert d1.transport.dropped and d1.transport.dropped[0].status_code == 200
    assert await lmid(d1) == 3  # the request committed on the server; only its answer was lost

    retry = payload(await d1.push())
    assert retry["lastMutationId"] == 3
    assert [(r["id"], r["status"], r["replayed"]) for r in retry["results"]] == [
        (1, "APPLIED", True),
        (2, "APPLIED", True),
        (3, "APPLIED", True),
    ]
    history = await d1.history(draft_id)
    assert history_paths(history) == ["f1", "f2"]
    assert [(h["mutationId"], h["value"]) for h in sorted(history, key=lambda h: str(h["path"]))] == [
        (2, "张三"),
        (3, "110101199001011234"),
    ]
    # The state of a single application: three commits, so the space is at version 3.
    assert await space_version(d1) == 3
    await d1.pull()
    assert d1.base[draft_id].fields == {"f1": "张三", "f2": "110101199001011234"}
    assert d1.base[draft_id].version == 3
    await check_invariants(d1)


async def test_s03_overlapping_batch(sync_item: SyncItem, person: Session, open_device: OpenDevice) -> None:
    d1 = await open_device(person)
    draft_id = await three_mutations(sync_item, d1)
    assert payload(await d1.push())["lastMutationId"] == 3
    await d1.pull()
    before = await space_version(d1)
    d1.set(draft_id, "f1", "李四")
    d1.set(draft_id, "f5", "备注")

    answer = payload(await d1.push([2, 3, 4, 5]))
    assert answer["lastMutationId"] == 5
    assert [(r["id"], r["status"], r["replayed"]) for r in answer["results"]] == [
        (2, "APPLIED", True),
        (3, "APPLIED", True),
        (4, "APPLIED", False),
        (5, "APPLIED", False),
    ]
    assert await space_version(d1) == before + 2
    assert await DraftFieldHistory.filter(draft_id=draft_id, mutation_id__in=[2, 3]).count() == 2
    await d1.pull()
    assert d1.base[draft_id].fields == {"f1": "李四", "f2": "110101199001011234", "f5": "备注"}
    await check_invariants(d1)


async def five_applied(item: SyncItem, device: SyncDevice) -> str:
    draft_id = await three_mutations(item, device)
    device.set(draft_id, "f5", "一")
    device.set(draft_id, "f5", "二")
    assert payload(await device.push())["lastMutationId"] == 5
    return draft_id


async def test_s04_gap(sync_item: SyncItem, person: Session, open_device: OpenDevice) -> None:
    d1 = await open_device(person)
    draft_id = await five_applied(sync_item, d1)
    before = await space_version(d1)
    for value in ("三", "四", "五"):
        d1.set(draft_id, "f5", value)

    gap = payload(await d1.push([7, 8]))
    assert gap["stopReason"] is not None and gap["stopReason"]["code"] == "OUT_OF_ORDER"
    assert gap["stopReason"]["retryable"] is True
    assert (gap["stoppedAt"], gap["results"], gap["lastMutationId"]) == (7, [], 5)
    assert await space_version(d1) == before and await lmid(d1) == 5

    filled = payload(await d1.push([6, 7, 8]))
    assert statuses(filled) == [(6, "APPLIED"), (7, "APPLIED"), (8, "APPLIED")]
    assert (filled["lastMutationId"], filled["stoppedAt"], filled["stopReason"]) == (8, None, None)
    await d1.pull()
    assert d1.base[draft_id].fields["f5"] == "五"
    await check_invariants(d1)


@pytest.mark.parametrize(("order", "bad_index"), [([6, 8, 7], "1"), ([6, 6], "1"), ([6, 8], "1")])
async def test_s05_non_monotonic_or_duplicate_ids(
    sync_item: SyncItem, person: Session, open_device: OpenDevice, order: list[int], bad_index: str
) -> None:
    d1 = await open_device(person)
    draft_id = await five_applied(sync_item, d1)
    before = await space_version(d1)
    for value in ("三", "四", "五"):
        d1.set(draft_id, "f5", value)

    refused = await d1.push(order)
    assert refused["__typename"] == "SyncPushRejected", refused
    assert refused["code"] == "INVALID_BATCH"
    assert refused["path"] == ["mutations", bad_index, "id"]
    assert refused["clientLastMutationId"] == 5
    assert await space_version(d1) == before and await lmid(d1) == 5

    answer = payload(await d1.push([6, 7, 8]))
    assert answer["lastMutationId"] == 8
    await check_invariants(d1)
