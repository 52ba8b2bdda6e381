"""The H5 harness as a browser gets it: served by uvicorn over a loopback socket in the sandbox mode, absent when
the sandboxes are off or the harness is not on disk, never leaking a file outside its directory."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from api import cli
from api.app import create_app
from api.http.h5 import STUB_DIR, h5_routes
from api.settings import Settings

_SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(env="test", var_dir=tmp_path, log_json=False, log_level="WARNING", **overrides)  # type: ignore[arg-type]


def _production_like(tmp_path: Path) -> Settings:
    # Sandboxes off, as in production: real gateways must then be named.
    return _settings(
        tmp_path,
        sandbox=False,
        payments={"alipay_gateway_url": "https://pay.example.test/gw", "wechat_gateway_url": "https://wx.example.test"},
    )


async def _serve(settings: Settings) -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # Static files need no database: the lifespan stays off so the test does not migrate one.
    server = uvicorn.Server(uvicorn.Config(create_app(settings), lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture(scope="module")
async def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async for base in _serve(_settings(tmp_path_factory.mktemp("var"))):
        yield base


@pytest.fixture(scope="module")
async def production_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async for base in _serve(_production_like(tmp_path_factory.mktemp("var"))):
        yield base


async def _raw_get(base: str, raw_path: str) -> int:
    """The status of a GET sent byte for byte: HTTP clients remove dot segments before sending."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {raw_path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


class TestSandboxMode:
    async def test_the_index_loads_the_app_as_a_module_without_inline_script(self, sandbox_server: str) -> None:
        async with httpx.AsyncClient(base_url=sandbox_server) as http:
            page = await http.get("/h5/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        scripts = _SCRIPT_TAG.findall(page.text)
        assert scripts, "the index loads app.js"
        assert any('type="module"' in attrs and "app.js" in attrs for attrs, _ in scripts)
        assert all("src=" in attrs and not body.strip() for attrs, body in scripts), "no inline script"

    @pytest.mark.parametrize("path", ["/h5/app.js", "/h5/client/index.js", "/h5/pages/signin.js"])
    async def test_scripts_have_a_javascript_type_and_are_revalidated(self, sandbox_server: str, path: str) -> None:
        async with httpx.AsyncClient(base_url=sandbox_server) as http:
            script = await http.get(path)
        assert script.status_code == 200
        assert script.headers["content-type"].split(";")[0] in {"text/javascript", "application/javascript"}
        assert script.headers["cache-control"] == "no-cache"
        assert "export" in script.text or "import" in script.text

    async def test_the_bare_path_redirects_to_the_directory(self, sandbox_server: str) -> None:
        async with httpx.AsyncClient(base_url=sandbox_server) as http:
            bare = await http.get("/h5")
        assert bare.status_code in {301, 302, 307, 308}
        assert bare.headers["location"].endswith("/h5/")

    async def test_a_missing_file_is_404(self, sandbox_server: str) -> None:
        async with httpx.AsyncClient(base_url=sandbox_server) as http:
            assert (await http.get("/h5/pages/no-such-page.js")).status_code == 404
            assert (await http.get("/h5/client/no-such-module.js")).status_code == 404

    @pytest.mark.parametrize(
        "raw_path",
        [
            "/h5/../api/settings.py",
            "/h5/%2e%2e/api/settings.py",
            "/h5/client/../../api/settings.py",
            "/h5/client/%2e%2e/%2e%2e/pyproject.toml",
            "/h5/..%2fpyproject.toml",
        ],
    )
    async def test_traversal_out_of_the_harness_is_refused(self, sandbox_server: str, raw_path: str) -> None:
        assert await _raw_get(sandbox_server, raw_path) in {400, 404}

    async def test_the_raw_traversal_probe_does_reach_files_inside(self, sandbox_server: str) -> None:
        # The probe above would pass against a dead server too: the same raw request inside the harness answers.
        assert await _raw_get(sandbox_server, "/h5/pages/../app.js") == 200


class TestOutsideTheSandboxMode:
    async def test_production_like_settings_serve_no_harness(self, production_server: str) -> None:
        async with httpx.AsyncClient(base_url=production_server) as http:
            for path in ("/h5/", "/h5", "/h5/app.js", "/h5/client/index.js"):
                assert (await http.get(path)).status_code == 404, path

    def test_no_routes_without_the_harness_on_disk(self, tmp_path: Path) -> None:
        # An installed wheel carries no mini_program_stub/.
        assert h5_routes(_settings(tmp_path), stub_dir=tmp_path / "mini_program_stub") == []
        assert h5_routes(_settings(tmp_path), stub_dir=STUB_DIR) != []
        assert h5_routes(_production_like(tmp_path), stub_dir=STUB_DIR) == []


class TestServePrintsTheUrl:
    def test_serve_prints_the_h5_url_only_in_the_sandbox_mode(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
        cli._serve(_settings(tmp_path, port=8123))
        assert "http://127.0.0.1:8123/h5/" in capsys.readouterr().out
        cli._serve(_production_like(tmp_path))
        assert "/h5/" not in capsys.readouterr().out
