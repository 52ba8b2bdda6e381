"""Sync queries (sync-protocol.md §6). Adapters only: one `sync` service read per field."""

from __future__ import annotations

from typing import cast

import strawberry
from strawberry.scalars import JSON

from schema.access import Public
from sync import template_registry


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
