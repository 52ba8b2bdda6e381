"""Search, suggestions and guided navigation queries; the root Query inherits them."""

from __future__ import annotations

import strawberry


@strawberry.type
class SearchQuery:
    pass
