"""h2 and aioapns plumbing under the APNs protocol: exact stream accounting at O(1) per stream.

h2 counts open streams by scanning every stream for each new one (quadratic with 500 in flight), and aioapns's
channel semaphore forgets part of a raised limit. Both numbers must be exact: h2 refuses a stream over the
server's SETTINGS_MAX_CONCURRENT_STREAMS with TooManyStreamsError, and a server refuses it with GOAWAY.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from typing import Any

from aioapns.connection import ChannelPool
from h2.connection import AllowedStreamIDs, H2Connection
from h2.events import Event
from h2.exceptions import NoAvailableStreamIDError
from h2.stream import H2Stream
from hpack import Encoder
from hpack.hpack import encode_integer
from hpack.table import HeaderTable

# A full rescan (h2's own count) this often: cheap, and it would repair a close the bookkeeping had missed.
_RECOUNT_EVERY = 1024


class PlainEncoder(Encoder):
    """HPACK without Huffman coding."""

    def encode(self, headers: Any, huffman: bool = False) -> bytes:
        return super().encode(headers, huffman=False)


# The fields that differ from one notification to the next: encoded each time, never kept.
_PER_REQUEST = frozenset({b":path", b"apns-id", b"apns-expiration", b"apns-collapse-id"})
_KEPT_FIELDS = 256  # topics × priorities × push types × provider tokens stay far below this


class IndexFreeEncoder(Encoder):
    """HPACK that never uses the dynamic table (RFC 7541 §6.2.2, literal without indexing, the name from the
    static table where it is there). Every field then encodes the same way whatever came before, so the fields
    shared by all notifications (method, authority, topic, priority, the provider token) are encoded once and
    kept, and a send encodes only its device path, apns-id and expiration. hpack's own encoder searched and
    rewrote the dynamic table for all eleven fields of every request: a quarter of a worker's CPU per send.
    The peer's decoder table stays empty, so nothing here depends on its state."""

    def __init__(self) -> None:
        super().__init__()
        self._kept: dict[tuple[bytes, bytes], bytes] = {}

    def encode(self, headers: Any, huffman: bool = False) -> bytes:
        block: list[bytes] = []
        if self.header_table.resized:  # the peer's SETTINGS_HEADER_TABLE_SIZE must still be acknowledged
            block.append(self._encode_table_size_change())
            self.header_table.resized = False
        kept = self._kept
        for name, value, *_ in headers:
            field = kept.get((name, value))
            if field is None:
                field = _literal_without_indexing(_bytes(name), _bytes(value))
                if name not in _PER_REQUEST:
                    if len(kept) >= _KEPT_FIELDS:
                        kept.clear()
                    kept[(name, value)] = field
            block.append(field)
        return b"".join(block)


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


@functools.cache
def _name_part(name: bytes) -> bytes:
    """A field's name as a literal without indexing starts: the static table's index of the name, else the name."""
    static = HeaderTable.STATIC_TABLE_MAPPING.get(name)
    if static is not None:
        return bytes(_prefixed(static[0], 4, 0x00))
    return b"\x00" + bytes(_prefixed(len(name), 7, 0x00)) + name


def _literal_without_indexing(name: bytes, value: bytes) -> bytes:
    return _name_part(name) + bytes(_prefixed(len(value), 7, 0x00)) + value


def _prefixed(integer: int, prefix_bits: int, pattern: int) -> bytearray:
    """RFC 7541 §5.1 integer with an N-bit prefix, OR-ed with the representation's pattern bits."""
    encoded = encode_integer(integer, prefix_bits)
    encoded[0] |= pattern
    return encoded


class ExactStreamCount(H2Connection):
    """Keeps the ids of open streams per parity. A stream can only close in a call that names it (send_headers,
    send_data, end_stream, reset_stream) or in receive_data, which reports it in an event; each of those calls
    settles the streams it touched, and a closed stream is forgotten at once (h2 forgets it at the next count)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open_ids: tuple[set[int], set[int]] = (set(), set())
        self._begun = 0

    def _open_streams(self, remainder: int) -> int:
        return len(self._open_ids[remainder])

    def _begin_new_stream(self, stream_id: int, allowed_ids: AllowedStreamIDs) -> H2Stream:
        self._begun += 1
        if self._begun % _RECOUNT_EVERY == 0:
            self._recount()
        stream = super()._begin_new_stream(stream_id, allowed_ids)
        self._open_ids[stream_id % 2].add(stream_id)
        return stream

    def send_headers(self, stream_id: int, *args: Any, **kwargs: Any) -> None:
        try:
            super().send_headers(stream_id, *args, **kwargs)
        finally:
            self._settle(stream_id)

    def send_data(self, stream_id: int, *args: Any, **kwargs: Any) -> None:
        super().send_data(stream_id, *args, **kwargs)
        self._settle(stream_id)

    def end_stream(self, stream_id: int) -> None:
        super().end_stream(stream_id)
        self._settle(stream_id)

    def reset_stream(self, stream_id: int, error_code: Any = 0) -> None:
        super().reset_stream(stream_id, error_code)
        self._settle(stream_id)

    def receive_data(self, data: Any) -> list[Event]:
        events = super().receive_data(data)
        for event in events:
            stream_id = getattr(event, "stream_id", None)
            if stream_id:
                self._settle(stream_id)
        return events

    def _settle(self, stream_id: int) -> None:
        stream = self.streams.get(stream_id)
        if stream is None:
            self._open_ids[stream_id % 2].discard(stream_id)
        elif not stream.open:
            self._open_ids[stream_id % 2].discard(stream_id)
            if stream.closed:
                del self.streams[stream_id]
                self._closed_streams[stream_id] = stream.closed_by

    def _recount(self) -> None:
        for remainder in (0, 1):
            super()._open_streams(remainder)  # h2's scan, which also forgets closed streams
        self._open_ids = (
            {i for i, s in self.streams.items() if s.open and i % 2 == 0},
            {i for i, s in self.streams.items() if s.open and i % 2 == 1},
        )


class ExactChannelPool(ChannelPool):
    """aioapns's stream semaphore with a bound that may fall below the streams in flight. asyncio's Semaphore
    takes any count other than 0 as free and wakes a waiter on every release, so after SETTINGS lowered the bound
    from 1,000 or 2,000 to 500 with 640 in flight it kept handing out streams (h2: "Max outbound streams is 500,
    640 open"). Here the count is bound − in flight, may go negative, and a stream is handed out only above 0."""

    def __init__(self, bound: int) -> None:
        super().__init__(bound)
        self._queue: deque[asyncio.Future[None]] = deque()

    @property
    def bound(self) -> int:
        return self._bound_value

    @bound.setter
    def bound(self, new_bound: int) -> None:
        self._value += new_bound - self._bound_value
        self._bound_value = new_bound
        self._hand_over()

    def locked(self) -> bool:
        return self._value <= 0 or bool(self._queue)

    async def acquire(self) -> int:  # type: ignore[override]
        if self.locked():
            permit = asyncio.get_running_loop().create_future()
            self._queue.append(permit)
            try:
                await permit  # the permit is counted by whoever completes the future
            except asyncio.CancelledError:
                if permit.done() and not permit.cancelled():
                    self.release()  # handed over just before the cancellation: give it back
                else:
                    with contextlib.suppress(ValueError):
                        self._queue.remove(permit)
                raise
        else:
            self._value -= 1
        self._stream_id += 2
        if self._stream_id > H2Connection.HIGHEST_ALLOWED_STREAM_ID:
            raise NoAvailableStreamIDError()
        return self._stream_id

    def release(self) -> None:
        self._value = min(self._value + 1, self._bound_value)
        self._hand_over()

    def destroy(self, exc: Exception) -> None:
        while self._queue:
            permit = self._queue.popleft()
            if not permit.done():
                permit.set_exception(exc)

    def _hand_over(self) -> None:
        while self._value > 0 and self._queue:
            permit = self._queue.popleft()
            if not permit.done():
                self._value -= 1
                permit.set_result(None)
