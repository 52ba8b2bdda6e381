"""The APNs sandbox's HTTP/2 framing, on raw `h2` (§1.4): ASGI servers cannot answer the way APNs does.

A 200 is HEADERS with END_STREAM and nothing else; an error is HEADERS plus exactly one JSON DATA frame. aioapns
runs `json.loads` on every DATA frame, so an empty or split body would kill the client's connection (behaviour 5).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from h2.config import H2Configuration
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RequestReceived,
    StreamEnded,
    StreamReset,
    WindowUpdated,
)
from h2.exceptions import ProtocolError
from h2.settings import SettingCodes, Settings

from notifications.channels.apns_h2 import ExactStreamCount, PlainEncoder
from notifications.sandbox.apns_rules import Step

# Streams a client may open before it has applied our SETTINGS: aioapns starts at 1,000 and only then follows the
# advertised limit, which takes effect here once the client acknowledges it (RFC 9113 §6.5.3).
_STREAMS_BEFORE_ACK = 2000
_BODY_CAP = 64 * 1024  # read no further: the answer is 413 anyway
_CONFIG = H2Configuration(
    client_side=False,
    header_encoding=None,
    validate_inbound_headers=False,
    normalize_inbound_headers=False,
    validate_outbound_headers=False,
    normalize_outbound_headers=False,
)
_GOAWAY_BODY = b'{"reason":"Shutdown"}'


@dataclass(frozen=True)
class Answer:
    step: Step
    apns_id: bytes
    body: bytes = b""  # the JSON error body; empty for a 200


Handler = Callable[[dict[bytes, bytes], bytes, int], Answer]


@dataclass
class _Stream:
    headers: dict[bytes, bytes]
    body: bytearray = field(default_factory=bytearray)


class ApnsServerProtocol(asyncio.Protocol):
    def __init__(
        self,
        handler: Handler,
        *,
        max_streams: int,
        connection_no: int,
        on_close: Callable[..., None],
        preface_delay_ms: int = 0,
    ) -> None:
        self._handler = handler
        self._max_streams = max_streams
        self.connection_no = connection_no
        self._on_close = on_close
        self._conn = ExactStreamCount(config=_CONFIG)  # h2's own count rescans every stream per new stream
        # Huffman coding is most of the CPU an answer costs here and at the client; on loopback its bytes do not matter.
        self._conn.encoder = PlainEncoder()
        self._transport: asyncio.Transport | None = None
        self._streams: dict[int, _Stream] = {}
        self._blocked: dict[int, bytes] = {}  # error bodies waiting for the client's flow-control window
        self._timers: set[asyncio.TimerHandle] = set()
        self._closed = False
        self._preface_delay_ms = preface_delay_ms
        self._holding = False  # the first flight is still "on the wire": nothing leaves before it

    # -- asyncio.Protocol --

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's SSL transport is not an asyncio subclass
        self._conn.local_settings = Settings(
            client=False, initial_values={SettingCodes.MAX_CONCURRENT_STREAMS: _STREAMS_BEFORE_ACK}
        )
        self._conn.initiate_connection()
        self._conn.update_settings({SettingCodes.MAX_CONCURRENT_STREAMS: self._max_streams})
        self._conn.increment_flow_control_window(2**24)  # request bodies never wait for a window update
        if self._preface_delay_ms:
            self._holding = True
            self._later(self._preface_delay_ms, self._release_preface)
        self._flush()

    def _release_preface(self) -> None:
        self._holding = False
        self._flush()

    def data_received(self, data: bytes) -> None:
        try:
            events = self._conn.receive_data(data)
        except ProtocolError:
            self._flush()  # h2 has queued a GOAWAY
            self.close()
            return
        for event in events:
            if isinstance(event, RequestReceived):
                self._streams[event.stream_id] = _Stream(dict(event.headers))
            elif isinstance(event, DataReceived):
                self._on_data(event)
            elif isinstance(event, StreamEnded):
                self._on_request(event.stream_id)
            elif isinstance(event, StreamReset):
                self._streams.pop(event.stream_id, None)
                self._blocked.pop(event.stream_id, None)
            elif isinstance(event, WindowUpdated):
                self._send_blocked()
            elif isinstance(event, ConnectionTerminated):
                self.close()
                return
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self._on_close(self)

    def close(self) -> None:
        self._closed = True
        if self._transport is not None:
            self._transport.close()

    # -- requests and answers --

    def _on_data(self, event: DataReceived) -> None:
        stream_id: int = event.stream_id
        stream = self._streams.get(stream_id)
        if stream is not None and len(stream.body) <= _BODY_CAP:
            stream.body += event.data
        self._conn.acknowledge_received_data(event.flow_controlled_length, stream_id)

    def _on_request(self, stream_id: int) -> None:
        stream = self._streams.pop(stream_id, None)
        if stream is None:
            return
        answer = self._handler(stream.headers, bytes(stream.body), self.connection_no)
        step = answer.step
        if step.goaway:
            self._conn.close_connection(ErrorCodes.NO_ERROR, additional_data=_GOAWAY_BODY)
            self._flush()
            self.close()
        elif step.no_answer:
            pass  # the stream stays open until the client gives up on the connection
        elif step.delay_ms:

            def later() -> None:
                self._respond(stream_id, answer)
                self._flush()

            self._later(step.delay_ms, later)
        else:
            self._respond(stream_id, answer)

    def _respond(self, stream_id: int, answer: Answer) -> None:
        if self._closed:
            return
        step = answer.step
        headers = [(b":status", str(step.status).encode()), (b"apns-id", answer.apns_id)]
        try:
            if step.status == 200:
                self._conn.send_headers(stream_id, headers, end_stream=True)
                return
            headers.append((b"content-type", b"application/json"))
            if step.retry_after is not None:
                headers.append((b"retry-after", str(step.retry_after).encode()))
            self._conn.send_headers(stream_id, headers)
            self._send_body(stream_id, answer.body)
        except ProtocolError:
            pass  # the client reset the stream meanwhile

    def _send_body(self, stream_id: int, body: bytes) -> None:
        if self._conn.local_flow_control_window(stream_id) >= len(body):
            self._conn.send_data(stream_id, body, end_stream=True)
        else:
            self._blocked[stream_id] = body

    def _send_blocked(self) -> None:
        for stream_id, body in list(self._blocked.items()):
            try:
                if self._conn.local_flow_control_window(stream_id) < len(body):
                    continue
                self._conn.send_data(stream_id, body, end_stream=True)
            except ProtocolError:
                pass
            del self._blocked[stream_id]

    def _later(self, delay_ms: int, callback: Callable[[], None]) -> None:
        timer: asyncio.TimerHandle | None = None

        def fire() -> None:
            self._timers.discard(timer)
            callback()

        timer = asyncio.get_running_loop().call_later(delay_ms / 1000, fire)
        self._timers.add(timer)

    def _flush(self) -> None:
        if self._holding:
            return
        data = self._conn.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)
