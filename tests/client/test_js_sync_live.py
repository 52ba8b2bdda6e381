"""The JS sync engine against a real embedded server: two engines (the app and the WeChat mini-program of resident
13) run the README's worked example through `client.drafts` (mini_program_stub/client/test/live/sync-live.mjs),
including a lost ACK, offline edits, the conflict on both devices, its resolution, SUBMIT and a quarantined edit."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.make_run import make_run_server

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "mini_program_stub" / "client" / "test" / "live" / "sync-live.mjs"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # Two devices sign in with SMS codes one after the other: the per-phone resend throttle is off for this server.
    yield from make_run_server(tmp_path_factory, {"APP_AUTH__OTP_RESEND_SECONDS": "0"}, reseed=False)


def run_script(base_url: str, phone: str) -> dict[str, object]:
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, str(SCRIPT), base_url, phone], capture_output=True, text=True, timeout=110, check=False, cwd=ROOT
    )
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    found: dict[str, object] = json.loads(lines[-1])
    assert done.returncode == 0 and found["ok"] is True, found.get("error", done.stderr)
    return found


def test_two_js_engines_run_the_worked_example(base_url: str) -> None:
    found = run_script(base_url, "19900000013")
    assert found["conflict"] == "delivery/method"
    assert found["history"] == 6
    clients = found["clients"]
    assert isinstance(clients, list) and len(set(clients)) == 2
    assert isinstance(found["applicationId"], str) and found["applicationId"]
