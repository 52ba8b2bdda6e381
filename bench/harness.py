"""Shared benchmark machinery: the server process, CPU accounting, the HTTP load generator and the tables.

The server runs in its own process (`python -m bench.server`) pinned to one core; the load generator runs here,
pinned to another, so that the figures measure one API core as graphql.md §4 states them. Latency under a fixed
rate is measured from the moment a request was *due*, not from when it was sent, so that a stalled server
cannot hide its queue (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# One operation of a load run: raises on any failure; may be a multi-request flow.
Operation = Callable[[httpx.AsyncClient], Awaitable[None]]


# ------------------------------------------------------------------------------------------------ statistics


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of unsorted `values` (nan when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


# ------------------------------------------------------------------------------------------------ processes


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of every thread of `pid` so far (from /proc, so that no psutil is needed)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
    fields = raw[raw.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLOCK_TICKS


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuPlan:
    server: int | None
    client: int | None

    @property
    def pinned(self) -> bool:
        return self.server is not None

    def describe(self) -> str:
        if not self.pinned:
            return "not pinned (fewer than 2 usable cores)"
        return f"server pinned to CPU {self.server}, load generator to CPU {self.client}"


def plan_cpus() -> CpuPlan:
    usable = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(usable) < 2:
        return CpuPlan(None, None)
    return CpuPlan(usable[0], usable[1])


def pin_self(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    """`python -m bench.server` on a loopback port, with the given APP_* environment; stopped on exit."""

    port: int
    env: dict[str, str]
    log_path: Path
    cpu: int | None = None
    process: subprocess.Popen[bytes] | None = None
    # The module that serves: bench.server, or a benchmark's own module run with --serve (its bare routes).
    module_command: tuple[str, ...] = ("bench.server",)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    @contextlib.contextmanager
    def running(self, timeout: float = 60.0) -> Iterator[ServerProcess]:
        command = [sys.executable, "-m", *self.module_command, "--port", str(self.port)]
        if self.cpu is not None:
            command += ["--cpu", str(self.cpu)]
        with self.log_path.open("wb") as log:
            # From the project root, so that `bench` (not an installed package) imports wherever we were started.
            self.process = subprocess.Popen(
                command, env=self.env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_ready(timeout)
            yield self
        finally:
            self._stop()

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the bench server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the bench server was not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def _stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


# ------------------------------------------------------------------------------------------------ load


def system_busy_seconds() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine so far, all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS, steal / CLOCK_TICKS


def background_cores(seconds: float = 1.0) -> float:
    """Cores the rest of the machine keeps busy while this process sleeps (other users, daemons, databases)."""
    busy0, _ = system_busy_seconds()
    own0 = own_cpu_seconds()
    time.sleep(seconds)
    busy1, _ = system_busy_seconds()
    return max(0.0, (busy1 - busy0) - (own_cpu_seconds() - own0)) / seconds


@dataclass
class RunResult:
    """One load run against one side (ours or the baseline). Latencies in seconds."""

    completed: int = 0
    errors: int = 0
    first_error: str = ""
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    other_cpu: float = 0.0  # everything else the machine ran meanwhile (other users, databases, the kernel)
    steal: float = 0.0
    offered_rate: float | None = None

    @property
    def throughput(self) -> float:
        return self.completed / self.elapsed if self.elapsed else math.nan

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 0.50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 0.99) * 1000

    @property
    def cpu_per_op_ms(self) -> float:
        return self.server_cpu / self.completed * 1000 if self.completed else math.nan

    @property
    def server_utilisation(self) -> float:
        return self.server_cpu / self.elapsed if self.elapsed else math.nan

    @property
    def client_utilisation(self) -> float:
        return self.client_cpu / self.elapsed if self.elapsed else math.nan

    @property
    def other_cores(self) -> float:
        return self.other_cpu / self.elapsed if self.elapsed else math.nan

    def fail(self, exc: BaseException) -> None:
        self.errors += 1
        if not self.first_error:
            self.first_error = f"{type(exc).__name__}: {exc}"[:300]


class _Meter:
    """Server, client and machine CPU over one run."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.started = time.perf_counter()
        self.server0 = process_cpu_seconds(server_pid)
        self.client0 = own_cpu_seconds()
        self.busy0, self.steal0 = system_busy_seconds()

    def close(self, result: RunResult) -> RunResult:
        result.elapsed = time.perf_counter() - self.started
        result.server_cpu = process_cpu_seconds(self.server_pid) - self.server0
        result.client_cpu = own_cpu_seconds() - self.client0
        busy, steal = system_busy_seconds()
        result.other_cpu = max(0.0, busy - self.busy0 - result.server_cpu - result.client_cpu)
        result.steal = steal - self.steal0
        return result


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The load generator's cyclic collector off for one run, after a full collection.

    Its heap grows with every latency recorded and every client kept: its full collections grew to 130–320 ms
    (pages benchmark), and every request due meanwhile counted that pause as server latency (a p99 of 400 ms for
    a p50 of 6 ms). What a run leaves in cycles is collected before the next one."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def new_client(base_url: str, connections: int = 1) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=httpx.Timeout(30.0))


@contextlib.asynccontextmanager
async def client_pool(base_url: str, size: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """`size` clients of one keep-alive connection each.

    One pooled httpx client shared by many tasks spends more CPU choosing connections than sending requests
    (httpcore's pool is O(connections) per request: ~3× the client CPU at 32 connections on this machine);
    a client per worker keeps the load generator's cost per request flat.
    """
    clients = [new_client(base_url, 1) for _ in range(size)]
    try:
        yield clients
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


@contextlib.asynccontextmanager
async def _quiet() -> AsyncIterator[None]:
    with collector_paused():
        yield


async def closed_loop(
    base_url: str, operation: Operation, *, concurrency: int, seconds: float, server_pid: int
) -> RunResult:
    """`concurrency` workers, each sending its next operation as soon as the previous one finished."""
    async with client_pool(base_url, concurrency) as clients, _quiet():
        result = RunResult()
        meter = _Meter(server_pid)
        deadline = meter.started + seconds

        async def worker(client: httpx.AsyncClient) -> None:
            while (start := time.perf_counter()) < deadline:
                try:
                    await operation(client)
                except Exception as exc:  # counted and shown; a benchmark reports, it does not stop
                    result.fail(exc)
                    continue
                result.latencies.append(time.perf_counter() - start)
                result.completed += 1

        await asyncio.gather(*(worker(client) for client in clients))
        return meter.close(result)


async def fixed_rate(
    base_url: str, operation: Operation, *, rate: float, seconds: float, server_pid: int, connections: int = 64
) -> RunResult:
    """Open loop: operation i is due at start + i/rate, whatever happened to the ones before it.

    Latency runs from the due time, so time spent waiting for a free connection (a server falling behind)
    counts, as it would for a client.
    """
    async with client_pool(base_url, connections) as clients, _quiet():
        idle: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for client in clients:
            idle.put_nowait(client)
        result = RunResult(offered_rate=rate)
        meter = _Meter(server_pid)
        total = int(rate * seconds)
        tasks: list[asyncio.Task[None]] = []

        async def one(due: float) -> None:
            client = await idle.get()
            try:
                await operation(client)
            except Exception as exc:  # counted and shown
                result.fail(exc)
                return
            finally:
                idle.put_nowait(client)
            result.latencies.append(time.perf_counter() - due)
            result.completed += 1

        for i in range(total):
            due = meter.started + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(due)))
        # A server far behind the schedule would stretch the run without bound: what is not done by twice the
        # planned time (at least 5 s more) counts as failed.
        grace = max(seconds, 5.0) - (time.perf_counter() - meter.started - seconds)
        _, pending = await asyncio.wait(tasks, timeout=max(grace, 0.0))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for _ in pending:
            result.fail(TimeoutError(f"not answered within {seconds + max(seconds, 5.0):.0f} s of the start"))
        return meter.close(result)


# ------------------------------------------------------------------------------------------------ tables


def ratio(ours: float, baseline: float) -> float:
    return ours / baseline if baseline and not math.isnan(baseline) else math.nan


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None or math.isnan(value):
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def pair(ours: float | None, baseline: float | None, unit: str = "") -> str:
    return f"{fmt(ours)} | {fmt(baseline)}{unit}"


@dataclass(frozen=True)
class Row:
    """One line of a table: a headline metric for both sides, and the latency/CPU of the same runs."""

    metric: str
    ours: float
    baseline: float
    p50: str = ""
    p99: str = ""
    cpu: str = ""
    ratio_override: float | None = None

    @property
    def ratio(self) -> float:
        return self.ratio_override if self.ratio_override is not None else ratio(self.ours, self.baseline)

    @classmethod
    def of_runs(cls, metric: str, ours: RunResult, baseline: RunResult, *, headline: str = "throughput") -> Row:
        if headline == "per_core":
            return cls(metric, 1000 / ours.cpu_per_op_ms, 1000 / baseline.cpu_per_op_ms)
        values = (ours.throughput, baseline.throughput)
        return cls(
            metric,
            values[0],
            values[1],
            p50=pair(ours.p50_ms, baseline.p50_ms, " ms"),
            p99=pair(ours.p99_ms, baseline.p99_ms, " ms"),
            cpu=pair(ours.cpu_per_op_ms, baseline.cpu_per_op_ms, " ms"),
        )


@dataclass(frozen=True)
class Target:
    """A graphql.md §4 target beside the figure it is checked against; `met` None: reported, no threshold."""

    text: str
    figure: str
    met: bool | None

    @property
    def mark(self) -> str:
        return {True: "PASS", False: "MISS", None: "(reported)"}[self.met]


def print_table(title: str, rows: Sequence[Row], targets: Sequence[Target] = (), notes: Sequence[str] = ()) -> None:
    header = ("metric", "ours", "baseline", "ratio", "p50 (ours | base)", "p99 (ours | base)", "CPU/req (ours | base)")
    lines = [(r.metric, fmt(r.ours), fmt(r.baseline), fmt(r.ratio), r.p50, r.p99, r.cpu) for r in rows]
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]
    right = {1, 2, 3}

    def render(cells: Sequence[str]) -> str:
        return " | ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(cells)
        ).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    print()
    print(f"## {title}")
    print(render(header))
    print(rule)
    for line in lines:
        print(render(line))
    for target in targets:
        print(f"  target: {target.text} — {target.figure} → {target.mark}")
    for note in notes:
        print(f"  note: {note}")
    sys.stdout.flush()


def run_notes(label: str, result: RunResult) -> list[str]:
    """Utilisation and failures of one run, so that a saturated load generator or errors are never hidden."""
    notes = [
        f"{label}: {result.completed} ops in {result.elapsed:.1f} s; server core {result.server_utilisation:.0%}, "
        f"load generator {result.client_utilisation:.0%}, rest of the machine {result.other_cores:.2f} cores"
        + (f", steal {result.steal / result.elapsed:.0%}" if result.steal > 0.05 * result.elapsed else "")
    ]
    if result.client_utilisation > 0.9:
        notes.append(f"{label}: the load generator was saturated; the figure is a lower bound")
    if result.other_cores > 0.5:
        notes.append(
            f"{label}: other processes (external database/Redis, other users of the machine) used "
            f"{result.other_cores:.2f} cores meanwhile; expect noise"
        )
    if result.errors:
        notes.append(f"{label}: {result.errors} failed operations, first: {result.first_error}")
    return notes
