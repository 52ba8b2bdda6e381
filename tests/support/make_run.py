"""`make run` as a newcomer runs it: `zsb migrate`, `zsb seed` (twice: the second prints the same details),
`zsb serve` with the embedded defaults, each in its own process on a var dir of the test's own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

ZSB = [sys.executable, "-m", "api.cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_run_server(
    tmp_path_factory: pytest.TempPathFactory, settings: Mapping[str, str] | None = None, *, reseed: bool = True
) -> Iterator[str]:
    """Yields the base URL of a `zsb serve` process, stopped afterwards; `settings` adds `APP_…` variables;
    `reseed=False` skips the second `zsb seed` for tests that only need the seeded server."""
    var_dir = tmp_path_factory.mktemp("var")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    env |= {"APP_VAR_DIR": str(var_dir), "APP_PORT": str(port), "APP_LOG_LEVEL": "WARNING", **(settings or {})}
    for command in ("migrate", "seed"):
        done = subprocess.run([*ZSB, command], env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
    if reseed:
        seeded = subprocess.run([*ZSB, "seed"], env=env, capture_output=True, text=True, timeout=120, check=False)
        assert "handler.scjg" in seeded.stdout  # the second run prints the same sign-in details
    log = (Path(var_dir) / "serve.log").open("w")
    server = subprocess.Popen([*ZSB, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail((Path(var_dir) / "serve.log").read_text())
        yield base
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()
