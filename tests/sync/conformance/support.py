"""Shared pieces of the conformance scenarios: the test form, result lookups and the usual setup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.models.sync import Draft, SyncClient
from tests.support.sync_device import SyncDevice

FORM_VERSION = "sync-conformance-1"
FILE: dict[str, Any] = {"type": "object", "x-field-type": "file"}
FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "f1": {"type": "string", "title": "姓名"},
        "f2": {"type": "string", "title": "身份证号"},
        "f5": {"type": "string", "title": "备注"},
        "members": {
            "type": "object",
            "title": "家庭成员",
            "additionalProperties": {"type": "object", "properties": {"name": {"type": "string"}}},
        },
        "photo": FILE,
    },
}


@dataclass(frozen=True)
class SyncItem:
    service_code: str
    form_version: str
    item_id: str


def payload(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["__typename"] == "SyncPushPayload", answer
    return answer


def result(answer: dict[str, Any], mutation_id: int) -> dict[str, Any]:
    found = [r for r in payload(answer)["results"] if r["id"] == mutation_id]
    assert len(found) == 1, f"no single result for mutation {mutation_id}: {answer}"
    only: dict[str, Any] = found[0]
    return only


def statuses(answer: dict[str, Any]) -> list[tuple[int, str]]:
    return [(r["id"], r["status"]) for r in payload(answer)["results"]]


def error_code(answer: dict[str, Any], mutation_id: int) -> str:
    found = result(answer, mutation_id)
    assert found["status"] == "REJECTED" and found["error"] is not None, found
    assert found["error"]["retryable"] is False, found
    code: str = found["error"]["code"]
    return code


async def seeded_draft(item: SyncItem, creator: SyncDevice, values: dict[str, Any], *others: SyncDevice) -> str:
    """A draft with `values`, created and pushed by `creator`; every device has pulled it."""
    draft_id = creator.create_draft(item.service_code, item.form_version, values)
    answer = await creator.push()
    assert [s for _, s in statuses(answer)] == ["APPLIED"], answer
    for device in (creator, *others):
        await device.pull()
        assert device.base[draft_id].fields == values
    return draft_id


async def lmid(device: SyncDevice) -> int:
    client = await SyncClient.get_or_none(client_id=device.client_id)
    return 0 if client is None else client.last_mutation_id


async def server_draft(draft_id: str) -> Draft:
    return await Draft.get(id=draft_id)
