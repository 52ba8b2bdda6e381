"""Two API processes on the session's PostgreSQL and Redis, and the item whose form their drafts fill."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.client import LiveServer
from tests.sync.model.items import ModelItem, publish_item
from tests.sync.multiprocess.processes import ApiProcess

FIELDS = ("f1", "f2", "f3")
FORM = {"type": "object", "properties": {name: {"type": "string", "title": name} for name in FIELDS}}


@pytest.fixture(scope="module")
async def instances(
    live: LiveServer, backend_urls: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[ApiProcess]]:
    """Two `zsb serve` processes (`live` first: it migrated and seeded the database they share)."""
    database_url, redis_url = backend_urls
    var_dir = tmp_path_factory.mktemp("sync-instances")
    processes = [ApiProcess(database_url, redis_url, var_dir, name) for name in ("left", "right")]
    try:
        for process in processes:
            process.start()
        for process in processes:
            await process.ready()
        yield processes
    finally:
        for process in processes:
            process.stop()


@pytest.fixture(scope="module")
async def item(live: LiveServer) -> ModelItem:
    return await publish_item("草稿同步多进程测试事项", "sync-multi-1", FORM)


def as_live(process: ApiProcess, live: LiveServer) -> LiveServer:
    """The process as a LiveServer for the simulated devices, which only use its base URL."""
    return LiveServer(process.base_url, live.app, live.settings, live.clock)
