"""Draft sync benchmark (issue 6, graphql.md §4): pushes of 1, 10 and 100 field edits, a full pull of 200 drafts
with 30 fields each, and a 20 MiB upload in 1 MiB chunks, each beside a bare baseline measured in the same run and
server process.

- Data: a throwaway PostgreSQL and Redis (tests.support.servers) unless APP_DATABASE_URL (and APP_REDIS_URL) are
  given, migrated, no seed: every person is a fresh account signed in through the SMS sandbox. The form is the
  benchmark's own template (bench.sync_server: 100 string fields f000…f099), registered in the server process as
  the template registry allows for tests (sync-protocol.md §14.2).
- Pushes: one person per worker (a space each, as real devices are), one client and one draft each; every push is
  one EDIT mutation of 1, 10 or 100 SET ops with the right `baseHash`, so every mutation is APPLIED (a new value,
  history rows, a new space version, a stored result). Closed loop. Baseline: a bare route verifying the same
  token and calling the same service function (`sync.push.push`) with the same input: the difference is GraphQL.
- Pull: one person's space holding 200 drafts × 30 fields; a full pull is a pull from no cursor, paged (limit
  200, maxBytes 1 MiB) until `hasMore = false`, one after the other. Baseline: the same pages through
  `sync.pull.pull` on a bare route.
- Upload: `createUpload`, 20 chunk `PUT`s of 1 MiB in order, `completeUpload` (whole-file SHA-256, sniffing, the
  blob), one file after the other, each a new file (no dedup). Baseline: the same 20 `PUT`s of the same bytes to a
  bare route that reads each chunk, checks its SHA-256 header and writes it to disk.

`python -m bench sync [--quick]`; bench.sync_server is its server process (the template and the bare routes).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import orjson
import uvloop

from api.settings import Settings
from bench.applications import _backend
from bench.auth import SignInFlow, _server_env, fresh_phone, read_code
from bench.harness import (
    CpuPlan,
    Operation,
    Row,
    RunResult,
    ServerProcess,
    Target,
    background_cores,
    closed_loop,
    fmt,
    free_port,
    new_client,
    pin_self,
    plan_cpus,
    print_table,
    run_notes,
)
from bench.payments import drain
from bench.server import BARE_PREFIX
from bench.sync_server import FIELDS, FORM_VERSION, SERVICE_CODE

MIB = 1024 * 1024
UPLOAD_MIB = 20
PULL_DRAFTS, PULL_FIELDS = 200, 30
PROTOCOL = 1
JSON_HEADERS = {"content-type": "application/json"}
# graphql.md §4, "sync push, n field edits": (mutations/s on one API process, p99 ms).
PUSH_TARGETS = {1: (1000.0, 20.0), 10: (300.0, 30.0), 100: (60.0, 150.0)}
PULL_TARGET_MS = 150.0
UPLOAD_TARGET_MIB_S = 50.0

PUSH = """
mutation Push($input: SyncPushInput!) {
  syncPush(input: $input) {
    __typename
    ... on SyncPushPayload {
      lastMutationId stoppedAt serverEpoch
      results { id status replayed draftVersion error { code message } conflicts { id path } }
      stopReason { code message }
    }
    ... on SyncPushRejected { code message path }
  }
}
"""
PULL = """
query Pull($input: SyncPullInput!) {
  syncPull(input: $input) {
    __typename
    ... on SyncPullPayload {
      cursor hasMore reset snapshotVersion serverEpoch
      drafts {
        draftId status serviceCode formVersion full version contentHash requiredFormVersion
        fields { path value hash version }
        removedPaths
        openConflicts { id path serverHash candidates { clientId valueHash } }
        attachments { path blobSha256 status }
        quarantinedOps applicationId restorableUntil
      }
      clients { clientId lastMutationId }
    }
    ... on SyncPullRejected { code message }
  }
}
"""
CREATE_UPLOAD = """
mutation Create($input: CreateUploadInput!) {
  createUpload(input: $input) {
    __typename
    ... on Upload { id chunkSize status receivedChunks }
    ... on CreateUploadError { code message }
  }
}
"""
COMPLETE_UPLOAD = """
mutation Complete($input: CompleteUploadInput!) {
  completeUpload(input: $input) {
    __typename
    ... on Upload { id status }
    ... on CompleteUploadError { code message }
  }
}
"""


class BenchFailure(Exception):
    pass


def value_hash(value: Any) -> str:
    from sync.merge import value_hash as h

    return h(value)


def _body(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(response.content) if response.content else {}
    if response.status_code != 200 or body.get("errors"):
        raise BenchFailure(f"HTTP {response.status_code}: {response.content[:300]!r}")
    return body


# ======================================================================================= devices


@dataclass
class Device:
    """One person's client and draft, with the values it knows the server holds."""

    token: str
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    next_id: int = 1
    draft_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    values: dict[str, Any] = field(default_factory=dict)
    turn: int = 0

    @property
    def headers(self) -> dict[str, str]:
        return {**JSON_HEADERS, "authorization": f"Bearer {self.token}"}

    def set_ops(self, values: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"path": path, "kind": "SET", "value": value, "baseHash": value_hash(self.values.get(path))}
            for path, value in values.items()
        ]

    def mutation(self, kind: str, values: dict[str, Any], **extra: Any) -> dict[str, Any]:
        m = {"id": self.next_id, "draftId": extra.pop("draft_id", self.draft_id), "type": kind}
        m |= {"formVersion": FORM_VERSION, "ops": self.set_ops(values), **extra}
        self.next_id += 1
        return m

    def push_input(self, mutations: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "platform": "APP_ANDROID",
            "protocolVersion": PROTOCOL,
            "mutations": mutations,
        }


async def push(client: httpx.AsyncClient, device: Device, mutations: list[dict[str, Any]], *, bare: bool) -> list[str]:
    """One push; raises unless every mutation was APPLIED. Keeps the device's mutation ids in step either way."""
    data = device.push_input(mutations)
    if bare:
        response = await client.post(f"{BARE_PREFIX}/sync/push", content=orjson.dumps(data), headers=device.headers)
        answer = _body(response)["data"]["syncPush"]
        last, results = answer.get("last_mutation_id"), answer.get("results") or []
        statuses = [str(r["status"]) for r in results]
    else:
        body = orjson.dumps({"query": PUSH, "variables": {"input": data}})
        answer = _body(await client.post("/graphql", content=body, headers=device.headers))["data"]["syncPush"]
        last, results = answer.get("lastMutationId"), answer.get("results") or []
        statuses = [str(r["status"]) for r in results]
    if last is not None:
        device.next_id = int(last) + 1
    if last != mutations[-1]["id"] or statuses != ["APPLIED"] * len(mutations):
        raise BenchFailure(f"push not applied: {str(answer)[:300]}")
    return statuses


def edit_operation(devices: asyncio.Queue[Device], edits: int, *, bare: bool) -> Operation:
    """One EDIT of `edits` fields of the draft of whichever device is idle (a new value for each)."""

    async def edit(client: httpx.AsyncClient) -> None:
        device = await devices.get()
        try:
            device.turn += 1
            start = (device.turn * edits) % FIELDS
            paths = [f"f{(start + i) % FIELDS:03d}" for i in range(edits)]
            values = {path: f"{device.turn}号 张三 {path}" for path in paths}
            try:
                await push(client, device, [device.mutation("EDIT", values)], bare=bare)
            except Exception:
                # The device learns what the server holds, so that its next baseHash is right: one failed answer
                # never drifts the rest of the run into conflicts.
                await _refresh(client, device)
                raise
            device.values.update(values)
        finally:
            devices.put_nowait(device)

    return edit


async def _refresh(client: httpx.AsyncClient, device: Device) -> None:
    """The device's draft fields as the server holds them (its space holds that one draft)."""
    data = {"clientId": device.client_id, "protocolVersion": PROTOCOL}
    body = orjson.dumps({"query": PULL, "variables": {"input": data}})
    page = _body(await client.post("/graphql", content=body, headers=device.headers))["data"]["syncPull"]
    for draft in page.get("drafts") or []:
        if draft["draftId"] == device.draft_id:
            device.values = {f["path"]: f["value"] for f in draft["fields"]}


# ======================================================================================= pull


async def full_pull(client: httpx.AsyncClient, device: Device, *, bare: bool) -> tuple[int, int]:
    """Pages from no cursor until hasMore is false; (drafts, pages). Raises unless every draft came whole."""
    cursor: str | None = None
    drafts = pages = 0
    while True:
        data = {"clientId": device.client_id, "cursor": cursor, "protocolVersion": PROTOCOL}
        data |= {"limit": 200, "maxBytes": MIB}
        if bare:
            response = await client.post(f"{BARE_PREFIX}/sync/pull", content=orjson.dumps(data), headers=device.headers)
            page = _body(response)["data"]["syncPull"]
            more, cursor, found = page.get("has_more"), page.get("cursor"), page.get("drafts")
        else:
            body = orjson.dumps({"query": PULL, "variables": {"input": data}})
            page = _body(await client.post("/graphql", content=body, headers=device.headers))["data"]["syncPull"]
            more, cursor, found = page.get("hasMore"), page.get("cursor"), page.get("drafts")
        if found is None:
            raise BenchFailure(f"pull refused: {str(page)[:300]}")
        if any(len(d["fields"]) != PULL_FIELDS for d in found):
            raise BenchFailure("a draft came without its 30 fields")
        drafts += len(found)
        pages += 1
        if not more:
            return drafts, pages


def pull_operation(device: Device, *, bare: bool) -> Operation:
    async def pull(client: httpx.AsyncClient) -> None:
        drafts, _ = await full_pull(client, device, bare=bare)
        if drafts != PULL_DRAFTS:
            raise BenchFailure(f"a full pull returned {drafts} drafts, not {PULL_DRAFTS}")

    return pull


async def fill_space(client: httpx.AsyncClient, device: Device) -> None:
    """200 drafts of 30 fields in the device's space, created by two pushes of 100 CREATE_DRAFT each."""
    for _ in range(PULL_DRAFTS // 100):
        mutations = [
            device.mutation(
                "CREATE_DRAFT",
                {f"f{i:03d}": f"压测草稿 {n} 字段 {i} 云溪市" for i in range(PULL_FIELDS)},
                draft_id=str(uuid.uuid4()),
                serviceCode=SERVICE_CODE,
            )
            for n in range(100)
        ]
        await push(client, device, mutations, bare=False)


# ======================================================================================= upload


@dataclass(frozen=True)
class File:
    """A JPEG-looking file of 20 MiB with its digests, computed before the clock starts (a device hashes first)."""

    data: bytes
    sha256: str
    chunk_digests: list[str]

    @classmethod
    def make(cls, n: int, noise: bytes) -> File:
        data = b"\xff\xd8\xff\xe0" + n.to_bytes(8, "big") + noise[12:]
        chunks = [hashlib.sha256(data[i : i + MIB]).hexdigest() for i in range(0, len(data), MIB)]
        return cls(data, hashlib.sha256(data).hexdigest(), chunks)


async def upload_file(client: httpx.AsyncClient, device: Device, file: File, *, bare: bool) -> None:
    headers = device.headers
    if bare:
        upload_id = uuid.uuid4().hex
        path = f"{BARE_PREFIX}/sync/uploads/{upload_id}/chunks"
    else:
        data = {"clientId": device.client_id, "sha256": file.sha256, "size": len(file.data)}
        data |= {"mime": "image/jpeg", "fileName": "营业执照.jpg"}
        body = orjson.dumps({"query": CREATE_UPLOAD, "variables": {"input": data}})
        created = _body(await client.post("/graphql", content=body, headers=headers))["data"]["createUpload"]
        if created.get("__typename") != "Upload" or created["status"] != "PENDING" or created["chunkSize"] != MIB:
            raise BenchFailure(f"createUpload: {created}")
        upload_id = created["id"]
        path = f"/sync/uploads/{upload_id}/chunks"
    for index, digest in enumerate(file.chunk_digests):
        chunk = file.data[index * MIB : (index + 1) * MIB]
        response = await client.put(
            f"{path}/{index}",
            content=chunk,
            headers={"authorization": headers["authorization"], "x-chunk-sha256": digest},
        )
        if response.status_code != 201:
            raise BenchFailure(f"chunk {index}: HTTP {response.status_code} {response.text[:200]}")
    if not bare:
        body = orjson.dumps({"query": COMPLETE_UPLOAD, "variables": {"input": {"uploadId": upload_id}}})
        done = _body(await client.post("/graphql", content=body, headers=headers))["data"]["completeUpload"]
        if done.get("status") != "COMPLETE":
            raise BenchFailure(f"completeUpload: {done}")


def upload_operations(device: Device, files: list[File], *, bare: bool) -> list[Operation]:
    def one(file: File) -> Operation:
        async def upload(client: httpx.AsyncClient) -> None:
            await upload_file(client, device, file, bare=bare)

        return upload

    return [one(file) for file in files]


# ======================================================================================= runs


@dataclass(frozen=True)
class Plan:
    warmup_seconds: float = 0.5
    seconds: float = 4.0
    concurrency: int = 16
    pull_seconds: float = 4.0
    uploads: int = 5

    @classmethod
    def quick(cls) -> Plan:
        return cls(warmup_seconds=0.3, seconds=1.5, pull_seconds=1.5, uploads=2)


async def _sign_in(client: httpx.AsyncClient) -> str:
    flow, phone = SignInFlow(bare=False), fresh_phone()
    await flow.request_code(client, phone)
    signed = await flow.sign_in(client, phone, await read_code(client, phone))
    return str(signed["accessToken"])


async def _pair(
    server: ServerProcess, make: Callable[[bool], Operation], *, concurrency: int, warmup: float, seconds: float
) -> tuple[RunResult, RunResult]:
    results: list[RunResult] = []
    for bare in (False, True):
        operation = make(bare)
        await closed_loop(server.base_url, operation, concurrency=concurrency, seconds=warmup, server_pid=server.pid)
        results.append(
            await closed_loop(
                server.base_url, operation, concurrency=concurrency, seconds=seconds, server_pid=server.pid
            )
        )
    return results[0], results[1]


async def _pushes(server: ServerProcess, plan: Plan, backend: str, devices: list[Device]) -> None:
    idle: asyncio.Queue[Device] = asyncio.Queue()
    for device in devices:
        idle.put_nowait(device)
    for edits, (rate_target, p99_target) in PUSH_TARGETS.items():
        ours, bare = await _pair(
            server,
            lambda b, n=edits: edit_operation(idle, n, bare=b),  # type: ignore[misc]
            concurrency=plan.concurrency,
            warmup=plan.warmup_seconds,
            seconds=plan.seconds,
        )
        print_table(
            f"syncPush, one EDIT of {edits} field{'s' if edits > 1 else ''} per push — closed loop, "
            f"{plan.concurrency} devices (a space each) × {plan.seconds:.0f} s ({backend})",
            [
                Row.of_runs("mutations/s", ours, bare),
                Row.of_runs("per core (1 / CPU)", ours, bare, headline="per_core"),
            ],
            [
                Target(
                    f"≥ {rate_target:,.0f} mutations/s on one API process; p99 ≤ {p99_target:.0f} ms",
                    f"ours {fmt(ours.throughput)}/s, p99 {fmt(ours.p99_ms)} ms",
                    ours.throughput >= rate_target and ours.p99_ms <= p99_target and not ours.errors,
                )
            ],
            [
                *run_notes("ours", ours),
                *run_notes("baseline", bare),
                "baseline: same token check and service call (sync.push.push) without GraphQL",
            ],
        )


async def _pull(server: ServerProcess, plan: Plan, backend: str, device: Device) -> None:
    async with new_client(server.base_url, 1) as client:
        await fill_space(client, device)
        _, pages = await full_pull(client, device, bare=False)
    ours, bare = await _pair(
        server,
        lambda b: pull_operation(device, bare=b),
        concurrency=1,
        warmup=plan.warmup_seconds,
        seconds=plan.pull_seconds,
    )
    print_table(
        f"syncPull from no cursor, {PULL_DRAFTS} drafts × {PULL_FIELDS} fields ({pages} page"
        f"{'s' if pages > 1 else ''} of limit 200, maxBytes 1 MiB) — one after the other × "
        f"{plan.pull_seconds:.0f} s ({backend})",
        [Row.of_runs("full pulls/s", ours, bare)],
        [
            Target(
                f"a full pull ≤ {PULL_TARGET_MS:.0f} ms (judged on p50; p99 shown)",
                f"ours p50 {fmt(ours.p50_ms)} ms, p99 {fmt(ours.p99_ms)} ms",
                ours.p50_ms <= PULL_TARGET_MS and not ours.errors,
            )
        ],
        [
            *run_notes("ours", ours),
            *run_notes("baseline", bare),
            "baseline: the same pages through sync.pull.pull without GraphQL",
        ],
    )


async def _upload(server: ServerProcess, plan: Plan, backend: str, device: Device) -> None:
    noise = os.urandom(UPLOAD_MIB * MIB)
    files = [File.make(n, noise) for n in range(plan.uploads + 1)]
    async with new_client(server.base_url, 1) as client:
        answer = _body(await client.post(f"{BARE_PREFIX}/sync/clients", headers=device.headers))
        device.client_id = answer["clientId"]
        await upload_file(client, device, files[0], bare=False)  # warm-up
    runs = []
    for bare in (False, True):
        runs.append(
            await drain(
                server.base_url,
                upload_operations(device, files[1:], bare=bare),
                concurrency=1,
                server_pid=server.pid,
            )
        )
    ours, bare_run = runs
    mib_s = Row(
        "MiB/s (20 MiB per file)",
        UPLOAD_MIB * ours.throughput,
        UPLOAD_MIB * bare_run.throughput,
        p50=f"{fmt(ours.p50_ms)} | {fmt(bare_run.p50_ms)} ms",
        p99=f"{fmt(ours.p99_ms)} | {fmt(bare_run.p99_ms)} ms",
        cpu=f"{fmt(ours.cpu_per_op_ms)} | {fmt(bare_run.cpu_per_op_ms)} ms",
    )
    print_table(
        f"upload of {UPLOAD_MIB} MiB in 1 MiB chunks (createUpload, {UPLOAD_MIB} PUTs, completeUpload), "
        f"{plan.uploads} files one after the other ({backend})",
        [mib_s],
        [
            Target(
                f"≥ {UPLOAD_TARGET_MIB_S:.0f} MiB/s on loopback",
                f"ours {fmt(mib_s.ours)} MiB/s",
                mib_s.ours >= UPLOAD_TARGET_MIB_S and not ours.errors,
            )
        ],
        [
            *run_notes("ours", ours),
            *run_notes("baseline", bare_run),
            "baseline: the same PUTs to a bare route that reads, checks the SHA-256 header and writes each chunk",
        ],
    )


async def _guarded(label: str, step: Awaitable[None]) -> None:
    """A part that cannot run (the service not there yet, a refusal) is reported and the others still run."""
    try:
        await step
    except Exception as exc:
        print(f"\n## {label}: could not run — {type(exc).__name__}: {str(exc)[:400]}")
        sys.stdout.flush()


async def _load(server: ServerProcess, plan: Plan, backend: str) -> None:
    async with new_client(server.base_url, 4) as client:
        tokens = [await _sign_in(client) for _ in range(plan.concurrency + 2)]
    devices = [Device(token) for token in tokens[: plan.concurrency]]

    async def pushes() -> None:
        async with new_client(server.base_url, 4) as client:
            for device in devices:
                await push(client, device, [device.mutation("CREATE_DRAFT", {}, serviceCode=SERVICE_CODE)], bare=False)
        await _pushes(server, plan, backend, devices)

    await _guarded("syncPush", pushes())
    await _guarded("syncPull", _pull(server, plan, backend, Device(tokens[-2])))
    await _guarded("upload", _upload(server, plan, backend, Device(tokens[-1])))


def run(*, quick: bool = False) -> None:
    plan = Plan.quick() if quick else Plan()
    cpus: CpuPlan = plan_cpus()
    started = time.monotonic()
    with _backend() as (database_url, redis_url), tempfile.TemporaryDirectory(prefix="zsb-bench-") as raw_tmp:
        tmp = Path(raw_tmp)
        port = free_port()
        env, _ = _server_env(tmp, port)
        env.update({"APP_DATABASE_URL": database_url, "APP_REDIS_URL": redis_url})
        with mock.patch.dict(os.environ, env, clear=True):
            Settings()
        pin_self(cpus.client)
        backend = f"PostgreSQL + {'Redis' if redis_url else 'fakeredis'}"
        print(f"# sync benchmark — {backend}; {cpus.describe()}; uvicorn uvloop/httptools, load httpx")
        server = ServerProcess(
            port=port,
            env=env,
            log_path=tmp / "server.log",
            cpu=cpus.server,
            module_command=("bench.sync_server", "--serve"),
        )
        with server.running():
            print(f"# idle machine before the load: {background_cores():.2f} cores busy elsewhere")
            runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
            try:
                runner.run(_load(server, plan, backend))
            finally:
                runner.close()
        log = server.log_tail(20).strip()
        if log:
            print("\n# the server logged (last lines):\n" + "\n".join(f"#   {line}" for line in log.splitlines()))
    print(f"\n# sync benchmark done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
