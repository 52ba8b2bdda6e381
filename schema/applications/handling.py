"""Case-handler operations (operators of the owning department); the root Query and Mutation inherit them."""

from __future__ import annotations

import strawberry


@strawberry.type
class HandlingQuery:
    pass


@strawberry.type
class HandlingMutation:
    pass
