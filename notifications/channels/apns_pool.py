"""aioapns 4.0 subclasses that carry the countermeasures of notifications.md §1.2–1.3.

They touch pool and protocol internals, which is why aioapns stays pinned to `==4.0` and every upgrade is reviewed:
* host and port are class attributes of the protocol (`APNS_SERVER` is also the `host` header and the TLS SNI name);
* every connection of a pool presents the same provider JWT (one provider, renewed by aioapns every 30 min), and
  connections stay open for 300 s idle instead of 10 s, so bursts do not mint new tokens (behaviour 4);
* the protocol hands received DATA back to the flow-control window: aioapns never does, so after 64 KiB of error
  bodies on one connection the server could not answer any more errors on it;
* the per-stream bookkeeping of 200s is dropped when the stream ends (aioapns keeps it for the connection's life);
* a `retry-after` header of an error is kept for the adapter (aioapns's result has no headers);
* a new connection is handed out only once the server's SETTINGS (stream limit, window) are in, and a request
  body waits for flow-control window instead of failing with FlowControlError after its HEADERS went out;
* open streams are counted exactly at O(1) per stream (apns_h2): h2 rescans every stream for each new one, and
  aioapns's semaphore kept handing out streams after a falling SETTINGS_MAX_CONCURRENT_STREAMS;
* a stream the server resets fails its send at once (aioapns would wait for an answer that never comes);
* writes are coalesced: aioapns writes (one TLS record, one system call) and re-arms its idle timer for every
  request; here all requests started in one loop iteration leave in one write, and headers are HPACK-encoded
  without Huffman coding (valid HTTP/2, most of the client's CPU per request otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from functools import partial
from typing import Any, ClassVar

from aioapns.common import NotificationRequest, NotificationResult
from aioapns.connection import (
    APNsBaseClientProtocol,
    APNsKeyConnectionPool,
    APNsProductionClientProtocol,
    JWTAuthorizationHeaderProvider,
)
from aioapns.exceptions import ConnectionClosed
from h2.config import H2Configuration
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RemoteSettingsChanged,
    ResponseReceived,
    StreamEnded,
    StreamReset,
    WindowUpdated,
)

from notifications.channels.apns_h2 import ExactChannelPool, ExactStreamCount, IndexFreeEncoder

log = logging.getLogger(__name__)

IDLE_CLOSE_S = 300
# Apple accepts a new provider token at most every 20 minutes; renewing faster ends in TooManyProviderTokenUpdates.
MIN_RENEWAL_INTERVAL_S = 20 * 60
# A new connection is handed out once the server's SETTINGS are in; a server silent this long is a failed connect.
SETTINGS_TIMEOUT_S = 10.0


class ZsbApnsProtocol(APNsProductionClientProtocol):
    INACTIVITY_TIME = IDLE_CLOSE_S
    # One dict per pool, set by make_protocol: apns-id → seconds from an error's `retry-after` header.
    retry_after: ClassVar[dict[str, float]] = {}

    _retiring = False
    _flush_pending = False
    _terminated = False  # the server's GOAWAY is in

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Not connected yet: connection_made initiates it. `_headers` builds every field from parts checked before
        # (lower-case names, pseudo-headers first; registered tokens are printable ASCII without spaces, apns-id a
        # UUID, the collapse id 32 hex digits, the rest settings, digits and the provider JWT): h2's per-field
        # normalisation and validation of them cost a tenth of a send's CPU and could find nothing.
        self.conn = ExactStreamCount(
            config=H2Configuration(client_side=True, normalize_outbound_headers=False, validate_outbound_headers=False)
        )
        self.conn.encoder = IndexFreeEncoder()
        self.free_channels = ExactChannelPool(1000)
        self.settings_received = asyncio.Event()  # also set when the connection is lost first
        self.lost = False
        # Request bodies waiting for flow-control window, oldest first. aioapns raises FlowControlError instead
        # (after the HEADERS already went out), which a new connection hits before the server's window update.
        self._unsent: dict[int, bytes] = {}

    async def send_notification(self, request: NotificationRequest) -> NotificationResult:
        """aioapns's send, except that the body waits for flow-control window instead of failing."""
        headers = self._headers(request)
        body = json.dumps(request.message, ensure_ascii=False).encode()
        stream_id = await self.free_channels.acquire()
        if self.lost or self._terminated:  # picked from the pool just before the server went away
            self.free_channels.release()
            raise ConnectionClosed("the APNs connection is closing")
        try:
            self.conn.send_headers(stream_id=stream_id, headers=headers)
        except BaseException:
            self.free_channels.release()
            raise
        response: asyncio.Future[NotificationResult] = self.loop.create_future()
        self.requests[request.notification_id] = response
        self.request_streams[stream_id] = request.notification_id
        self._unsent[stream_id] = body
        if len(self._unsent) == 1:  # otherwise it queues behind bodies already waiting for window
            self._send_body(stream_id)
        self.flush()
        return await response

    def _headers(self, request: NotificationRequest) -> list[tuple[bytes, bytes]]:
        headers = [
            (b":method", b"POST"),
            (b":scheme", b"https"),
            (b":path", f"/3/device/{request.device_token}".encode()),
            (b"host", self.APNS_SERVER.encode()),
            (b"apns-id", request.notification_id.encode()),
            (b"apns-topic", (request.apns_topic or self.apns_topic).encode()),
        ]
        if request.time_to_live is not None:
            headers.append((b"apns-expiration", b"%d" % (int(time.time()) + request.time_to_live)))
        if request.priority is not None:
            headers.append((b"apns-priority", b"%d" % request.priority))
        if request.collapse_key is not None:
            headers.append((b"apns-collapse-id", request.collapse_key.encode()))
        if request.push_type is not None:
            headers.append((b"apns-push-type", request.push_type.value.encode()))
        if self.auth_provider:
            headers.append((b"authorization", self.auth_provider.get_header().encode()))
        return headers

    def _send_body(self, stream_id: int) -> None:
        """As much of the stream's body as the windows allow, in frames of at most the server's frame size."""
        body = self._unsent[stream_id]
        while body:
            size = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
            if size <= 0:
                break
            chunk, body = body[:size], body[size:]
            self.conn.send_data(stream_id, chunk, end_stream=not body)
        if body:
            self._unsent[stream_id] = body
        else:
            del self._unsent[stream_id]

    def _send_unsent(self) -> None:
        for stream_id in list(self._unsent):
            if self.conn.outbound_flow_control_window <= 0:
                break
            self._send_body(stream_id)

    def data_received(self, data: bytes) -> None:
        window_opened = settings = False
        for event in self.conn.receive_data(data):
            if isinstance(event, ResponseReceived):
                self.on_response_received(dict(event.headers))
            elif isinstance(event, DataReceived):
                self.on_data_received(event.data, event.stream_id)
            elif isinstance(event, StreamEnded):
                self.on_stream_ended(event.stream_id)
            elif isinstance(event, StreamReset):
                self.on_stream_reset(event.stream_id)
            elif isinstance(event, RemoteSettingsChanged):
                self.on_remote_settings_changed(event.changed_settings)  # type: ignore[arg-type]
                window_opened = settings = True  # INITIAL_WINDOW_SIZE may have grown every stream's window
            elif isinstance(event, WindowUpdated):
                window_opened = True
            elif isinstance(event, ConnectionTerminated):
                self._terminated = True  # h2 refuses every further frame
                self.on_connection_terminated(event)
        if window_opened and self._unsent and not self._terminated:
            self._send_unsent()
        if settings:  # after the whole read: SETTINGS and WINDOW_UPDATE of the server's first flight travel together
            self.settings_received.set()
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._unsent.clear()
        self.settings_received.set()
        super().connection_lost(exc)

    def flush(self) -> None:
        if not self._flush_pending:
            self._flush_pending = True
            self.loop.call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._flush_pending = False
        if self.transport is not None and not self.transport.is_closing():
            super().flush()

    def on_response_received(self, headers: dict[bytes, bytes]) -> None:
        value = headers.get(b"retry-after")
        if value is not None and headers.get(b":status") != b"200":
            with contextlib.suppress(ValueError):
                self.retry_after[headers.get(b"apns-id", b"").decode("ascii")] = float(value)
        super().on_response_received(headers)

    def on_data_received(self, raw_data: bytes, stream_id: int) -> None:
        self.conn.acknowledge_received_data(len(raw_data), stream_id)
        super().on_data_received(raw_data, stream_id)

    def on_stream_ended(self, stream_id: int) -> None:
        if self._unsent.pop(stream_id, None) is not None:  # answered before its body was sent (RFC 9113 §8.1)
            self.conn.reset_stream(stream_id, ErrorCodes.NO_ERROR)
        self.request_streams.pop(stream_id, None)
        super().on_stream_ended(stream_id)
        if self._retiring and not self.requests:
            self.close()

    def on_stream_reset(self, stream_id: int) -> None:
        """The server refused or cancelled the stream: no answer will come (aioapns would wait for ever)."""
        self._unsent.pop(stream_id, None)
        notification_id = self.request_streams.pop(stream_id, None)
        if notification_id is not None:
            self.request_statuses.pop(notification_id, None)
            response = self.requests.pop(notification_id, None)
            if response is not None and not response.done():
                response.set_exception(ConnectionClosed(f"stream {stream_id} reset by the server"))
        self.free_channels.release()
        if self._retiring and not self.requests:
            self.close()

    def retire(self) -> None:
        """Take no new streams (the pool has forgotten this connection); close once the last reply is in."""
        self._retiring = True
        if not self.requests:
            self.close()


def make_protocol(host: str, port: int) -> type[ZsbApnsProtocol]:
    attributes: dict[str, Any] = {"APNS_SERVER": host, "APNS_PORT": port, "retry_after": {}}
    return type("ZsbApnsProtocolFor", (ZsbApnsProtocol,), attributes)


def client_ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """Only the given CA when one is given (the sandbox's throwaway CA), else the system store; never unverified."""
    context = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    context.set_alpn_protocols(["h2"])
    return context


class SharedTokenPool(APNsKeyConnectionPool):
    """All connections of the pool present the same provider JWT. Build inside the running loop: aioapns captures
    the loop in `__init__`. One connection attempt per send: a retry is the delivery ledger's decision (behaviour 3)."""

    protocol_class: type[ZsbApnsProtocol]

    def __init__(
        self,
        *,
        host: str,
        port: int,
        key: str,
        key_id: str,
        team_id: str,
        topic: str,
        ssl_context: ssl.SSLContext,
        max_connections: int,
    ) -> None:
        asyncio.get_running_loop()  # fail here, not with MaxAttemptsExceeded on the first send (behaviour 6)
        super().__init__(
            key=key,
            key_id=key_id,
            team_id=team_id,
            topic=topic,
            max_connections=max_connections,
            max_connection_attempts=1,
            ssl_context=ssl_context,
        )
        self.topic = topic
        self.protocol_class = make_protocol(host, port)
        self.retry_after = self.protocol_class.retry_after
        self.auth = self._new_provider()
        self.generation = 0  # bumped by every provider renewal
        self._renewed_at: float | None = None

    def _new_provider(self) -> JWTAuthorizationHeaderProvider:
        return JWTAuthorizationHeaderProvider(self.key, self.key_id, self.team_id)

    async def create_connection(self) -> APNsBaseClientProtocol:
        on_lost: Any = self.discard_connection  # aioapns types the callback as NoReturn
        factory = partial(self.protocol_class, self.topic, self.loop, on_lost, self.auth)
        if self.proxy_host and self.proxy_port:  # an egress proxy (HTTP CONNECT) where the network needs one
            connection = await self._create_proxy_connection(factory)
        else:
            connection = await self._create_connection(factory)
        if isinstance(connection, ZsbApnsProtocol):
            await _settings_received(connection)
        return connection

    def discard_connection(self, connection: APNsBaseClientProtocol) -> None:
        if connection in self.connections:  # a retired connection is no longer listed
            self.connections.remove(connection)

    def renew_after_rejection(self, generation: int) -> bool:
        """A 403 for a send made with provider `generation`: swap in a new provider and recycle the connections,
        once. False when the provider was already renewed recently and is rejected again (an operator must look)."""
        if generation != self.generation:
            return True  # renewed meanwhile: the next attempt carries the new token
        now = time.monotonic()
        if self._renewed_at is not None and now - self._renewed_at < MIN_RENEWAL_INTERVAL_S:
            return False
        self._renewed_at = now
        self.generation += 1
        self.auth = self._new_provider()
        retiring, self.connections = self.connections, []
        for connection in retiring:
            if isinstance(connection, ZsbApnsProtocol):
                connection.retire()
            else:
                connection.close()
        log.warning("APNs provider token rejected: renewed the provider and recycled %d connections", len(retiring))
        return True

    def jwt_header(self) -> str:
        return str(self.auth.get_header())  # type: ignore[no-untyped-call]


async def _settings_received(connection: ZsbApnsProtocol) -> None:
    """Until the server's SETTINGS are in, the client would assume no stream limit and the initial 64 KiB window."""
    try:
        await asyncio.wait_for(connection.settings_received.wait(), SETTINGS_TIMEOUT_S)
    except TimeoutError:
        connection.close()
        raise ConnectionError("the APNs server sent no SETTINGS") from None
    if connection.lost:
        raise ConnectionError("the APNs connection closed before the server's SETTINGS")
