"""Pull pages (sync-protocol.md §9, §13): paging by limit and bytes, full versus delta, removed paths, a write
during a cycle, the clients list, ownership and the protocol window."""

from __future__ import annotations

import uuid
from typing import Any

from api.models.sync import SyncSpace
from sync import cursor
from sync.contract import MIN_PULL_BYTES, PullPayload, PullRejected, PullRequest
from sync.pull import pull
from tests.support.client import LiveServer
from tests.sync.test_pull_cursor import pull_page, synced
from tests.sync.test_pull_seed import Space, add_client, deps_of, new_space, space_row, write


async def pull_cycle(
    live: LiveServer, space: Space, client_id: uuid.UUID, token: str | None, **kw: Any
) -> list[PullPayload]:
    pages = [await pull_page(live, space, client_id, token, **kw)]
    while pages[-1].has_more:
        pages.append(await pull_page(live, space, client_id, pages[-1].cursor, **kw))
    return pages


def field_map(page: PullPayload, draft_id: uuid.UUID) -> dict[str, Any]:
    [change] = [d for d in page.drafts if d.draft_id == draft_id]
    return {f.path: f.value for f in change.fields}


class TestSpaceAndCycle:
    async def test_first_pull_of_a_new_space_creates_it_at_version_zero(self, live: LiveServer) -> None:
        space = new_space()
        page = await pull_page(live, space, uuid.uuid4(), None)
        row = await space_row(space)
        assert (row.version, page.snapshot_version, page.drafts, page.has_more) == (0, 0, [], False)
        assert page.reset and page.server_epoch == row.epoch

    async def test_an_unchanged_space_pulls_nothing_with_the_same_snapshot_version(self, live: LiveServer) -> None:
        space = new_space()
        client_id = await add_client(space)
        await write(space, values={"a": "1"})
        token = await synced(live, space, client_id)
        first = await pull_page(live, space, client_id, token)
        again = await pull_page(live, space, client_id, first.cursor)
        assert first.drafts == again.drafts == [] and first.snapshot_version == again.snapshot_version == 1


class TestPaging:
    async def test_limit_pages_in_version_order_with_one_pinned_snapshot_version(self, live: LiveServer) -> None:
        space = new_space()
        client_id = await add_client(space)
        drafts = [await write(space, values={"n": str(n)}) for n in range(5)]
        pages = await pull_cycle(live, space, client_id, None, limit=2)
        assert [[d.draft_id for d in p.drafts] for p in pages] == [drafts[0:2], drafts[2:4], drafts[4:]]
        assert [p.has_more for p in pages] == [True, True, False]
        assert [p.reset for p in pages] == [True, False, False]
        assert {p.snapshot_version for p in pages} == {5}
        # values come back as they were written: "0" stays a string, never the number 0
        assert field_map(pages[0], drafts[0]) == {"n": "0"}

    async def test_limit_is_clamped_to_1_and_200(self, live: LiveServer) -> None:
        space = new_space()
        client_id = await add_client(space)
        for n in range(3):
            await write(space, values={"n": str(n)})
        assert len((await pull_page(live, space, client_id, None, limit=0)).drafts) == 1
        assert len((await pull_page(live, space, client_id, None, limit=-5)).drafts) == 1
        assert len((await pull_page(live, space, client_id, None, limit=10_000)).drafts) == 3

    async def test_max_bytes_cuts_a_page_but_always_serves_one_draft(self, live: LiveServer) -> None:
        space = new_space()
        client_id = await add_client(space)
        big = "x" * 40_000
        small = await write(space, values={"a": "1"})
        large = await write(space, values={"a": big})
        huge = await write(space, values={"a": big, "b": big, "c": big})  # alone above 64 KiB
        tail = await write(space, values={"a": "2"})
        # max_bytes=1 is clamped up to 64 KiB: small + large fit, huge alone, then tail
        pages = await pull_cycle(live, space, client_id, None, max_bytes=1)
        assert [[d.draft_id for d in p.drafts] for p in pages] == [[small, large], [huge], [tail]]
        assert MIN_PULL_BYTES == 64 * 1024
        one_page = await pull_cycle(live, space, client_id, None, max_bytes=10**9)
        assert [len(p.drafts) for p in one_page] == [4]


class TestFullAndDelta:
    async def test_new_drafts_are_full_and_edited_ones_send_only_their_changes(self, live: LiveServer) -> None:
        space = new_space()
        client_id = await add_client(space)
        old = await write(space, values={"a": "1", "b": "2", "c": "3"})
        token = await synced(live, space, client_id)
        await write(space, old, {"b": "B", "c": None})
        new = await write(space, values={"x": "1", "y": None})
        [page] = await pull_cycle(live, space, client_id, token)
        changes = {d.draft_id: d for d in page.drafts}
        assert (changes[old].full, field_map(page, old), changes[old].removed_paths) == (False, {"b": "B"}, ["c"])
        assert (changes[new].full, field_map(page, new), changes[new].removed_paths) == (True, {"x": "1"}, [])
        assert changes[old].content_hash != changes[new].content_hash
        # a reset sends everything whole, never removals
        [reset] = await pull_cycle(live, space, client_id, None)
        assert {d.draft_id: (d.full, d.removed_paths) for d in reset.drafts} == {old: (True, []), new: (True, [])}
        assert field_map(reset, old) == {"a": "1", "b": "B"}

    async def test_a_write_during_a_cycle_arrives_next_cycle_with_its_earlier_change(self, live: LiveServer) -> None:
        space = new_space()
        client_id = await add_client(space)
        a = await write(space, values={"f": "a0"})
        b = await write(space, values={"f": "b0"})
        token = await synced(live, space, client_id)
        await write(space, a, {"f": "a1"})
        await write(space, b, {"f": "b1"})  # version 4: inside the next cycle's window
        first = await pull_page(live, space, client_id, token, limit=1)
        assert ([d.draft_id for d in first.drafts], first.has_more, first.snapshot_version) == ([a], True, 4)
        await write(space, b, {"g": "b2"})  # b leaves the cycle (version 5 > upTo 4) before it was served
        last = await pull_page(live, space, client_id, first.cursor, limit=1)
        assert (last.drafts, last.has_more, last.snapshot_version) == ([], False, 4)
        pinned = cursor.decode(last.cursor, deps_of(live).cursor_key)
        assert (pinned.floor, pinned.since) == (2, 4)  # floor stays: something was written during the cycle
        [next_cycle] = await pull_cycle(live, space, client_id, last.cursor)
        # b's earlier change f=b1 (version 4, at the new since) still arrives, from floor
        assert field_map(next_cycle, b) == {"f": "b1", "g": "b2"}
        quiet = cursor.decode(next_cycle.cursor, deps_of(live).cursor_key)
        assert (quiet.floor, quiet.since) == (5, 5)  # a quiet cycle moves floor up to since
        await write(space, b, {"h": "b3"})
        [after] = await pull_cycle(live, space, client_id, next_cycle.cursor)
        assert field_map(after, b) == {"h": "b3"}


class TestClientsAndOwnership:
    async def test_clients_lists_every_client_of_the_space_with_its_lmid(self, live: LiveServer) -> None:
        space, other = new_space(), new_space()
        one = await add_client(space, 3)
        two = await add_client(space, 7)
        await add_client(other, 9)
        page = await pull_page(live, space, one, None)
        assert {(c.client_id, c.last_mutation_id) for c in page.clients} == {(one, 3), (two, 7)}

    async def test_an_unknown_client_may_pull(self, live: LiveServer) -> None:
        space = new_space()
        draft = await write(space, values={"a": "1"})
        page = await pull_page(live, space, uuid.uuid4(), None)
        assert [d.draft_id for d in page.drafts] == [draft] and page.clients == []

    async def test_a_client_of_another_space_is_refused_without_data(self, live: LiveServer) -> None:
        mine, theirs = new_space(), new_space()
        their_client = await add_client(theirs)
        await write(mine, values={"a": "1"})
        result = await pull(deps_of(live), mine.claims, PullRequest(str(their_client), 1))
        assert result == PullRejected("CLIENT_NOT_OWNED", result.message, ["clientId"])  # type: ignore[union-attr]

    async def test_a_client_id_must_be_a_uuid(self, live: LiveServer) -> None:
        result = await pull(deps_of(live), new_space().claims, PullRequest("not-a-uuid", 1))
        assert isinstance(result, PullRejected)
        assert (result.code, result.path) == ("INVALID_BATCH", ["clientId"])

    async def test_protocol_versions_outside_the_window(self, live: LiveServer) -> None:
        deps = deps_of(live)
        space = new_space()
        too_old = await pull(deps, space.claims, PullRequest(str(uuid.uuid4()), deps.min_protocol_version - 1))
        too_new = await pull(deps, space.claims, PullRequest(str(uuid.uuid4()), deps.max_protocol_version + 1))
        assert isinstance(too_old, PullRejected) and isinstance(too_new, PullRejected)
        assert (too_old.code, too_old.retry_after_ms) == ("CLIENT_UPGRADE_REQUIRED", None)
        assert too_new.code == "SERVER_BUSY" and (too_new.retry_after_ms or 0) > 0
        assert not await SyncSpace.exists(space_id=space.space_id)  # refused before anything was touched
