"""The APNs sandbox (§1.4): an HTTP/2 server over TLS on 127.0.0.1 that answers like api.push.apple.com.

In process: `await sandbox.start()` inside the running loop, then point the adapter at `localhost:{port}` trusting
only `ca_file`. Out of process (benchmarks, so that it runs on another core):
`python -m notifications.sandbox.apns --port 0 --dir DIR` prints its port, CA and provider key as JSON on one line
and serves until killed.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from starlette.applications import Starlette

from api.kit.clock import Clock
from notifications.sandbox.apns_rules import (
    MAX_PAYLOAD_BYTES,
    ProviderTokenVerifier,
    Step,
    convention,
    parse_step,
)
from notifications.sandbox.apns_server import Answer, ApnsServerProtocol
from notifications.sandbox.apns_tls import ApnsKeyMaterial, generate_key_material

_DEVICE_PREFIX = b"/3/device/"


class ApnsSandbox:
    """Records every request (`requests()`), answers by device-token convention or by per-token script."""

    def __init__(
        self,
        clock: Clock,
        *,
        directory: Path,
        topic: str,
        max_concurrent_streams: int = 500,
        log_path: Path | None = None,
        max_records: int | None = None,
    ) -> None:
        self.clock = clock
        self.directory = directory
        self.topic = topic
        self.max_concurrent_streams = max_concurrent_streams
        self.log_path = log_path
        self._records: deque[dict[str, Any]] = deque(maxlen=max_records)
        self._scripts: dict[str, deque[Step]] = {}
        self._keys: ApnsKeyMaterial | None = None
        self._verifier: ProviderTokenVerifier | None = None
        self._server: asyncio.Server | None = None
        self._protocols: set[ApnsServerProtocol] = set()
        self._log: IO[str] | None = None
        self.port = 0
        self.connection_count = 0  # connections accepted since start
        # Holds the server's first flight (SETTINGS, WINDOW_UPDATE) this long on new connections, the way a network
        # round trip does: a client must not assume the server's window or stream limit before it has them.
        self.preface_delay_ms = 0

    # -- lifecycle --

    async def start(self, *, port: int = 0) -> None:
        keys = self._keys = generate_key_material(self.directory)
        self._verifier = ProviderTokenVerifier(keys.provider_public_key, keys.key_id, keys.team_id)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(keys.cert_file, keys.key_file)
        context.set_alpn_protocols(["h2"])
        if self.log_path is not None:
            self._log = self.log_path.open("a", encoding="utf-8")
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._new_protocol, "127.0.0.1", port, ssl=context, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for protocol in list(self._protocols):
                protocol.close()
            await self._server.wait_closed()
            self._server = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def _new_protocol(self) -> ApnsServerProtocol:
        self.connection_count += 1
        protocol = ApnsServerProtocol(
            self._answer,
            max_streams=self.max_concurrent_streams,
            connection_no=self.connection_count,
            on_close=self._protocols.discard,
            preface_delay_ms=self.preface_delay_ms,
        )
        self._protocols.add(protocol)
        return protocol

    # -- what clients need --

    @property
    def keys(self) -> ApnsKeyMaterial:
        if self._keys is None:
            raise RuntimeError("the APNs sandbox is not started")
        return self._keys

    @property
    def ca_file(self) -> Path:
        return self.keys.ca_file

    @property
    def provider_key_pem(self) -> str:
        return self.keys.provider_key_pem

    @property
    def key_id(self) -> str:
        return self.keys.key_id

    @property
    def team_id(self) -> str:
        return self.keys.team_id

    # -- the harness --

    def requests(self, token: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self._records if token is None or r["token"] == token]

    def clear(self) -> None:
        self._records.clear()

    def script(self, token: str, sequence: Iterable[object]) -> None:
        """The next requests for `token` get these answers in order (statuses or action objects), then the
        token convention again. Replaces an earlier script of the token; ValueError for a malformed step."""
        steps = deque(step if isinstance(step, Step) else parse_step(step) for step in sequence)
        if not steps:
            raise ValueError("sequence must be a non-empty list of steps")
        self._scripts[token] = steps

    def clear_scripts(self, token: str | None = None) -> None:
        if token is None:
            self._scripts.clear()
        else:
            self._scripts.pop(token, None)

    def scripts(self) -> dict[str, list[dict[str, Any]]]:
        return {token: [step.to_json() for step in steps] for token, steps in self._scripts.items()}

    def reset(self) -> None:
        self.clear()
        self.clear_scripts()

    def control_app(self) -> Starlette:
        from notifications.sandbox.apns_control import build_control_app

        return build_control_app(self)

    # -- answering --

    def _answer(self, headers: dict[bytes, bytes], body: bytes, connection_no: int) -> Answer:
        apns_id = headers.get(b"apns-id") or str(uuid.uuid4()).encode()
        path = headers.get(b":path", b"")
        token = path[len(_DEVICE_PREFIX) :].decode("utf-8", "replace") if path.startswith(_DEVICE_PREFIX) else ""
        assert self._verifier is not None
        check = self._verifier.check(headers.get(b"authorization"))
        topic = headers.get(b"apns-topic", b"").decode("utf-8", "replace")
        if headers.get(b":method") != b"POST":
            step = Step(405, "MethodNotAllowed")
        elif not token or "/" in token:
            step = Step(404, "BadPath")
        elif check.reason is not None:
            step = Step(403, check.reason)
        elif not topic:
            step = Step(400, "MissingTopic")
        elif topic != self.topic:
            step = Step(400, "TopicDisallowed")
        elif len(body) > MAX_PAYLOAD_BYTES:
            step = Step(413, "PayloadTooLarge")
        elif not body:
            step = Step(400, "PayloadEmpty")
        else:
            step = self._scripted(token) or convention(token)
        timestamp = int(self.clock.now().timestamp() * 1000) if step.status == 410 else None
        self._record(token, step, apns_id, topic, headers, check.fingerprint, body, connection_no)
        if step.status == 200 or step.no_answer or step.goaway:
            return Answer(step, apns_id)
        error: dict[str, Any] = {"reason": step.reason}
        if timestamp is not None:
            error["timestamp"] = timestamp
        return Answer(step, apns_id, json.dumps(error, separators=(",", ":")).encode())

    def _scripted(self, token: str) -> Step | None:
        steps = self._scripts.get(token)
        if not steps:
            return None
        step = steps.popleft()
        if not steps:
            del self._scripts[token]
        return step

    def _record(
        self,
        token: str,
        step: Step,
        apns_id: bytes,
        topic: str,
        headers: dict[bytes, bytes],
        fingerprint: str | None,
        body: bytes,
        connection_no: int,
    ) -> None:
        parsed: Any
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        status = None if step.no_answer or step.goaway else step.status
        reason = "GOAWAY" if step.goaway else ("NoAnswer" if step.no_answer else step.reason)
        record = {
            "time": self.clock.now().isoformat(),
            "token": token,
            "status": status,
            "reason": reason,
            "delayMs": step.delay_ms,
            "apnsId": apns_id.decode("ascii", "replace"),
            "topic": topic,
            "pushType": _text(headers.get(b"apns-push-type")),
            "collapseId": _text(headers.get(b"apns-collapse-id")),
            "priority": _text(headers.get(b"apns-priority")),
            "expiration": _text(headers.get(b"apns-expiration")),
            "jwtFingerprint": fingerprint,
            "connection": connection_no,
            "bodyBytes": len(body),
            "body": parsed,
        }
        self._records.append(record)
        if self._log is not None:
            self._log.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._log.flush()


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "replace")


if __name__ == "__main__":
    from notifications.sandbox.apns_cli import main

    main()
