"""Relay connections (graphql.md §2): `first`/`after`, `edges { cursor node }`, `pageInfo`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import strawberry

from api.kit.pagination import Page

N = TypeVar("N")
R = TypeVar("R")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[N]):
    cursor: str
    node: N


@strawberry.type
class Connection(Generic[N]):
    edges: list[Edge[N]]
    page_info: PageInfo
    total_count: int | None = strawberry.field(default=None, description="When cheap to know; null otherwise.")

    @classmethod
    def of(cls, page: Page[R], node: Callable[[R], N]) -> Connection[N]:
        edges = [Edge(cursor=c, node=node(item)) for item, c in zip(page.items, page.cursors, strict=True)]
        return cls(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.cursors[-1] if page.cursors else None),
            total_count=page.total_count,
        )
