"""One Redis pub/sub connection per process for every syncPoke subscription of that process.

A connection per subscription would cost Redis one client per open app (its `maxclients` is 10,000 by default);
here the process subscribes to a space's channel while at least one of its sockets listens there, and hands each
poke to those sockets' queues. A poke is a hint: each queue keeps only the newest version, so a slow socket never
holds the reader up and never falls behind by more than one pull.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from api.kit.redis import Redis

log = logging.getLogger("zsb.sync.poke")

PREFIX = "sync:poke:"
RECONNECT_SECONDS = 1.0


class PokeHub:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._listeners: dict[str, set[asyncio.Queue[int]]] = {}
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def listeners(self, space_id: str) -> int:
        """How many subscriptions of this process listen on the space (one Redis subscription serves them)."""
        return len(self._listeners.get(space_id, ()))

    @asynccontextmanager
    async def listening(self, space_id: str) -> AsyncIterator[asyncio.Queue[int]]:
        """A queue of the versions published for the space once the process has subscribed to it."""
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        async with self._lock:
            listeners = self._listeners.setdefault(space_id, set())
            listeners.add(queue)
            try:
                if len(listeners) == 1:
                    await self._subscribe(PREFIX + space_id)
            except BaseException:
                await self._leave(space_id, queue)
                raise
        try:
            yield queue
        finally:
            # Shielded: a cancelled subscription must still give its channel and connection back.
            await asyncio.shield(self._leave_locked(space_id, queue))

    async def _subscribe(self, name: str) -> None:
        if self._pubsub is None:
            self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(name)
        if self._reader is None:
            self._reader = asyncio.create_task(self._read(self._pubsub))

    async def _leave_locked(self, space_id: str, queue: asyncio.Queue[int]) -> None:
        async with self._lock:
            await self._leave(space_id, queue)

    async def _leave(self, space_id: str, queue: asyncio.Queue[int]) -> None:
        listeners = self._listeners.get(space_id, set())
        listeners.discard(queue)
        if listeners:
            return
        self._listeners.pop(space_id, None)
        if self._pubsub is None:
            return
        if self._listeners:
            with contextlib.suppress(Exception):  # a broken connection drops the subscription anyway
                await self._pubsub.unsubscribe(PREFIX + space_id)
            return
        # The last listener left: the reader and the connection go too, until the next subscription.
        reader, pubsub = self._reader, self._pubsub
        self._reader = self._pubsub = None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
        with contextlib.suppress(Exception):  # fakeredis keeps a closed connection's subscriptions otherwise
            await pubsub.unsubscribe()
        with contextlib.suppress(Exception):
            await pubsub.aclose()

    async def _read(self, pubsub: Any) -> None:
        while True:
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception:
                # redis-py reconnects on the next read and resubscribes every channel; pokes in between are lost,
                # which costs the devices latency only (they pull on their next start or push).
                log.warning("sync poke reader lost Redis; retrying", exc_info=True)
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            if message is not None and message.get("type") == "message":
                self._deliver(message)

    def _deliver(self, message: dict[str, Any]) -> None:
        name = message["channel"]
        name = name.decode() if isinstance(name, bytes) else str(name)
        try:
            version = int(message["data"])
        except (TypeError, ValueError):
            log.warning("ignoring a malformed sync poke on %s: %r", name, message.get("data"))
            return
        for queue in self._listeners.get(name.removeprefix(PREFIX), ()):
            if queue.full():
                queue.get_nowait()  # only the newest version matters
            queue.put_nowait(version)


_HUBS: weakref.WeakKeyDictionary[Redis, PokeHub] = weakref.WeakKeyDictionary()


def hub_for(redis: Redis) -> PokeHub:
    """The process's hub for this Redis client (one per client, so that each test server has its own)."""
    found = _HUBS.get(redis)
    if found is None:
        found = _HUBS[redis] = PokeHub(redis)
    return found
