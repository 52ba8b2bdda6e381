"""Output types of the sync reads (sync-protocol.md §6): draft history and the quarantine, their acknowledgement.

The two Relay connections carry the names of §6. The generic `Connection[N]` of schema.pagination would print as
`DraftHistoryEntryConnection` with a `totalCount`, which §6 does not have; `PageInfo` is the shared one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import strawberry
from strawberry.scalars import JSON

from schema.errors import Error
from schema.pagination import PageInfo
from schema.scalars import BigIntString
from schema.sync.types import QuarantinedOp, json_value, to_id
from sync import contract


@strawberry.type
class QuarantinedOpsAcknowledged:
    removed: int
    draft_version: BigIntString | None


@strawberry.type(description="Codes: NOT_FOUND (unknown or foreign draft), INVALID_INPUT.")
class AcknowledgeQuarantinedOpsError(Error):
    pass


@strawberry.type(description="One applied field change; none for NOOPs, candidates or status changes.")
class DraftHistoryEntry:
    path: str
    value: JSON | None
    value_hash: str
    version: BigIntString
    client_id: strawberry.ID
    mutation_id: int
    at: datetime

    @classmethod
    def of(cls, view: contract.DraftHistoryEntryView) -> DraftHistoryEntry:
        return cls(
            path=view.path,
            value=json_value(view.value),
            value_hash=view.value_hash,
            version=BigIntString(view.version),
            client_id=to_id(view.client_id),
            mutation_id=view.mutation_id,
            at=view.at,
        )


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
