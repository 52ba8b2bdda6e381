"""What every server benchmark does around its own load: a PostgreSQL and a Redis (throwaway servers unless
APP_DATABASE_URL and APP_REDIS_URL are given), its data prepared, the API server process pinned to its core, the load
run on uvloop from another core, and the server's last log lines printed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

import uvloop

from api.settings import Settings
from bench.auth import _server_env
from bench.harness import ServerProcess, background_cores, free_port, pin_self, plan_cpus

T = TypeVar("T")


@contextlib.contextmanager
def backend() -> Iterator[tuple[str, str]]:
    given = os.environ.get("APP_DATABASE_URL", "")
    if given:
        yield given, os.environ.get("APP_REDIS_URL", "")
        return
    from tests.support.servers import postgres_server, redis_server

    with postgres_server() as pg, redis_server() as rd:
        yield pg.url, rd.url


def run_benchmark(
    name: str,
    server_module: str,
    prepare: Callable[[str], Coroutine[Any, Any, T]],
    load: Callable[[ServerProcess, str, T], Coroutine[Any, Any, None]],
) -> None:
    """`prepare(database_url)` seeds what the load needs; `load(server, backend label, prepared)` measures."""
    cpus = plan_cpus()
    started = time.monotonic()
    with backend() as (database_url, redis_url), tempfile.TemporaryDirectory(prefix="zsb-bench-") as raw_tmp:
        tmp = Path(raw_tmp)
        port = free_port()
        env, _ = _server_env(tmp, port)
        env.update({"APP_DATABASE_URL": database_url, "APP_REDIS_URL": redis_url})
        with mock.patch.dict(os.environ, env, clear=True):
            Settings()  # fails here, not in the server, when the environment is wrong
            prepared: T = asyncio.run(prepare(database_url))
        pin_self(cpus.client)
        label = f"PostgreSQL + {'Redis' if redis_url else 'fakeredis'}"
        print(f"# {name} benchmark — {label}; {cpus.describe()}; uvicorn uvloop/httptools, load httpx")
        server = ServerProcess(
            port=port,
            env=env,
            log_path=tmp / "server.log",
            cpu=cpus.server,
            module_command=(server_module, "--serve"),
        )
        with server.running():
            print(f"# idle machine before the load: {background_cores():.2f} cores busy elsewhere")
            runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
            try:
                runner.run(load(server, label, prepared))
            finally:
                runner.close()
        log = server.log_tail(20).strip()
        if log:
            print("\n# the server logged (last lines):\n" + "\n".join(f"#   {line}" for line in log.splitlines()))
    print(f"\n# {name} benchmark done in {time.monotonic() - started:.0f} s")
