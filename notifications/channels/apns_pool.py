"""aioapns 4.0 subclasses that carry the countermeasures of notifications.md §1.2–1.3.

They touch pool and protocol internals, which is why aioapns stays pinned to `==4.0` and every upgrade is reviewed:
* host and port are class attributes of the protocol (`APNS_SERVER` is also the `host` header and the TLS SNI name);
* every connection of a pool presents the same provider JWT (one provider, renewed by aioapns every 30 min), and
  connections stay open for 300 s idle instead of 10 s, so bursts do not mint new tokens (behaviour 4);
* the protocol hands received DATA back to the flow-control window: aioapns never does, so after 64 KiB of error
  bodies on one connection the server could not answer any more errors on it;
* the per-stream bookkeeping of 200s is dropped when the stream ends (aioapns keeps it for the connection's life);
* a `retry-after` header of an error is kept for the adapter (aioapns's result has no headers);
* new streams do not rescan every open stream (h2 does, quadratic with 500 in flight);
* writes are coalesced: aioapns writes (one TLS record, one system call) and re-arms its idle timer for every
  request; here all requests started in one loop iteration leave in one write, and headers are HPACK-encoded
  without Huffman coding (valid HTTP/2, most of the client's CPU per request otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from functools import partial
from typing import Any, ClassVar

from aioapns.connection import (
    APNsBaseClientProtocol,
    APNsKeyConnectionPool,
    APNsProductionClientProtocol,
    JWTAuthorizationHeaderProvider,
)
from h2.connection import H2Connection
from hpack import Encoder

log = logging.getLogger(__name__)

IDLE_CLOSE_S = 300
# Apple accepts a new provider token at most every 20 minutes; renewing faster ends in TooManyProviderTokenUpdates.
MIN_RENEWAL_INTERVAL_S = 20 * 60


class PlainEncoder(Encoder):
    """HPACK without Huffman coding."""

    def encode(self, headers: Any, huffman: bool = False) -> bytes:
        return super().encode(headers, huffman=False)


class CountingConnection(H2Connection):
    """h2 counts open streams by scanning every stream for each new one (forgetting closed ones on the way):
    quadratic with hundreds in flight. aioapns's channel semaphore already keeps to the server's limit, so the
    count is taken every 64th stream and reused in between; closed streams are still forgotten."""

    _new_streams = 0
    _open_count = 0

    @property
    def open_outbound_streams(self) -> int:
        self._new_streams += 1
        if self._new_streams % 64 == 1:
            self._open_count = self._open_streams(1)
        return self._open_count


class ZsbApnsProtocol(APNsProductionClientProtocol):
    INACTIVITY_TIME = IDLE_CLOSE_S
    # One dict per pool, set by make_protocol: apns-id → seconds from an error's `retry-after` header.
    retry_after: ClassVar[dict[str, float]] = {}

    _retiring = False
    _flush_pending = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = CountingConnection()  # not connected yet: connection_made initiates it
        self.conn.encoder = PlainEncoder()

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
        self.request_streams.pop(stream_id, None)
        super().on_stream_ended(stream_id)
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
            return await self._create_proxy_connection(factory)
        return await self._create_connection(factory)

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
