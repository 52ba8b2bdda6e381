"""API processes for the multi-process sync tests: `zsb serve` as deployed, on one PostgreSQL and one Redis, all
sharing one var dir (so the dev secrets — JWT keys, cursor key, PII keys — are one set, as a deployment shares its
secrets), embedded worker off. A process can be killed outright (SIGKILL: no shutdown, open transactions die with
their connections) and started again on its port."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ZSB = [sys.executable, "-m", "api.cli", "serve"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ApiProcess:
    database_url: str
    redis_url: str
    var_dir: Path
    name: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.var_dir / f"{self.name}.log"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")} | {
            "APP_DATABASE_URL": self.database_url,
            "APP_REDIS_URL": self.redis_url,
            "APP_PORT": str(self.port),
            "APP_VAR_DIR": str(self.var_dir),
            "APP_EMBEDDED_WORKER": "false",
            "APP_LOG_LEVEL": "WARNING",
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(ZSB, env=env, stdout=log, stderr=subprocess.STDOUT)

    async def ready(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url) as http:
            for _ in range(300):
                assert self.process is not None and self.process.poll() is None, await self._log()
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.base_url} was not ready in 30 s:\n{await self._log()}")

    async def _log(self) -> str:
        text = await asyncio.to_thread(self.log_path.read_text, errors="replace")
        return text[-3000:]

    def kill(self) -> None:
        """SIGKILL: what a crash or an OOM kill does (no lifespan shutdown, connections cut)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
