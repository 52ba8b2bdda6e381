"""Pokes (sync-protocol.md §6 `syncPoke`, §8.2 step 5): after a push's last commit the space's new version is
published on Redis, and every subscribed device of the space pulls. A poke is a hint only: a lost one costs a
device nothing but latency (it pulls on its next start or push), so publishing never fails a push.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from api.kit.redis import Redis

log = logging.getLogger("zsb.sync.poke")


def channel(space_id: str) -> str:
    return f"sync:poke:{space_id}"


async def publish(redis: Redis, space_id: str, version: int) -> None:
    """PUBLISH the version; called only after the commit, so a poked device's pull sees the change (S25)."""
    try:
        await redis.publish(channel(space_id), str(version))
    except Exception:  # the push has committed: a poke failing must not turn its answer into an error
        log.warning("sync poke for %s at version %s not published", space_id, version, exc_info=True)


async def pokes(redis: Redis, space_id: str) -> AsyncIterator[int]:
    """The versions published for the space from the moment this generator has subscribed.

    One pub/sub connection per subscription; closing the generator (the subscription ended, the socket closed or
    its task was cancelled) closes that connection, which also drops the Redis subscription.
    """
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(channel(space_id))
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            try:
                version = int(message["data"])
            except (TypeError, ValueError):
                log.warning("ignoring a malformed sync poke on %s: %r", channel(space_id), message.get("data"))
                continue
            yield version
    finally:
        # Runs on cancellation too; a broken connection must not mask why the generator ended. Unsubscribing
        # first matters on fakeredis (embedded mode), which keeps a closed connection's subscriptions.
        with contextlib.suppress(Exception):
            await pubsub.unsubscribe()
        with contextlib.suppress(Exception):
            await pubsub.aclose()  # type: ignore[no-untyped-call]
