"""`python -m notifications.sandbox.apns --port N --dir D`: the APNs sandbox in its own process (benchmarks put
it on another core). Prints one JSON line (port, CA file, provider key and ids, topic, control port) and serves until
SIGTERM or SIGINT; `--control-port` also serves the control app over plain HTTP."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

from api.kit.clock import SystemClock
from notifications.sandbox.apns import ApnsSandbox


async def _serve(args: argparse.Namespace) -> None:
    sandbox = ApnsSandbox(
        SystemClock(),
        directory=Path(args.dir),
        topic=args.topic,
        max_concurrent_streams=args.max_streams,
        max_records=args.max_records,
        log_path=Path(args.log) if args.log else None,
    )
    await sandbox.start(port=args.port)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    control: Any = None
    control_task: asyncio.Task[None] | None = None
    if args.control_port is not None:
        import uvicorn

        config = uvicorn.Config(
            sandbox.control_app(), host="127.0.0.1", port=args.control_port, log_level="warning", lifespan="off"
        )
        control = uvicorn.Server(config)
        control_task = asyncio.create_task(control.serve())
        while not control.started:  # noqa: ASYNC110 (uvicorn offers no started event)
            await asyncio.sleep(0.01)
    info = {
        "port": sandbox.port,
        "caFile": str(sandbox.ca_file),
        "providerKeyFile": str(sandbox.keys.provider_key_file),
        "providerKeyPem": sandbox.provider_key_pem,
        "keyId": sandbox.key_id,
        "teamId": sandbox.team_id,
        "topic": sandbox.topic,
        "controlPort": control.servers[0].sockets[0].getsockname()[1] if control is not None else None,
    }
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    await stopped.wait()
    if control is not None and control_task is not None:
        control.should_exit = True
        await control_task
    await sandbox.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m notifications.sandbox.apns", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dir", required=True, help="where the throwaway CA and keys are written")
    parser.add_argument("--topic", default="cn.gov.zsb.app")
    parser.add_argument("--max-streams", type=int, default=500)
    parser.add_argument("--max-records", type=int, default=100_000, help="requests kept in memory (the latest)")
    parser.add_argument("--log", default="", help="also append every request to this file as JSON lines")
    parser.add_argument("--control-port", type=int, default=None, help="serve /_control over HTTP on this port")
    parser.add_argument("--no-uvloop", action="store_true")
    args = parser.parse_args(argv)
    if not args.no_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            uvloop.run(_serve(args))
            return
    asyncio.run(_serve(args))
