"""The throwaway servers of tests/support/servers.py start, answer, and leave nothing behind."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import asyncpg
import pytest
import redis.asyncio as aioredis

from tests.support import servers
from tests.support.servers import (
    PREFERRED_POSTGRES_MAJOR,
    ServerError,
    missing_requirements,
    port_is_open,
    postgres_server,
    redis_ping,
    redis_server,
)

# Skipped on a developer machine without the binaries; never in CI or the server run, where it must fail.
_REQUIRED = os.environ.get("CI") == "true" or os.environ.get("ZSB_TEST_BACKEND") == "server"
_MISSING = missing_requirements()
pytestmark = pytest.mark.skipif(
    bool(_MISSING) and not _REQUIRED, reason="cannot start real servers: " + "; ".join(_MISSING)
)


async def test_postgres_server_answers_and_is_removed_on_exit() -> None:
    with postgres_server() as pg:
        assert pg.url == f"postgres://postgres@127.0.0.1:{pg.port}/zsb_test"
        assert port_is_open(pg.port)
        assert (pg.data_dir / "PG_VERSION").is_file()
        connection = await asyncpg.connect(pg.url)
        try:
            assert await connection.fetchval("SELECT 1") == 1
            assert await connection.fetchval("SELECT current_database()") == "zsb_test"
            assert await connection.fetchval("SHOW fsync") == "off"
            if pg.bindir.parent.name == str(PREFERRED_POSTGRES_MAJOR):
                assert int(await connection.fetchval("SHOW server_version_num")) // 10000 == 15
        finally:
            await connection.close()

        other = pg.create_database("zsb_other")
        assert other == f"postgres://postgres@127.0.0.1:{pg.port}/zsb_other"
        connection = await asyncpg.connect(other)
        try:
            assert await connection.fetchval("SELECT current_database()") == "zsb_other"
        finally:
            await connection.close()
        pg.drop_database("zsb_other")
        with pytest.raises(ValueError, match="database name"):
            pg.create_database('x"; DROP DATABASE zsb_test; --')
    assert not port_is_open(pg.port)
    assert not pg.root.exists()


async def test_redis_server_answers_and_is_removed_on_exit() -> None:
    with redis_server() as rs:
        assert rs.url == f"redis://127.0.0.1:{rs.port}/0"
        client = aioredis.Redis.from_url(rs.url)
        try:
            assert await client.ping()
            await client.set("k", "v")
            assert await client.get("k") == b"v"
            assert (await client.config_get("save"))["save"] == ""
        finally:
            await client.aclose()
    assert not port_is_open(rs.port)
    assert not redis_ping(rs.port)
    assert not rs.root.exists()


def test_servers_are_cleaned_up_on_keyboard_interrupt() -> None:
    with pytest.raises(KeyboardInterrupt), postgres_server() as pg, redis_server() as rs:
        raise KeyboardInterrupt
    assert not port_is_open(pg.port)
    assert not port_is_open(rs.port)
    assert not pg.root.exists()
    assert not rs.root.exists()


def test_failed_postgres_start_shows_the_log_tail() -> None:
    with (
        pytest.raises(ServerError, match="did not start") as failure,
        postgres_server(settings={"no_such_setting": "1"}, timeout=30),
    ):
        pytest.fail("started despite a bad setting")
    assert 'unrecognized configuration parameter "no_such_setting"' in str(failure.value)


def test_failed_redis_start_shows_the_log_tail() -> None:
    with (
        pytest.raises(ServerError, match="exited with status") as failure,
        redis_server(extra_args=["--no-such-directive", "1"]),
    ):
        pytest.fail("started despite a bad directive")
    assert "no-such-directive" in str(failure.value)


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something listens on, handed out as the first 'free' port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        yield int(blocker.getsockname()[1])


def test_a_port_taken_meanwhile_is_retried(monkeypatch: pytest.MonkeyPatch, taken_port: int) -> None:
    real_free_port = servers.free_port
    handed: list[int] = []

    def first_taken() -> int:
        port = taken_port if len(handed) % 2 == 0 else real_free_port()
        handed.append(port)
        return port

    monkeypatch.setattr(servers, "free_port", first_taken)
    with redis_server() as rs:
        assert handed[0] == taken_port
        assert rs.port == handed[1] != taken_port
        assert redis_ping(rs.port)
    handed.clear()
    with postgres_server() as pg:
        assert handed[0] == taken_port
        assert pg.port == handed[1] != taken_port
        assert port_is_open(pg.port)
