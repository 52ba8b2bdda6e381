"""Queries of this domain; the root Query inherits them."""

from __future__ import annotations

import strawberry


@strawberry.type
class RatingQuery:
    pass
