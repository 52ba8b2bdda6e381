"""Sync queries (sync-protocol.md §6). Adapters only: one `sync` service read per field."""

from __future__ import annotations

from typing import cast

import strawberry
from strawberry.exceptions import StrawberryGraphQLError
from strawberry.scalars import JSON

from api.identity.principal import require_citizen
from api.kit.errors import InvalidInput
from schema.access import CitizenOnly, Public
from schema.context import Info
from schema.sync.deps import sync_deps
from schema.sync.inputs import SyncPullInput, pull_request
from schema.sync.reads import DraftHistoryConnection, QuarantinedOpConnection
from schema.sync.results import SyncPullResult, pull_result
from sync import contract, pull, reads, template_registry

_PAGE = "At most 100 (`first`, default 20); empty for an unknown or foreign draft."


@strawberry.type
class SyncQuery:
    @strawberry.field(
        permission_classes=[Public],
        description="The sync template of one form version of a service item (its 实施编码 and `formVersion`): "
        "field paths (`*` for item ids), types, merge `policy`, and the `renames` / `removed` maps from the previous "
        "version. Null when unknown. Public, like the catalog the form belongs to.",
    )
    async def form_template(self, service_code: str, version: str) -> JSON | None:
        found = await template_registry.form_template(service_code, version)
        return None if found is None else cast(JSON, found)

    @strawberry.field(
        permission_classes=[CitizenOnly],
        description="One page of your space's draft changes since `cursor`; page until `hasMore` is false.",
    )
    async def sync_pull(self, info: Info, input: SyncPullInput) -> SyncPullResult:
        answer = await pull.pull(sync_deps(info), require_citizen(info.context.principal), pull_request(input))
        return pull_result(answer)

    @strawberry.field(permission_classes=[CitizenOnly], description=f"A draft's quarantine entries. {_PAGE}")
    async def quarantined_ops(
        self,
        info: Info,
        draft_id: strawberry.ID,
        first: int | None = contract.DEFAULT_PAGE,
        after: str | None = strawberry.UNSET,
    ) -> QuarantinedOpConnection:
        try:
            piece = await reads.quarantined_ops(
                sync_deps(info), require_citizen(info.context.principal), str(draft_id), _first(first), _after(after)
            )
        except InvalidInput as exc:
            raise _refuse(exc) from None
        return QuarantinedOpConnection.of(piece)

    @strawberry.field(
        permission_classes=[CitizenOnly],
        description=f"A draft's applied field changes, ordered by (version, path). {_PAGE}",
    )
    async def draft_history(
        self,
        info: Info,
        draft_id: strawberry.ID,
        first: int | None = contract.DEFAULT_PAGE,
        after: str | None = strawberry.UNSET,
    ) -> DraftHistoryConnection:
        try:
            piece = await reads.draft_history(
                sync_deps(info), require_citizen(info.context.principal), str(draft_id), _first(first), _after(after)
            )
        except InvalidInput as exc:
            raise _refuse(exc) from None
        return DraftHistoryConnection.of(piece)


def _refuse(exc: InvalidInput) -> StrawberryGraphQLError:
    # A bad `first` or `after` is a top-level error with its code, as on every connection of the API.
    return StrawberryGraphQLError(exc.message, extensions={"code": exc.code, "path": exc.path})


def _first(first: int | None) -> int:
    # An explicit null means the default; the service clamps the rest.
    return contract.DEFAULT_PAGE if first is None else first


def _after(after: str | None) -> str | None:
    return after if isinstance(after, str) else None
