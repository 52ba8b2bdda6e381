"""Pull cursor resets (sync-protocol.md §9, P6): anything unusable yields a reset snapshot, never an error, and
forged or foreign cursors are security-logged without their contents."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from api.models.sync import SyncSpace
from sync import cursor
from sync.contract import PullPayload, PullRequest
from sync.pull import pull
from tests.support.client import LiveServer
from tests.sync.test_pull_seed import Space, add_client, deps_of, new_space, space_row, write


async def pull_page(live: LiveServer, space: Space, client_id: uuid.UUID, token: str | None, **kw: Any) -> PullPayload:
    result = await pull(deps_of(live), space.claims, PullRequest(str(client_id), 1, token, **kw))
    assert isinstance(result, PullPayload), result
    return result


async def synced(live: LiveServer, space: Space, client_id: uuid.UUID) -> str:
    """Pull to the end of a cycle; the cursor of a device that is up to date."""
    page = await pull_page(live, space, client_id, None)
    while page.has_more:
        page = await pull_page(live, space, client_id, page.cursor)
    return page.cursor


def forged(token: str, key: bytes, sign_with: bytes | None = None, **changes: Any) -> str:
    decoded = cursor.decode(token, key)
    fields = {
        "epoch": decoded.epoch,
        "space_id": decoded.space_id,
        "floor": decoded.floor,
        "since": decoded.since,
        "up_to": decoded.up_to,
        "after_version": decoded.after_version,
        "after_draft_id": decoded.after_draft_id,
        **changes,
    }
    return cursor.encode(cursor.PullCursor(**fields), sign_with or key)


@pytest.fixture
async def seeded(live: LiveServer) -> tuple[Space, uuid.UUID, uuid.UUID, str]:
    space = new_space()
    client_id = await add_client(space)
    draft_id = await write(space, values={"name": "张三"})
    token = await synced(live, space, client_id)
    await write(space, draft_id, {"phone": "13800000000"})
    return space, client_id, draft_id, token


async def assert_reset(live: LiveServer, space: Space, client_id: uuid.UUID, token: str | None) -> PullPayload:
    page = await pull_page(live, space, client_id, token)
    assert page.reset
    assert [d.full for d in page.drafts] == [True] * len(page.drafts)
    assert page.snapshot_version == (await space_row(space)).version
    return page


class TestUsableCursor:
    async def test_an_up_to_date_cursor_gets_only_the_change(self, live: LiveServer, seeded: Any) -> None:
        space, client_id, draft_id, token = seeded
        page = await pull_page(live, space, client_id, token)
        assert not page.reset
        assert [(d.draft_id, d.full, [f.path for f in d.fields]) for d in page.drafts] == [(draft_id, False, ["phone"])]


class TestResets:
    async def test_missing_cursor_is_a_full_snapshot(self, live: LiveServer, seeded: Any) -> None:
        space, client_id, _, _ = seeded
        page = await assert_reset(live, space, client_id, None)
        assert [sorted(f.path for f in d.fields) for d in page.drafts] == [["name", "phone"]]

    @pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "!!!.???", "x" * 5000, "e30.e30"])
    async def test_garbage_resets(self, live: LiveServer, seeded: Any, garbage: str) -> None:
        space, client_id, _, _ = seeded
        await assert_reset(live, space, client_id, garbage)

    async def test_tampered_signature_resets_and_is_security_logged(
        self, live: LiveServer, seeded: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        space, client_id, _, token = seeded
        tampered = forged(token, deps_of(live).cursor_key, b"not the server key", floor=0)
        with caplog.at_level(logging.INFO, logger="zsb.sync.pull"):
            await assert_reset(live, space, client_id, tampered)
        [record] = [r for r in caplog.records if r.name == "zsb.sync.pull"]
        assert record.levelno == logging.WARNING
        assert record.__dict__["reason"] == "BAD_SIGNATURE"
        assert tampered not in record.getMessage() and tampered.split(".")[0] not in str(record.__dict__)

    async def test_a_cursor_of_another_space_resets_and_is_security_logged(
        self, live: LiveServer, seeded: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        _, _, _, token = seeded
        other = new_space()
        other_client = await add_client(other)
        await write(other, values={"x": "1"})
        with caplog.at_level(logging.INFO, logger="zsb.sync.pull"):
            page = await assert_reset(live, other, other_client, token)
        assert len(page.drafts) == 1
        [record] = [r for r in caplog.records if r.name == "zsb.sync.pull"]
        assert record.levelno == logging.WARNING and record.__dict__["reason"] == "FOREIGN_SPACE"

    async def test_old_epoch_resets(self, live: LiveServer, seeded: Any, caplog: pytest.LogCaptureFixture) -> None:
        space, client_id, _, token = seeded
        await SyncSpace.filter(space_id=space.space_id).update(epoch=uuid.uuid4())
        with caplog.at_level(logging.INFO, logger="zsb.sync.pull"):
            page = await assert_reset(live, space, client_id, token)
        assert page.server_epoch == (await space_row(space)).epoch
        [record] = [r for r in caplog.records if r.name == "zsb.sync.pull"]
        assert record.levelno == logging.INFO and record.__dict__["reason"] == "EPOCH_CHANGED"

    async def test_a_cursor_from_the_future_resets(self, live: LiveServer, seeded: Any) -> None:
        space, client_id, _, token = seeded
        version = (await space_row(space)).version
        key = deps_of(live).cursor_key
        await assert_reset(live, space, client_id, forged(token, key, floor=version + 1, since=version + 1))
        await assert_reset(live, space, client_id, forged(token, key, up_to=version + 3, after_version=None))

    async def test_a_cursor_older_than_the_gc_watermark_resets(self, live: LiveServer, seeded: Any) -> None:
        space, client_id, _, token = seeded
        since = cursor.decode(token, deps_of(live).cursor_key).since
        await SyncSpace.filter(space_id=space.space_id).update(min_valid_version=since + 1)
        await assert_reset(live, space, client_id, token)

    async def test_a_multi_page_reset_cycle_survives_a_gc_watermark(self, live: LiveServer) -> None:
        # A reset cycle starts at since = 0, below any watermark: its later pages must not reset again.
        space = new_space()
        client_id = await add_client(space)
        drafts = {await write(space, values={"n": str(n)}) for n in range(3)}
        await SyncSpace.filter(space_id=space.space_id).update(min_valid_version=2)
        page = await pull_page(live, space, client_id, None, limit=1)
        seen, resets = {d.draft_id for d in page.drafts}, [page.reset]
        while page.has_more:
            page = await pull_page(live, space, client_id, page.cursor, limit=1)
            seen |= {d.draft_id for d in page.drafts}
            resets.append(page.reset)
        assert seen == drafts and resets == [True, False, False]
