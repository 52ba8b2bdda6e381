"""quarantinedOps and acknowledgeQuarantinedOps (sync-protocol.md §6, decision 5): the draft's unacknowledged
entries oldest first; acknowledging removes them under the space serialization and bumps the versions, so the
pulled count syncs."""

from __future__ import annotations

import uuid

import pytest

from api.kit.errors import InvalidInput
from api.models.sync import Draft, SyncQuarantine
from sync.contract import AcknowledgeRejected, QuarantineAcknowledged, SyncErrorCode
from sync.reads import acknowledge_quarantined_ops, quarantined_ops
from tests.support.client import LiveServer
from tests.sync.test_pull_cursor import pull_page, synced
from tests.sync.test_pull_seed import Space, add_client, deps_of, new_space, quarantine, space_row, write


async def seeded(space: Space) -> tuple[uuid.UUID, list[uuid.UUID]]:
    draft = await write(space, values={"a": "1"})
    entries = [
        await quarantine(space, draft, n, ops=[{"path": "a", "kind": "SET", "value": str(n)}]) for n in (3, 4, 5)
    ]
    return draft, entries


async def oldest_first(draft: uuid.UUID) -> list[uuid.UUID]:
    rows = await SyncQuarantine.filter(draft_id=draft).order_by("created_at", "id")
    return [r.id for r in rows]


class TestList:
    async def test_pages_oldest_first_with_the_original_mutation(self, live: LiveServer) -> None:
        space = new_space()
        draft, entries = await seeded(space)
        await quarantine(space, await write(space, values={"b": "1"}), 9)  # another draft's entry
        deps = deps_of(live)
        first = await quarantined_ops(deps, space.claims, str(draft), 2, None)
        rest = await quarantined_ops(deps, space.claims, str(draft), 2, first.cursors[-1])
        assert (first.has_next_page, rest.has_next_page) == (True, False)
        served = first.items + rest.items
        assert [e.id for e in served] == await oldest_first(draft) and set(entries) == {e.id for e in served}
        entry = next(e for e in served if e.mutation_id == 4)
        assert (entry.draft_id, entry.reason, entry.message) == (
            draft,
            SyncErrorCode.DRAFT_DELETED,
            "the draft is deleted",
        )
        assert entry.mutation == {
            "id": 4,
            "draftId": str(draft),
            "type": "EDIT",
            "ops": [{"path": "a", "kind": "SET", "value": "4"}],
        }

    async def test_unknown_and_foreign_drafts_are_empty(self, live: LiveServer) -> None:
        owner, stranger = new_space(), new_space()
        draft, _ = await seeded(owner)
        for draft_id in (str(draft), str(uuid.uuid4()), "x"):
            page = await quarantined_ops(deps_of(live), stranger.claims, draft_id, 20, None)
            assert (page.items, page.has_next_page) == ([], False)

    async def test_a_bad_cursor_is_invalid_input(self, live: LiveServer) -> None:
        space = new_space()
        draft, _ = await seeded(space)
        with pytest.raises(InvalidInput):
            await quarantined_ops(deps_of(live), space.claims, str(draft), 20, "WzEsMl0")


class TestAcknowledge:
    async def test_removes_only_this_drafts_entries_and_bumps_the_versions(self, live: LiveServer) -> None:
        space = new_space()
        client_id = await add_client(space)
        draft, entries = await seeded(space)
        other_draft = await write(space, values={"b": "1"})
        strangers = await quarantine(space, other_draft, 9)
        token = await synced(live, space, client_id)
        version = (await space_row(space)).version
        ids = [str(entries[0]), str(entries[2]), str(strangers), str(uuid.uuid4()), "not-an-id"]
        answer = await acknowledge_quarantined_ops(deps_of(live), space.claims, str(draft), ids)
        assert answer == QuarantineAcknowledged(removed=2, draft_version=version + 1)
        assert await oldest_first(draft) == [entries[1]] and await oldest_first(other_draft) == [strangers]
        assert ((await space_row(space)).version, (await Draft.get(id=draft)).version) == (version + 1, version + 1)
        [change] = (await pull_page(live, space, client_id, token)).drafts
        assert (change.draft_id, change.quarantined_ops, change.fields) == (draft, 1, [])

    async def test_nothing_to_remove_changes_no_version(self, live: LiveServer) -> None:
        space = new_space()
        draft, entries = await seeded(space)
        await acknowledge_quarantined_ops(deps_of(live), space.claims, str(draft), [str(entries[0])])
        version = (await space_row(space)).version
        again = await acknowledge_quarantined_ops(deps_of(live), space.claims, str(draft), [str(entries[0])])
        assert again == QuarantineAcknowledged(removed=0, draft_version=version)
        assert (await space_row(space)).version == version

    async def test_unknown_or_foreign_draft_is_not_found(self, live: LiveServer) -> None:
        owner, stranger = new_space(), new_space()
        draft, entries = await seeded(owner)
        for draft_id in (str(draft), str(uuid.uuid4()), "x"):
            answer = await acknowledge_quarantined_ops(deps_of(live), stranger.claims, draft_id, [str(entries[0])])
            assert isinstance(answer, AcknowledgeRejected) and answer.code == "NOT_FOUND"
        assert len(await oldest_first(draft)) == 3

    async def test_more_than_100_ids_is_invalid_input(self, live: LiveServer) -> None:
        space = new_space()
        draft, entries = await seeded(space)
        ids = [str(entries[0])] + [str(uuid.uuid4()) for _ in range(100)]
        answer = await acknowledge_quarantined_ops(deps_of(live), space.claims, str(draft), ids)
        assert answer == AcknowledgeRejected("INVALID_INPUT", answer.message, ["ids"])  # type: ignore[union-attr]
        assert len(await oldest_first(draft)) == 3
