"""What a pulled draft carries besides its fields (sync-protocol.md §6 DraftChange, §8.4, §11.4): complete open
conflicts with candidates, attachments, the quarantine count, tombstones."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from api.models.sync import AttachmentStatus, Blob, BlobStatus, ConflictStatus, DraftConflict, DraftStatus
from sync import template_registry
from sync.merge import map_hash, value_hash
from sync.templates import derive
from tests.support.client import LiveServer
from tests.sync.test_pull_cursor import pull_page, synced
from tests.sync.test_pull_seed import (
    add_client,
    delete,
    new_space,
    open_conflict,
    quarantine,
    reference_blob,
    write,
)

SHA_A, SHA_B = "a" * 64, "b" * 64
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "fax": {"type": "string"},
        "members": {
            "type": "object",
            "additionalProperties": {"type": "object", "properties": {"nm": {"type": "string"}}},
        },
    },
}


class TestConflicts:
    async def test_open_conflicts_are_complete_in_every_delta(self, live: LiveServer) -> None:
        space = new_space()
        client_id = await add_client(space)
        draft = await write(space, values={"f1": "A1", "members/m3/name": "李四", "members/m3/age": "30"})
        field_conflict = await open_conflict(space, draft, "f1", ["A2", "A3"])
        item_conflict = await open_conflict(space, draft, "members/m3", [None])
        closed = await open_conflict(space, draft, "f1x", ["z"])
        await DraftConflict.filter(id=closed).update(status=ConflictStatus.RESOLVED)
        token = await synced(live, space, client_id)
        await write(space, draft, {"other": "x"})  # a delta that touches neither conflict
        page = await pull_page(live, space, client_id, token)
        [change] = page.drafts
        assert not change.full
        conflicts = {c.id: c for c in change.open_conflicts}
        assert set(conflicts) == {field_conflict, item_conflict}
        on_field = conflicts[field_conflict]
        assert (on_field.path, on_field.server_value, on_field.server_hash) == ("f1", "A1", value_hash("A1"))
        assert [(c.value, c.value_hash) for c in on_field.candidates] == [
            ("A2", value_hash("A2")),
            ("A3", value_hash("A3")),
        ]
        # edit beat remove: the server side of an item conflict is the item's {path: value} map
        on_item = conflicts[item_conflict]
        item = {"members/m3/age": "30", "members/m3/name": "李四"}
        assert (on_item.server_value, on_item.server_hash) == (item, map_hash(item))
        assert [(c.value, c.value_hash) for c in on_item.candidates] == [(None, value_hash(None))]

    async def test_with_its_template_known_a_conflict_on_an_unwritten_field_holds_null(self, live: LiveServer) -> None:
        # The draft's form names `fax` a field and `members/*` a group: the template decides, as the push does.
        service = f"S{uuid.uuid4().hex[:12]}"
        template_registry.register(derive(service, "1", SCHEMA))
        space = new_space()
        draft = await write(space, values={"members/m3/nm": "王五"}, service_code=service, form_version="1")
        on_field = await open_conflict(space, draft, "fax", ["010"])
        on_item = await open_conflict(space, draft, "members/m3", [None])
        [change] = (await pull_page(live, space, uuid.uuid4(), None)).drafts
        sides = {c.id: (c.server_value, c.server_hash) for c in change.open_conflicts}
        item = {"members/m3/nm": "王五"}
        assert sides == {on_field: (None, value_hash(None)), on_item: (item, map_hash(item))}


class TestAttachmentsAndQuarantine:
    async def test_attachments_and_the_quarantine_count(self, live: LiveServer) -> None:
        space = new_space()
        client_id = await add_client(space)
        file = {"blobSha256": SHA_A, "name": "a.jpg", "size": 3, "mime": "image/jpeg"}
        draft = await write(space, values={"photo": file, "scan": {**file, "blobSha256": SHA_B}})
        await reference_blob(draft, "photo", SHA_A)
        await reference_blob(draft, "scan", SHA_B)
        await Blob.create(
            space_id=space.space_id,
            sha256=SHA_A,
            storage_key="k",
            size=3,
            mime="image/jpeg",
            status=BlobStatus.COMPLETE,
        )
        await quarantine(space, draft, 4)
        await quarantine(space, draft, 5)
        other_space = new_space()
        await quarantine(other_space, draft, 6)  # another space's entry never counts here
        token = await synced(live, space, client_id)
        await write(space, draft, {"note": "x"})
        [change] = (await pull_page(live, space, client_id, token)).drafts
        assert [(a.path, a.blob_sha256, a.status) for a in change.attachments] == [
            ("photo", SHA_A, AttachmentStatus.COMPLETE),
            ("scan", SHA_B, AttachmentStatus.PENDING),
        ]
        assert change.quarantined_ops == 2


class TestStatus:
    async def test_a_deleted_draft_is_pulled_as_a_tombstone(self, live: LiveServer) -> None:
        space = new_space()
        client_id = await add_client(space)
        draft = await write(space, values={"a": "1"})
        token = await synced(live, space, client_id)
        deleted_at = datetime(2026, 11, 1, tzinfo=UTC)
        await delete(space, draft, deleted_at)
        [change] = (await pull_page(live, space, client_id, token)).drafts
        assert (change.status, change.restorable_until) == (DraftStatus.DELETED, datetime(2026, 12, 1, tzinfo=UTC))
        assert change.fields == [] and change.removed_paths == []

    async def test_submitted_and_migrated_drafts_carry_their_ids(self, live: LiveServer) -> None:
        space = new_space()
        application_id = uuid.uuid4()
        draft = await write(
            space,
            values={"a": "1"},
            status=DraftStatus.SUBMITTED,
            application_id=application_id,
            required_form_version="v2",
        )
        [change] = (await pull_page(live, space, uuid.uuid4(), None)).drafts
        assert (change.draft_id, change.status, change.application_id, change.required_form_version) == (
            draft,
            DraftStatus.SUBMITTED,
            application_id,
            "v2",
        )


class TestQueryCount:
    async def test_a_page_costs_the_same_queries_for_4_drafts_as_for_40(
        self, live: LiveServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        # No query per draft (N+1): fields, conflicts, candidates, blob refs and quarantine counts are batched.
        async def queries_for(drafts: int) -> int:
            space = new_space()
            for n in range(drafts):
                draft = await write(space, values={f"f{k}": f"{n}-{k}" for k in range(5)})
                await open_conflict(space, draft, "f1", ["x"])
                await reference_blob(draft, "photo", SHA_A)
                await quarantine(space, draft, n + 1)
            caplog.clear()
            with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
                page = await pull_page(live, space, uuid.uuid4(), None, limit=drafts)
            assert len(page.drafts) == drafts and all(d.open_conflicts and d.attachments for d in page.drafts)
            return len([r for r in caplog.records if r.name == "tortoise.db_client"])

        few, many = await queries_for(4), await queries_for(40)
        assert few == many and few > 5  # the page's reads were really counted
