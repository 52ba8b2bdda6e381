"""Throwaway PostgreSQL and Redis servers on loopback, for the suite's ``server`` backend.

    with postgres_server() as pg, redis_server() as rs:
        pg.url                      # postgres://postgres@127.0.0.1:<port>/zsb_test  (tortoise / asyncpg)
        pg.create_database("other") # -> postgres://postgres@127.0.0.1:<port>/other
        rs.url                      # redis://127.0.0.1:<port>/0

Each server gets a free loopback port and a private directory under ``tempfile``; both are stopped and
removed on exit, whatever ends the block (an exception, a failed start, Ctrl-C). PostgreSQL refuses to run as
root, so as root its binaries run as the ``postgres`` system user through ``runuser``; as anyone else they run
as the current user. The cluster is made for speed, not durability: ``initdb --no-sync``, ``fsync=off``.

``python -m tests.support.servers`` starts both and prints ``APP_DATABASE_URL`` and ``APP_REDIS_URL``;
Ctrl-C stops them.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

HOST = "127.0.0.1"
PREFERRED_POSTGRES_MAJOR = 15
POSTGRES_OS_USER = "postgres"  # the system account the binaries run as when we are root
POSTGRES_ROLE = "postgres"  # the cluster's superuser (trust authentication, no password)
DEFAULT_DATABASE = "zsb_test"
POSTGRES_START_TIMEOUT = 60.0
REDIS_START_TIMEOUT = 20.0
STOP_TIMEOUT = 30.0
PORT_ATTEMPTS = 3  # a free port can be taken between picking it and binding it: try another
LOG_TAIL_LINES = 40

_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_ADDRESS_IN_USE = "Address already in use"


class ServerError(RuntimeError):
    """A throwaway server could not be found, started, used or stopped."""


# --------------------------------------------------------------------------------------------- helpers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_is_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def log_tail(path: Path, lines: int = LOG_TAIL_LINES, *, start: int = 0) -> str:
    """The last lines of a log file (from byte `start` on), for error messages."""
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            data = handle.read()
    except OSError as exc:
        return f"(no log at {path}: {exc.strerror})"
    text = data.decode("utf-8", errors="replace").rstrip()
    return "\n".join(text.splitlines()[-lines:]) if text else f"(log {path} is empty)"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _clean_env() -> dict[str, str]:
    # PGDATA, PGPORT, PGDATABASE, PGSSLMODE, PGSERVICE... would steer the binaries elsewhere.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["PGCONNECT_TIMEOUT"] = "10"
    return env


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def _explain(
    what: str, argv: Sequence[str], *, stdout: str = "", stderr: str = "", log: Path | None, start: int = 0
) -> str:
    parts = [what, f"  command: {shlex.join(argv)}"]
    for name, output in (("stdout", stdout), ("stderr", stderr)):
        if output.strip():
            parts.append(f"  {name}:\n" + _indent(output.rstrip()))
    if log is not None:
        parts.append(f"  last lines of {log}:\n" + _indent(log_tail(log, start=start)))
    return "\n".join(parts)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _run(
    argv: Sequence[str],
    *,
    what: str,
    timeout: float,
    cwd: Path | None = None,
    log: Path | None = None,
    log_start: int = 0,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            cwd=cwd,
            env=_clean_env(),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        message = _explain(
            f"{what}: timed out after {timeout:g}s",
            argv,
            stdout=_text(exc.stdout),
            stderr=_text(exc.stderr),
            log=log,
            start=log_start,
        )
        raise ServerError(message) from None
    except OSError as exc:
        raise ServerError(f"{what}: could not run {argv[0]}: {exc}") from exc
    if check and result.returncode != 0:
        message = _explain(
            f"{what}: exit status {result.returncode}",
            argv,
            stdout=result.stdout,
            stderr=result.stderr,
            log=log,
            start=log_start,
        )
        raise ServerError(message)
    return result


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Let cleanup finish when Ctrl-C is pressed (again) during it; the interrupt is delivered afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def remember(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGINT, remember)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if previous is signal.default_int_handler:
                raise KeyboardInterrupt
            if callable(previous):
                previous(signal.SIGINT, None)


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():  # something still writing into it: one more go
        time.sleep(0.1)
        shutil.rmtree(path, ignore_errors=True)


# ------------------------------------------------------------------------------------------ PostgreSQL


def _major(bindir: Path) -> int | None:
    match = re.fullmatch(r"\d+", bindir.parent.name)
    return int(match.group()) if match else None


def _is_postgres_bindir(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres", "createdb"))


def _pg_config_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    with contextlib.suppress(ServerError):
        result = _run([pg_config, "--bindir"], what="pg_config --bindir", timeout=10, check=False)
        if result.returncode == 0 and result.stdout.strip():
            return Path(result.stdout.strip())
    return None


def find_postgres_bindir() -> Path | None:
    """Where initdb, pg_ctl and postgres are: $ZSB_PG_BINDIR, else PostgreSQL 15's, else the newest."""
    override = os.environ.get("ZSB_PG_BINDIR")
    if override:
        if not _is_postgres_bindir(Path(override)):
            raise ServerError(f"ZSB_PG_BINDIR={override} has no initdb, pg_ctl, postgres and createdb")
        return Path(override)
    debian = sorted(
        (path for path in Path("/usr/lib/postgresql").glob("*/bin") if _major(path) is not None),
        key=lambda path: (_major(path) != PREFERRED_POSTGRES_MAJOR, -(_major(path) or 0)),
    )
    candidates: list[Path] = debian[:1]
    if (from_pg_config := _pg_config_bindir()) is not None:
        candidates.append(from_pg_config)
    candidates.extend(debian[1:])
    if (initdb := shutil.which("initdb")) is not None:
        candidates.append(Path(initdb).resolve().parent)
    return next((path for path in candidates if _is_postgres_bindir(path)), None)


@dataclass(frozen=True)
class _RunAs:
    """How to run the PostgreSQL binaries: as the current user, or as `postgres` through runuser."""

    prefix: tuple[str, ...]
    uid: int | None
    gid: int | None

    def argv(self, *args: str | Path) -> list[str]:
        return [*self.prefix, *(str(arg) for arg in args)]


def _postgres_run_as() -> _RunAs:
    if os.geteuid() != 0:
        return _RunAs(prefix=(), uid=None, gid=None)
    try:
        account = pwd.getpwnam(POSTGRES_OS_USER)
    except KeyError:
        raise ServerError(
            f"running as root, and PostgreSQL refuses to run as root; there is no {POSTGRES_OS_USER!r} "
            "system user to run it as (install postgresql-15, or run the tests as a non-root user)"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ServerError("running as root, and `runuser` (util-linux) is missing: cannot drop to postgres")
    return _RunAs(prefix=(runuser, "-u", POSTGRES_OS_USER, "--"), uid=account.pw_uid, gid=account.pw_gid)


def _traversable_by(path: Path, uid: int, gid: int) -> bool:
    """Whether user uid (primary group gid) can reach `path` (every ancestor searchable)."""
    for directory in [path, *path.parents]:
        info = directory.stat()
        if info.st_uid == uid:
            bit = stat.S_IXUSR
        elif info.st_gid == gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return False
    return True


def _postgres_root(run_as: _RunAs) -> Path:
    """A fresh temporary directory that the user running PostgreSQL owns and can reach."""
    root = Path(tempfile.mkdtemp(prefix="zsb-pg-")).resolve()
    if run_as.uid is None or run_as.gid is None:
        return root
    os.chown(root, run_as.uid, run_as.gid)
    if _traversable_by(root, run_as.uid, run_as.gid):
        return root
    # e.g. TMPDIR under /root: the postgres user cannot get in. /tmp (mode 1777) always lets it.
    _remove_tree(root)
    root = Path(tempfile.mkdtemp(prefix="zsb-pg-", dir="/tmp")).resolve()
    os.chown(root, run_as.uid, run_as.gid)
    if not _traversable_by(root, run_as.uid, run_as.gid):
        _remove_tree(root)
        raise ServerError(f"the {POSTGRES_OS_USER} user cannot reach a temporary directory (tried {root})")
    return root


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway PostgreSQL cluster; its superuser `postgres` connects without a password."""

    host: str
    port: int
    user: str
    database: str
    version: str
    bindir: Path
    root: Path  # the temporary directory: data/, the socket and postgres.log; removed on exit
    data_dir: Path
    socket_dir: Path
    log_path: Path

    @property
    def url(self) -> str:
        """The default database's URL, in the form tortoise (asyncpg) and asyncpg.connect take."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgres://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database `name` (lowercase identifier) and return its URL."""
        self._client("createdb", name)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database `name`, disconnecting whoever is still connected to it."""
        self._client("dropdb", "--force", "--if-exists", name)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return log_tail(self.log_path, lines)

    def _client(self, program: str, *args: str) -> None:
        name = args[-1]
        if not _DATABASE_NAME.fullmatch(name):
            raise ValueError(f"database name must match {_DATABASE_NAME.pattern}: {name!r}")
        argv = [str(self.bindir / program), "-h", self.host, "-p", str(self.port), "-U", self.user, *args]
        _run(argv, what=f"{program} {name}", timeout=STOP_TIMEOUT, log=self.log_path, log_start=0)


def _postgres_options(port: int, socket_dir: Path, settings: Mapping[str, str]) -> str:
    merged = {
        "listen_addresses": HOST,
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        **settings,
    }
    # pg_ctl hands -o to a shell: quote every word.
    words = ["-p", str(port), "-k", str(socket_dir)]
    for key, value in merged.items():
        words += ["-c", f"{key}={value}"]
    return shlex.join(words)


def _stop_postgres(bindir: Path, data_dir: Path, run_as: _RunAs, cwd: Path) -> None:
    """Stop the cluster in data_dir if it runs (immediate mode: its data is thrown away anyway)."""
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return
    timeout = str(int(STOP_TIMEOUT))
    argv = run_as.argv(bindir / "pg_ctl", "-D", data_dir, "-m", "immediate", "-w", "-t", timeout, "stop")
    with contextlib.suppress(ServerError):
        _run(argv, what="pg_ctl stop", timeout=STOP_TIMEOUT + 10, cwd=cwd, check=False)
    if not pid_file.exists():
        return
    # pg_ctl could not stop it (or it never finished starting): kill the postmaster and its children.
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)


def _kill_processes_using(directory: Path) -> None:
    """SIGKILL every process whose command line names `directory` (a unique temporary one) and wait for them.

    The backstop for an interrupted start: initdb, pg_ctl or a postmaster that has not written its pid file
    yet are not reachable through postmaster.pid. Linux only (/proc); elsewhere a no-op.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return
    needle = str(directory).encode()
    quiet_passes = 0
    deadline = time.monotonic() + 5
    while quiet_passes < 2 and time.monotonic() < deadline:
        pids: list[int] = []
        for entry in proc.iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                if needle in (entry / "cmdline").read_bytes() and _alive(int(entry.name)):
                    pids.append(int(entry.name))
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.02)
        quiet_passes = 0 if pids else quiet_passes + 1
        if not pids:
            time.sleep(0.02)


def _alive(pid: int) -> bool:
    """Whether process pid still runs (a zombie nobody reaps, as under some container inits, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0] != "Z"
    return True


@contextlib.contextmanager
def postgres_server(
    *,
    database: str = DEFAULT_DATABASE,
    settings: Mapping[str, str] | None = None,
    timeout: float = POSTGRES_START_TIMEOUT,
) -> Iterator[PostgresServer]:
    """Start a throwaway PostgreSQL cluster on a free loopback port with `database` created in it.

    `settings` are extra server parameters (``-c key=value``). Raises ServerError (with the server log's
    tail) when the binaries are missing or the cluster does not start within `timeout` seconds.
    """
    bindir = find_postgres_bindir()
    if bindir is None:
        raise ServerError(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres): install postgresql-15, "
            "or point ZSB_PG_BINDIR at them"
        )
    run_as = _postgres_run_as()
    root = _postgres_root(run_as)
    data_dir = root / "data"
    log_path = root / "postgres.log"
    try:
        version = _run([str(bindir / "postgres"), "--version"], what="postgres --version", timeout=10)
        initdb = run_as.argv(
            bindir / "initdb", "-D", data_dir, "-A", "trust", "-U", POSTGRES_ROLE,
            "--no-sync", "-E", "UTF8", "--no-locale",
        )  # fmt: skip
        _run(initdb, what="initdb", timeout=timeout, cwd=root)
        server: PostgresServer | None = None
        for attempt in range(1, PORT_ATTEMPTS + 1):
            port = free_port()
            log_start = _size(log_path)
            pg_ctl = run_as.argv(
                bindir / "pg_ctl", "-D", data_dir, "-l", log_path, "-w", "-t", str(int(timeout)),
                "-o", _postgres_options(port, root, settings or {}), "start",
            )  # fmt: skip
            result = _run(
                pg_ctl,
                what="pg_ctl start",
                timeout=timeout + 10,
                cwd=root,
                log=log_path,
                log_start=log_start,
                check=False,
            )
            if result.returncode == 0:
                server = PostgresServer(
                    host=HOST,
                    port=port,
                    user=POSTGRES_ROLE,
                    database=database,
                    version=version.stdout.strip(),
                    bindir=bindir,
                    root=root,
                    data_dir=data_dir,
                    socket_dir=root,
                    log_path=log_path,
                )
                break
            _stop_postgres(bindir, data_dir, run_as, root)
            in_use = _ADDRESS_IN_USE in log_tail(log_path, start=log_start)
            if not in_use or attempt == PORT_ATTEMPTS:
                message = _explain(
                    f"PostgreSQL did not start on {HOST}:{port} (exit status {result.returncode})",
                    pg_ctl,
                    stdout=result.stdout,
                    stderr=result.stderr,
                    log=log_path,
                    start=log_start,
                )
                raise ServerError(message)
        assert server is not None
        if not port_is_open(server.port):
            raise ServerError(
                f"PostgreSQL says it started but {HOST}:{server.port} refuses connections:\n"
                + _indent(server.log_tail())
            )
        server.create_database(database)
        yield server
    finally:
        with _sigint_deferred():
            try:
                _stop_postgres(bindir, data_dir, run_as, root)
                _kill_processes_using(root)
            finally:
                _remove_tree(root)


# ----------------------------------------------------------------------------------------------- Redis


def find_redis_server() -> Path | None:
    """The redis-server executable: $ZSB_REDIS_SERVER, else the one on PATH."""
    override = os.environ.get("ZSB_REDIS_SERVER")
    if override:
        if not os.access(override, os.X_OK):
            raise ServerError(f"ZSB_REDIS_SERVER={override} is not an executable")
        return Path(override)
    found = shutil.which("redis-server")
    return Path(found) if found else None


def redis_ping(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """Whether a Redis server answers PING on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass(frozen=True)
class RedisServer:
    """A running throwaway Redis server (no persistence, no password)."""

    host: str
    port: int
    pid: int
    root: Path  # the temporary directory (working dir and redis.log); removed on exit
    log_path: Path

    @property
    def url(self) -> str:
        return self.url_for(0)

    def url_for(self, db: int) -> str:
        return f"redis://{self.host}:{self.port}/{db}"

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return log_tail(self.log_path, lines)


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT / 3)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


@contextlib.contextmanager
def redis_server(*, extra_args: Sequence[str] = (), timeout: float = REDIS_START_TIMEOUT) -> Iterator[RedisServer]:
    """Start a throwaway Redis server on a free loopback port; `extra_args` go on its command line.

    Raises ServerError (with the server log's tail) when redis-server is missing or does not answer PING
    within `timeout` seconds.
    """
    executable = find_redis_server()
    if executable is None:
        raise ServerError("no redis-server on PATH: install redis-server, or point ZSB_REDIS_SERVER at it")
    root = Path(tempfile.mkdtemp(prefix="zsb-redis-")).resolve()
    log_path = root / "redis.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        server: RedisServer | None = None
        for attempt in range(1, PORT_ATTEMPTS + 1):
            port = free_port()
            log_start = _size(log_path)
            argv = [
                str(executable), "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--dir", str(root), *extra_args,
            ]  # fmt: skip
            with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=root,
                    env=_clean_env(),
                    start_new_session=True,
                )
            deadline = time.monotonic() + timeout
            while process.poll() is None and time.monotonic() < deadline:
                if redis_ping(port):
                    server = RedisServer(host=HOST, port=port, pid=process.pid, root=root, log_path=log_path)
                    break
                time.sleep(0.02)
            if server is not None:
                break
            exited = process.poll()
            _stop_process(process)
            in_use = exited is not None and _ADDRESS_IN_USE in log_tail(log_path, start=log_start)
            if in_use and attempt < PORT_ATTEMPTS:
                continue
            what = (
                f"redis-server exited with status {exited}"
                if exited is not None
                else f"redis-server did not answer PING on {HOST}:{port} within {timeout:g}s"
            )
            raise ServerError(_explain(what, argv, log=log_path, start=log_start))
        assert server is not None
        yield server
    finally:
        with _sigint_deferred():
            try:
                if process is not None:
                    _stop_process(process)
            finally:
                _remove_tree(root)


# ------------------------------------------------------------------------------------------------- CLI


def missing_requirements() -> list[str]:
    """Why the servers cannot start here (empty when they can): for skip reasons and CI preflight."""
    missing: list[str] = []
    try:
        if find_postgres_bindir() is None:
            missing.append("PostgreSQL server binaries (postgresql-15)")
        else:
            _postgres_run_as()
    except ServerError as exc:
        missing.append(str(exc))
    try:
        if find_redis_server() is None:
            missing.append("redis-server")
    except ServerError as exc:
        missing.append(str(exc))
    return missing


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Start both servers, print their URLs as environment assignments and wait for Ctrl-C (or SIGTERM)."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # also when started in the background, with SIGINT ignored
    started = time.monotonic()
    with postgres_server() as pg, redis_server() as rs:
        print(f"# {pg.version}; started in {time.monotonic() - started:.2f}s; Ctrl-C stops and removes both")
        print(f"export APP_DATABASE_URL={pg.url}")
        print(f"export APP_REDIS_URL={rs.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
