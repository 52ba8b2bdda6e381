"""The APNs sandbox in its own process (on its own core), and the bare aioapns client the pipeline is compared with.

The bare client is plain aioapns 4.0: an `APNsKeyConnectionPool` with the sandbox's provider key, trusting only the
sandbox's CA, `max_connection_attempts=1`, its protocol class pointed at localhost:port (aioapns's only hook for a
host, §1.3), the same number of connections as the adapter and the same number of sends in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from aioapns.common import NotificationRequest, PushType
from aioapns.connection import APNsKeyConnectionPool, APNsProductionClientProtocol

from bench.harness import PROJECT_ROOT

# The alert the pipeline sends (APPLICATION_ACCEPTED rendered), so that both sides carry the same bytes.
TITLE = "办件已受理"
BODY = "您的「合成事项」申请已受理，办件编号 BENCH-000001，承诺办结日期 2026-12-31。"


@dataclass(frozen=True)
class SandboxProcess:
    pid: int
    port: int
    control_port: int
    ca_file: str
    key_pem: str
    key_id: str
    team_id: str
    topic: str

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.control_port}/_control"


@contextlib.contextmanager
def apns_sandbox(directory: Path, cpu: int | None, max_records: int) -> Iterator[SandboxProcess]:
    """`python -m notifications.sandbox.apns` pinned to `cpu`; its first stdout line says where it listens."""
    command = [sys.executable, "-m", "notifications.sandbox.apns", "--port", "0", "--dir", str(directory)]
    command += ["--control-port", "0", "--max-records", str(max_records)]
    log = (directory / "sandbox.log").open("wb")

    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=log)
    try:
        if cpu is not None:  # before it starts: threads made later inherit the main thread's affinity
            os.sched_setaffinity(process.pid, {cpu})
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            process.wait(timeout=10)
            raise RuntimeError(
                f"the APNs sandbox exited with {process.returncode}: {(directory / 'sandbox.log').read_text()[-2000:]}"
            )
        info = json.loads(line)
        yield SandboxProcess(
            pid=process.pid,
            port=int(info["port"]),
            control_port=int(info["controlPort"]),
            ca_file=str(info["caFile"]),
            key_pem=str(info["providerKeyPem"]),
            key_id=str(info["keyId"]),
            team_id=str(info["teamId"]),
            topic=str(info["topic"]),
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


async def sandbox_requests(sandbox: SandboxProcess, token: str | None = None) -> list[dict[str, Any]]:
    params = {"token": token} if token else None
    async with httpx.AsyncClient(timeout=120.0) as client:
        response = await client.get(f"{sandbox.control_url}/requests", params=params)
        response.raise_for_status()
        records: list[dict[str, Any]] = response.json()
        return records


async def clear_sandbox(sandbox: SandboxProcess) -> None:
    async with httpx.AsyncClient(timeout=30.0) as client:
        (await client.delete(f"{sandbox.control_url}/requests")).raise_for_status()


def valid_tokens(count: int) -> list[str]:
    return [secrets.token_hex(32) for _ in range(count)]


@dataclass(frozen=True)
class BareRun:
    sent: int
    failed: int
    seconds: float
    first_error: str

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else float("nan")


async def bare_run(
    host: str,
    port: int,
    ca_file: str,
    key_pem: str,
    key_id: str,
    team_id: str,
    topic: str,
    tokens: list[str],
    concurrency: int,
    connections: int = 10,
) -> BareRun:
    context = ssl.create_default_context(cafile=ca_file)
    pool = APNsKeyConnectionPool(
        key=key_pem,
        key_id=key_id,
        team_id=team_id,
        topic=topic,
        max_connections=connections,
        max_connection_attempts=1,
        ssl_context=context,
    )
    pool.protocol_class = type(
        "BareProtocol", (APNsProductionClientProtocol,), {"APNS_SERVER": host, "APNS_PORT": port}
    )
    slots = asyncio.Semaphore(concurrency)
    sent = failed = 0
    first_error = ""

    async def one(token: str) -> None:
        nonlocal sent, failed, first_error
        request = NotificationRequest(
            device_token=token,
            message={
                "aps": {"alert": {"title": TITLE, "body": BODY}, "sound": "default", "thread-id": "service"},
                "deeplink": "zsb://applications/BENCH",
                "deliveryId": str(uuid.uuid4()),
            },
            notification_id=str(uuid.uuid4()),
            time_to_live=86400,
            priority=10,
            collapse_key=secrets.token_hex(16),
            push_type=PushType.ALERT,
        )
        async with slots:
            try:
                result = await pool.send_notification(request)
            except Exception as exc:  # counted and shown
                failed += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"
                return
        if result.is_successful:
            sent += 1
        else:
            failed += 1
            first_error = first_error or f"{result.status} {result.description}"

    started = time.perf_counter()
    try:
        await asyncio.gather(*(one(token) for token in tokens))
    finally:
        pool.close()
    return BareRun(sent, failed, time.perf_counter() - started, first_error)


async def bare_send(
    sandbox_host: str,
    port: int,
    ca_file: str,
    key_pem: str,
    key_id: str,
    team_id: str,
    topic: str,
    tokens: list[str],
    concurrency: int,
) -> float:
    """Sends/s of a plain aioapns client sending to every token (the contract's helper)."""
    run = await bare_run(sandbox_host, port, ca_file, key_pem, key_id, team_id, topic, tokens, concurrency)
    return run.rate
