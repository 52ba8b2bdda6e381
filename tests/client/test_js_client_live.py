"""The JS client against a real `zsb serve` started as `make run` does: SMS sign-in, APQ miss then hit, silent
refresh (ahead of expiry and after a 401, one rotation for concurrent calls), the inbox socket, a resumed
chunked upload, sign-out. The checks live in mini_program_stub/client/test/live/core-live.mjs; this test starts
the server and reads the script's findings."""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.client.test_js_suite import REPO, node_binary
from tests.support.make_run import make_run_server

SCRIPT = REPO / "mini_program_stub" / "client" / "test" / "live" / "core-live.mjs"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from make_run_server(tmp_path_factory, reseed=False)


def run_script(base: str, phone: str) -> dict[str, Any]:
    node = node_binary()
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    # Node 20 and 21 ship WebSocket behind a flag; 22 has it by default.
    flags = ["--experimental-websocket"] if int(version.lstrip("v").split(".")[0]) < 22 else []
    done = subprocess.run(
        [node, *flags, str(SCRIPT), base, phone], capture_output=True, text=True, timeout=120, check=False
    )
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    result: dict[str, Any] = json.loads(lines[-1])
    assert done.returncode == 0 and result["ok"], result.get("error", "") + done.stderr
    return result


def test_js_client_against_a_running_server(base_url: str) -> None:
    phone = f"170{random.randrange(10**8):08d}"
    found = run_script(base_url, phone)["found"]
    assert found["apqMiss"] == ["GET", "POST"]
    assert found["apqHit"] == ["GET"]
    assert found["refreshesAhead"] == 1
    assert found["refreshesAfter401"] == 1
    assert found["inboxMode"] == "live"
    assert found["upload"] == {"status": "COMPLETE", "chunkPuts": [0, 1, 1]}
    assert found["signedOut"] is True
