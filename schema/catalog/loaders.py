"""Per-request DataLoaders of the catalog, created on first use and kept in `context.loaders`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from api.catalog import read
from api.models import Organization
from schema.context import Info


def department_loader(info: Info) -> DataLoader[uuid.UUID, Organization | None]:
    loaders = info.context.loaders
    loader: DataLoader[uuid.UUID, Organization | None] | None = loaders.get("catalog.department")
    if loader is None:

        async def load(keys: Sequence[uuid.UUID]) -> list[Organization | None]:
            found = await read.departments_by_id(keys)
            return [found.get(key) for key in keys]

        loader = DataLoader(load_fn=load)
        loaders["catalog.department"] = loader
    return loader
