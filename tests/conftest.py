"""The whole suite talks to a real server over HTTP: uvicorn on a loopback port, in the test's event loop.

ZSB_TEST_BACKEND=embedded (default): SQLite file + fakeredis, like `make run`.
ZSB_TEST_BACKEND=server: a real PostgreSQL and a real Redis, started here on loopback (CI runs both).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn

from api import database, devsecrets
from api.app import create_app
from api.kit.clock import ShiftableClock
from api.kit.pii import PiiCipher
from api.seed import load_demo_seed
from api.settings import Settings
from api.workdays import store as workdays
from tests.support.client import Api, LiveServer

BACKEND = os.environ.get("ZSB_TEST_BACKEND", "embedded")
# A test reaches the backend under test only through one of these fixtures.
_BACKEND_FIXTURES = frozenset({"live", "backend_urls"})


def pytest_report_header() -> str:
    return f"zsb backend: {BACKEND}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tortoise binds each model class to the SQL dialect of the last database initialised in the process, so a
    # test that opens its own SQLite database cannot share a process with a PostgreSQL server under test.
    skipped_marker, reason = (
        ("embedded_only", "opens its own SQLite database; the server run seeds PostgreSQL through the live server")
        if BACKEND == "server"
        else ("postgres_only", "needs the real PostgreSQL backend (ZSB_TEST_BACKEND=server)")
    )
    for item in items:
        if skipped_marker in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))
        elif BACKEND == "server" and not _BACKEND_FIXTURES & set(getattr(item, "fixturenames", ())):
            # The same code against the same inputs as in the embedded run: running it twice only costs CI time.
            item.add_marker(pytest.mark.skip(reason="touches neither the database nor Redis; the embedded run ran it"))


@pytest.fixture(scope="session")
def backend_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    if BACKEND == "server":
        from tests.support.servers import postgres_server, redis_server

        with postgres_server() as pg, redis_server() as rd:
            yield pg.url, rd.url
    else:
        yield f"sqlite://{tmp_path_factory.mktemp('db') / 'zsb.sqlite3'}", ""


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def settings_for(port: int, database_url: str, redis_url: str, var_dir: Path) -> Settings:
    return Settings(
        env="test",
        host="127.0.0.1",
        port=port,
        database_url=database_url,
        redis_url=redis_url,
        var_dir=var_dir,
        log_json=False,
        log_level="WARNING",
        security={"trusted_proxies": ["127.0.0.1"]},
        # Tests drive scheduler ticks and burst workers themselves; a silent APNs token times out in 3 s, not 10.
        notifications={"embedded_workers": False, "apns_timeout_s": 3.0},
        # Low buckets, so that a test can exhaust one quickly; each test client has its own IP and identity.
        graphql={
            "rate_per_ip_per_second": 1,
            "burst_per_ip": 80,
            "rate_per_identity_per_second": 1,
            "burst_per_identity": 60,
        },
    )


@pytest.fixture(scope="session")
async def live(backend_urls: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    database_url, redis_url = backend_urls
    var_dir = tmp_path_factory.mktemp("var")
    await database.migrate(database_url)
    sock = _bound_socket()
    port = sock.getsockname()[1]
    settings = settings_for(port, database_url, redis_url, var_dir)
    clock = ShiftableClock()
    app = create_app(settings, clock)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    secrets = devsecrets.load_or_create(var_dir)
    await workdays.sync_shipped()  # what `zsb migrate` does after the schema
    await load_demo_seed(pii=PiiCipher(secrets.pii_encryption_key, secrets.pii_hash_key), clock=clock)
    try:
        yield LiveServer(base_url=f"http://127.0.0.1:{port}", app=app, settings=settings, clock=clock)
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def api(live: LiveServer) -> AsyncIterator[Api]:
    async with Api.connect(live) as client:
        yield client
