"""What a simulated sync device keeps locally (sync-protocol.md §14): its copy of a draft, the ops it builds, a
pull's pages, the optimistic replay of a pending mutation, client-generated UUIDv7 ids, and the transport that
loses an ACK (§14.2: the request completes on the server, then the caller gets a connection error)."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from sync.merge import item_fields, map_hash


def uuid7() -> str:
    """A UUIDv7 (time-ordered), as the client generates draft ids (§4)."""
    millis = time.time_ns() // 1_000_000
    raw = bytearray(millis.to_bytes(6, "big") + os.urandom(10))
    raw[6] = 0x70 | (raw[6] & 0x0F)
    raw[8] = 0x80 | (raw[8] & 0x3F)
    return str(uuid.UUID(bytes=bytes(raw)))


class LostAckTransport(httpx.AsyncBaseTransport):
    """Lets the next request complete on the server, then raises a connection error instead of answering."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.drop_next = False
        self.dropped: list[httpx.Response] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not self.drop_next:
            return response
        self.drop_next = False
        await response.aread()  # the server has finished: the commit happened, only the answer is lost
        await response.aclose()
        self.dropped.append(response)
        raise httpx.ReadError("connection lost before the response arrived", request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class DraftCopy:
    """A draft as a device holds it: the server-base copy from pulls, or the optimistic view."""

    draft_id: str
    status: str
    service_code: str
    form_version: str
    version: int = 0
    content_hash: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    field_versions: dict[str, int] = field(default_factory=dict)
    open_conflicts: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    quarantined_ops: int = 0
    application_id: str | None = None
    restorable_until: str | None = None
    required_form_version: str | None = None
    status_before_delete: str | None = None


@dataclass(frozen=True)
class Op:
    path: str
    kind: str  # SET | UNSET | REMOVE_ITEM
    value: Any = None


@dataclass
class PullOutcome:
    pages: list[dict[str, Any]]

    @property
    def reset(self) -> bool:
        return bool(self.pages and self.pages[0]["reset"])

    @property
    def drafts(self) -> list[dict[str, Any]]:
        return [d for page in self.pages for d in page["drafts"]]

    @property
    def snapshot_version(self) -> int:
        return int(self.pages[-1]["snapshotVersion"])

    @property
    def cursor(self) -> str:
        cursor: str = self.pages[-1]["cursor"]
        return cursor

    def draft(self, draft_id: str) -> dict[str, Any] | None:
        found = [d for d in self.drafts if d["draftId"] == draft_id]
        return found[-1] if found else None


def apply_locally(draft: DraftCopy | None, mutation: dict[str, Any]) -> DraftCopy | None:
    """What the device shows before the server answers: the user's intent, conflicts aside."""
    kind = mutation["type"]
    if kind == "CREATE_DRAFT" and draft is None:
        draft = DraftCopy(mutation["draftId"], "EDITING", mutation["serviceCode"], mutation["formVersion"])
    if draft is None:
        return None
    if kind in ("CREATE_DRAFT", "EDIT", "RESOLVE_CONFLICT") and draft.status in ("EDITING", "CORRECTION"):
        for op in mutation.get("ops") or []:
            if op["kind"] == "SET":
                draft.fields[op["path"]] = op["value"]
            elif op["kind"] == "UNSET":
                draft.fields.pop(op["path"], None)
            else:
                for path in item_fields(draft.fields, op["path"]):
                    draft.fields.pop(path)
    elif kind == "DELETE_DRAFT" and draft.status != "DELETED":
        draft.status_before_delete, draft.status = draft.status, "DELETED"
    elif kind == "RESTORE_DRAFT" and draft.status == "DELETED":
        draft.status = draft.status_before_delete or "EDITING"
    draft.content_hash = map_hash(draft.fields)
    return draft
