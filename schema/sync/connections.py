"""The two Relay connections of sync under the names of sync-protocol.md §6. The generic `Connection[N]` of
schema.pagination would print as `DraftHistoryEntryConnection` with a `totalCount`, which §6 does not have;
`PageInfo` is the shared one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import strawberry

from schema.pagination import PageInfo
from schema.sync.types import DraftHistoryEntry, QuarantinedOp
from sync import contract

V = TypeVar("V")
N = TypeVar("N")


def _page(piece: contract.Slice[V], node: Callable[[V], N]) -> tuple[list[tuple[str, N]], PageInfo]:
    pairs = [(cursor, node(item)) for item, cursor in zip(piece.items, piece.cursors, strict=True)]
    info = PageInfo(has_next_page=piece.has_next_page, end_cursor=piece.cursors[-1] if piece.cursors else None)
    return pairs, info


@strawberry.type
class DraftHistoryEdge:
    cursor: str
    node: DraftHistoryEntry


@strawberry.type
class DraftHistoryConnection:
    edges: list[DraftHistoryEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, piece: contract.Slice[contract.DraftHistoryEntryView]) -> DraftHistoryConnection:
        pairs, info = _page(piece, DraftHistoryEntry.of)
        return cls(edges=[DraftHistoryEdge(cursor=c, node=n) for c, n in pairs], page_info=info)


@strawberry.type
class QuarantinedOpEdge:
    cursor: str
    node: QuarantinedOp


@strawberry.type
class QuarantinedOpConnection:
    edges: list[QuarantinedOpEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, piece: contract.Slice[contract.QuarantinedOpView]) -> QuarantinedOpConnection:
        pairs, info = _page(piece, QuarantinedOp.of)
        return cls(edges=[QuarantinedOpEdge(cursor=c, node=n) for c, n in pairs], page_info=info)
