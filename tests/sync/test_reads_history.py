"""draftHistory (sync-protocol.md §6): one entry per applied field change, ordered by (version, path), paged with
opaque cursors, empty for an unknown or another space's draft."""

from __future__ import annotations

import uuid

import pytest

from api.kit.errors import InvalidInput
from sync.contract import DraftHistoryEntryView, Slice
from sync.merge import value_hash
from sync.reads import draft_history
from tests.support.client import LiveServer
from tests.sync.test_pull_seed import WRITER, Space, deps_of, new_space, write


async def every_page(
    live: LiveServer, space: Space, draft_id: uuid.UUID, first: int
) -> list[Slice[DraftHistoryEntryView]]:
    pages = [await draft_history(deps_of(live), space.claims, str(draft_id), first, None)]
    while pages[-1].has_next_page:
        pages.append(await draft_history(deps_of(live), space.claims, str(draft_id), first, pages[-1].cursors[-1]))
    return pages


def keys(entries: list[DraftHistoryEntryView]) -> list[tuple[int, str]]:
    return [(e.version, e.path) for e in entries]


class TestOrderAndPaging:
    async def test_entries_by_version_then_path_in_code_point_order(self, live: LiveServer) -> None:
        space = new_space()
        # one commit writing several paths; '-' < '/' < 'B' < '_' < 'b' by code point, whatever the collation
        draft = await write(space, values={"a_b": "1", "aB": "2", "a/b": "3", "a-b": "4", "ab": "5"})
        await write(space, draft, {"a-b": None, "z": "6"})
        [page] = await every_page(live, space, draft, 100)
        assert keys(page.items) == [(1, "a-b"), (1, "a/b"), (1, "aB"), (1, "a_b"), (1, "ab"), (2, "a-b"), (2, "z")]
        entry = page.items[5]
        assert (entry.value, entry.value_hash, entry.client_id, entry.mutation_id) == (
            None,
            value_hash(None),
            WRITER,
            2,
        )
        assert page.items[0].value == "4" and not page.has_next_page

    @pytest.mark.parametrize("first", [1, 2, 3, 6])
    async def test_pages_split_inside_and_across_versions_without_gaps(self, live: LiveServer, first: int) -> None:
        space = new_space()
        draft = await write(space, values={f"p{n}": str(n) for n in range(4)})
        await write(space, draft, {"q": "x"})
        await write(space, draft, {"p1": "y", "p0": "z"})
        pages = await every_page(live, space, draft, first)
        served = [e for p in pages for e in p.items]
        expected = [(1, "p0"), (1, "p1"), (1, "p2"), (1, "p3"), (2, "q"), (3, "p0"), (3, "p1")]
        assert keys(served) == expected
        assert [len(p.items) for p in pages[:-1]] == [first] * (len(pages) - 1)
        assert len(pages) == -(-len(expected) // first)
        assert all(len(p.cursors) == len(p.items) for p in pages)

    async def test_first_is_capped_at_100(self, live: LiveServer) -> None:
        space = new_space()
        draft = await write(space, values={f"f{n:03}": "v" for n in range(105)})
        page = await draft_history(deps_of(live), space.claims, str(draft), 1000, None)
        assert (len(page.items), page.has_next_page) == (100, True)
        empty = await draft_history(deps_of(live), space.claims, str(draft), 0, None)
        assert (empty.items, empty.has_next_page) == ([], False)


class TestRefusals:
    async def test_unknown_and_foreign_drafts_are_empty(self, live: LiveServer) -> None:
        space, other = new_space(), new_space()
        draft = await write(other, values={"a": "1"})
        for draft_id in (str(draft), str(uuid.uuid4()), "not-a-uuid"):
            page = await draft_history(deps_of(live), space.claims, draft_id, 20, None)
            assert (page.items, page.cursors, page.has_next_page) == ([], [], False)

    @pytest.mark.parametrize("after", ["garbage!", "WzEsMiwzXQ", "WyJ4IiwieSIsInoiXQ"])  # [1,2,3], ["x","y","z"]
    async def test_a_cursor_of_another_list_is_invalid_input(self, live: LiveServer, after: str) -> None:
        space = new_space()
        draft = await write(space, values={"a": "1"})
        with pytest.raises(InvalidInput):
            await draft_history(deps_of(live), space.claims, str(draft), 20, after)

    async def test_a_negative_first_is_invalid_input(self, live: LiveServer) -> None:
        space = new_space()
        draft = await write(space, values={"a": "1"})
        with pytest.raises(InvalidInput):
            await draft_history(deps_of(live), space.claims, str(draft), -1, None)
