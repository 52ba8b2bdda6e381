"""Pokes (sync-protocol.md §6 `syncPoke`, §8.2 step 5): after a push's last commit the space's new version is
published on Redis, and every subscribed device of the space pulls. A poke is a hint only: a lost one costs a
device nothing but latency (it pulls on its next start or push), so publishing never fails a push.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

from api.identity.tokens import AccessClaims
from api.kit.redis import Redis
from api.models.sync import SyncClient
from sync.poke_hub import PREFIX, hub_for
from sync.spaces import space_of

log = logging.getLogger("zsb.sync.poke")


def channel(space_id: str) -> str:
    return PREFIX + space_id


async def publish(redis: Redis, space_id: str, version: int) -> None:
    """PUBLISH the version; called only after the commit, so a poked device's pull sees the change (S25)."""
    try:
        await redis.publish(channel(space_id), str(version))
    except Exception:  # the push has committed: a poke failing must not turn its answer into an error
        log.warning("sync poke for %s at version %s not published", space_id, version, exc_info=True)


async def pokes(redis: Redis, space_id: str) -> AsyncIterator[int]:
    """The versions published for the space from the moment this generator has subscribed, over the process's
    one pub/sub connection (sync.poke_hub). Closing the generator (the subscription ended, the socket closed or
    its task was cancelled) leaves the space's channel when no other socket of the process listens there."""
    async with hub_for(redis).listening(space_id) as queue:
        while True:
            yield await queue.get()


class PokeRefused(Exception):
    """The subscription names no client of the caller's space."""

    code = "NOT_FOUND"


async def client_space(claims: AccessClaims, client_id: str) -> str:
    """The caller's space, when `client_id` is a client registered there (a device subscribes after its first
    push). An unknown id and another space's get the same refusal: no existence oracle (§8.3)."""
    space_id = space_of(claims)
    try:
        parsed = uuid.UUID(client_id)
    except ValueError:
        raise PokeRefused("no such client in your space") from None
    if not await SyncClient.exists(client_id=parsed, space_id=space_id):
        raise PokeRefused("no such client in your space")
    return space_id
