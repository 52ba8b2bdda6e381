"""The sync subscription (sync-protocol.md §6): `syncPoke`, served over graphql-transport-ws (schema.websocket)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.exceptions import StrawberryGraphQLError

from api.identity.principal import require_citizen
from api.kit.redis import Redis
from schema.access import CitizenOnly
from schema.context import Info
from schema.scalars import BigIntString
from schema.sync.deps import sync_deps
from sync import poke


async def _versions(redis: Redis, space_id: str) -> AsyncGenerator[BigIntString, None]:
    async for version in poke.pokes(redis, space_id):
        yield BigIntString(version)


@strawberry.type
class SyncSubscription:
    @strawberry.subscription(
        permission_classes=[CitizenOnly],
        description="Your space's version after each commit that changes what a pull returns: a hint to pull. "
        "`clientId`: a client of your space (registered by its first push). Subscribe, then pull.",
    )
    async def sync_poke(self, info: Info, client_id: strawberry.ID) -> AsyncGenerator[BigIntString, None]:
        deps = sync_deps(info)
        try:
            space_id = await poke.client_space(require_citizen(info.context.principal), str(client_id))
        except poke.PokeRefused as exc:
            # Raised before the stream exists, so the client gets the protocol's `error` message, not a `next`.
            raise StrawberryGraphQLError(str(exc), extensions={"code": exc.code}) from None
        return _versions(deps.redis, space_id)
