"""S18–S21 and S23 (sync-protocol.md §14): oversized and malformed input, a transient database failure, a poison
pill and an unknown form version (§8.1, §8.2, §12, §13). Never a 500; LMID is right afterwards."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise.exceptions import DBConnectionError

from api.models.sync import SyncSpace
from sync import template_registry
from sync.merge import NULL_HASH, value_hash
from sync.templates import derive
from tests.support.client import Session
from tests.support.sync_device import PUSH, SyncDevice
from tests.support.sync_invariants import check_invariants
from tests.sync.conformance.conftest import OpenDevice
from tests.sync.conformance.support import (
    FORM_SCHEMA,
    SyncItem,
    error_code,
    lmid,
    payload,
    result,
    seeded_draft,
    statuses,
)


async def space_version(device: SyncDevice) -> int:
    return int((await SyncSpace.get(space_id=device.space_id)).version)


def edit(mutation_id: int, draft_id: str, item: SyncItem, path: str = "f5", **op: Any) -> dict[str, Any]:
    entry = {"path": path, "kind": "SET", "value": f"值{mutation_id}", "baseHash": NULL_HASH, **op}
    return {
        "id": mutation_id,
        "draftId": draft_id,
        "type": "EDIT",
        "formVersion": item.form_version,
        "ops": [{k: v for k, v in entry.items() if v is not ...}],
    }


def graphql_error(response: Any) -> list[dict[str, Any]]:
    assert response.status_code in (200, 400), response.text
    body = response.json()
    assert body.get("data") is None and body["errors"], body
    errors: list[dict[str, Any]] = body["errors"]
    return errors


async def test_s18_oversized_payload(sync_item: SyncItem, person: Session, open_device: OpenDevice) -> None:
    d1 = await open_device(person)
    draft_id = await seeded_draft(sync_item, d1, {"f1": "a"})
    before = (await space_version(d1), await lmid(d1))

    too_many = await d1.push_raw([edit(2 + i, draft_id, sync_item) for i in range(101)])
    assert too_many["__typename"] == "SyncPushRejected", too_many
    assert too_many["code"] == "PAYLOAD_TOO_LARGE"

    huge = {"input": {**d1.push_input(), "mutations": [edit(2, draft_id, sync_item, value="大" * (700 * 1024))]}}
    response = await d1.post({"query": PUSH, "variables": huge})
    assert response.status_code == 413, response.status_code

    selections = "__typename " * 6000
    tokens = await d1.post(
        {
            "query": f"mutation($input: SyncPushInput!) {{ syncPush(input: $input) {{ {selections} }} }}",
            "variables": {"input": d1.push_input([])},
        }
    )
    graphql_error(tokens)
    aliases = " ".join(f"a{i}: __typename" for i in range(50))
    aliased = await d1.post(
        {
            "query": f"mutation($input: SyncPushInput!) {{ syncPush(input: $input) {{ {aliases} }} }}",
            "variables": {"input": {**d1.push_input(), "mutations": [edit(2, draft_id, sync_item)]}},
        }
    )
    graphql_error(aliased)
    assert (await space_version(d1), await lmid(d1)) == before

    small = d1.set(draft_id, "f1", "小")
    large = d1.set(draft_id, "f5", "x" * (65 * 1024))
    after = d1.set(draft_id, "f2", "小2")
    answer = await d1.push()
    assert error_code(answer, large) == "VALUE_TOO_LARGE"
    assert (result(answer, small)["status"], result(answer, after)["status"]) == ("APPLIED", "APPLIED")
    assert payload(answer)["lastMutationId"] == after
    [entry] = await d1.quarantined(draft_id)
    assert (entry["mutationId"], entry["reason"]) == (large, "VALUE_TOO_LARGE")
    await check_invariants(d1)


async def test_s19_malformed_payload(sync_item: SyncItem, person: Session, open_device: OpenDevice) -> None:
    d1 = await open_device(person)
    draft_id = await seeded_draft(sync_item, d1, {"f1": "a"})
    before = (await space_version(d1), await lmid(d1))
    headers = {**d1.api.headers(d1.token), "content-type": "application/json"}

    broken = await d1.api.http.post("/graphql", content=b'{"query": "mutation {', headers=headers)
    assert broken.status_code == 400, broken.text
    for bad in ({"id": "1"}, {"type": "FROB"}):
        mutation = {**edit(2, draft_id, sync_item), **bad}
        graphql_error(
            await d1.post({"query": PUSH, "variables": {"input": {**d1.push_input(), "mutations": [mutation]}}})
        )

    without_value = edit(2, draft_id, sync_item, value=...)
    invalid: list[tuple[dict[str, Any], list[str]]] = [
        ({**edit(2, draft_id, sync_item), "id": 0}, ["mutations", "0", "id"]),
        ({**edit(2, draft_id, sync_item), "id": -1}, ["mutations", "0", "id"]),
        ({**edit(2, draft_id, sync_item), "draftId": "not-a-uuid"}, ["mutations", "0", "draftId"]),
        (without_value, ["mutations", "0", "ops", "0", "value"]),
    ]
    for mutation, path in invalid:
        refused = await d1.push_raw([mutation])
        assert refused["__typename"] == "SyncPushRejected", refused
        assert (refused["code"], refused["path"]) == ("INVALID_BATCH", path), refused
        assert refused["clientLastMutationId"] == before[1]
    old_client = await d1.push_raw([edit(2, draft_id, sync_item)], protocolVersion=0)
    assert (old_client["__typename"], old_client["code"]) == ("SyncPushRejected", "CLIENT_UPGRADE_REQUIRED")
    newer_client = await d1.push_raw([edit(2, draft_id, sync_item)], protocolVersion=2)
    assert (newer_client["__typename"], newer_client["code"]) == ("SyncPushRejected", "SERVER_BUSY")
    assert newer_client["retryAfterMs"] is not None and newer_client["retryAfterMs"] > 0
    assert (await space_version(d1), await lmid(d1)) == before

    long_path = "/".join(["a" * 60] * 5)
    bad_paths = ["__proto__", "../x", long_path, "fax"]
    ids = [d1.set(draft_id, path, "v") for path in bad_paths]
    answer = await d1.push()
    assert [error_code(answer, m) for m in ids] == ["UNKNOWN_PATH"] * 4
    assert payload(answer)["lastMutationId"] == ids[-1] == await lmid(d1)
    good = d1.set(draft_id, "f1", "b")
    assert result(await d1.push(), good)["status"] == "APPLIED"
    await check_invariants(d1)


async def test_s20_transient_database_failure_mid_batch(
    sync_item: SyncItem, person: Session, open_device: OpenDevice
) -> None:
    d1 = await open_device(person)
    deps = d1.api.live.app.state.services.sync

    async def fail_at_ten(mutation_id: int) -> None:
        if mutation_id == 10:
            raise DBConnectionError("connection refused (fault injection)")

    draft_id = d1.create_draft(sync_item.service_code, sync_item.form_version)
    for n in range(2, 21):
        d1.set(draft_id, "f5", f"第{n}次")
    deps.fault_hook = fail_at_ten
    try:
        stopped = payload(await d1.push())
    finally:
        deps.fault_hook = None
    assert [r["id"] for r in stopped["results"]] == list(range(1, 10))
    assert stopped["stoppedAt"] == 10 and stopped["lastMutationId"] == 9
    assert stopped["stopReason"]["code"] == "SERVER_BUSY" and stopped["stopReason"]["retryable"] is True
    assert stopped["retryAfterMs"] is not None and stopped["retryAfterMs"] >= 500
    assert await lmid(d1) == 9

    retried = payload(await d1.push())
    assert statuses(retried) == [(n, "APPLIED") for n in range(10, 21)]
    assert retried["lastMutationId"] == 20 and retried["stoppedAt"] is None
    await d1.pull()
    assert d1.base[draft_id].fields == {"f5": "第20次"}
    await check_invariants(d1)


@pytest.fixture
def old_form(sync_item: SyncItem) -> str:
    """A previous form version of the item that still had a `fax` field, as an old client build knows it."""
    version = "sync-conformance-0"
    schema = {**FORM_SCHEMA, "properties": {**FORM_SCHEMA["properties"], "fax": {"type": "string"}}}
    template_registry.register(derive(sync_item.service_code, version, schema))
    return version


async def test_s21_poison_pill(sync_item: SyncItem, person: Session, open_device: OpenDevice, old_form: str) -> None:
    d1 = await open_device(person)
    draft_id = d1.create_draft(sync_item.service_code, sync_item.form_version)
    d1.set(draft_id, "f1", "一")
    poison = d1.set(draft_id, "fax", "0991-1234567", form_version=old_form)
    rest = [d1.set(draft_id, "f2", "二"), d1.set(draft_id, "f5", "三"), d1.set(draft_id, "members/k1/name", "四")]
    answer = await d1.push()
    assert error_code(answer, poison) == "UNKNOWN_PATH"
    assert [result(answer, m)["status"] for m in rest] == ["APPLIED"] * 3
    assert payload(answer)["lastMutationId"] == rest[-1]
    [entry] = await d1.quarantined(draft_id)
    assert (entry["mutationId"], entry["reason"], entry["draftId"]) == (poison, "UNKNOWN_PATH", draft_id)
    assert entry["mutation"]["ops"][0]["path"] == "fax"
    pulled = await d1.pull()
    change = pulled.draft(draft_id)
    assert change is not None and change["quarantinedOps"] == 1
    assert d1.base[draft_id].fields == {"f1": "一", "f2": "二", "f5": "三", "members/k1/name": "四"}

    later = d1.set(draft_id, "f1", "不卡住")
    assert result(await d1.push(), later)["status"] == "APPLIED"
    acknowledged = await d1.acknowledge(draft_id, [entry["id"]])
    assert acknowledged["__typename"] == "QuarantinedOpsAcknowledged" and acknowledged["removed"] == 1
    assert int(acknowledged["draftVersion"]) > d1.base[draft_id].version  # the count a pull returns changed
    pulled = await d1.pull()
    change = pulled.draft(draft_id)
    assert change is not None and change["quarantinedOps"] == 0
    await check_invariants(d1)


async def test_s23_unknown_newer_form_version(sync_item: SyncItem, person: Session, open_device: OpenDevice) -> None:
    d1 = await open_device(person)
    draft_id = await seeded_draft(sync_item, d1, {"f1": "a"})
    before = await space_version(d1)
    newer = d1.set(draft_id, "f1", "新版本", form_version="v3")
    assert d1.mutations[newer]["ops"][0]["baseHash"] == value_hash("a")
    stopped = payload(await d1.push())
    assert (stopped["stoppedAt"], stopped["results"], stopped["lastMutationId"]) == (newer, [], newer - 1)
    assert stopped["stopReason"]["code"] == "FORM_VERSION_UNKNOWN" and stopped["stopReason"]["retryable"] is True
    assert await lmid(d1) == newer - 1 and await space_version(d1) == before

    template_registry.register(derive(sync_item.service_code, "v3", FORM_SCHEMA))
    assert statuses(await d1.push()) == [(newer, "APPLIED")]
    await d1.pull()
    assert d1.base[draft_id].fields == {"f1": "新版本"}
    assert d1.base[draft_id].form_version == sync_item.form_version
    await check_invariants(d1)
