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

`python -m bench sync [--quick]`; bench.sync_server is its server process (the template and the bare routes),
bench.sync_load the devices and operations.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from bench.auth import SignInFlow, fresh_phone, read_code
from bench.harness import (
    Operation,
    Row,
    RunResult,
    ServerProcess,
    Target,
    closed_loop,
    fmt,
    new_client,
    print_table,
    run_notes,
)
from bench.payments import drain
from bench.server import BARE_PREFIX
from bench.standalone import run_benchmark
from bench.sync_load import (
    MIB,
    PULL_DRAFTS,
    PULL_FIELDS,
    Device,
    File,
    _body,
    edit_operation,
    fill_space,
    full_pull,
    pull_operation,
    push,
    upload_file,
    upload_operations,
)
from bench.sync_server import SERVICE_CODE

UPLOAD_MIB = 20
# graphql.md §4, "sync push, n field edits": (mutations/s on one API process, p99 ms).
PUSH_TARGETS = {1: (1000.0, 20.0), 10: (300.0, 30.0), 100: (60.0, 150.0)}
PULL_TARGET_MS = 150.0
UPLOAD_TARGET_MIB_S = 50.0


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
        # The same pushes one at a time: the latency of a push that does not queue behind others.
        alone, bare_alone = await _pair(
            server,
            lambda b, n=edits: edit_operation(idle, n, bare=b),  # type: ignore[misc]
            concurrency=1,
            warmup=plan.warmup_seconds,
            seconds=plan.seconds / 2,
        )
        print_table(
            f"syncPush, one EDIT of {edits} field{'s' if edits > 1 else ''} per push — closed loop, "
            f"{plan.concurrency} devices (a space each) × {plan.seconds:.0f} s, then one at a time ({backend})",
            [
                Row.of_runs("mutations/s", ours, bare),
                Row.of_runs("per core (1 / CPU)", ours, bare, headline="per_core"),
                Row.of_runs("mutations/s, one device at a time", alone, bare_alone),
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
                *run_notes("ours, one at a time", alone),
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

    async def nothing(_database_url: str) -> None:
        """Every sync device signs up through the SMS sandbox: nothing to seed."""

    async def load(server: ServerProcess, backend: str, _seeded: None) -> None:
        await _load(server, plan, backend)

    run_benchmark("sync", "bench.sync_server", nothing, load)


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
