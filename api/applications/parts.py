"""The material requirements and situations (情形) of an item version, read once per process.

A version's parts are edited only while it is a draft: publishing freezes them, and a change makes a new
version with new rows (api/catalog/service.py). So an application of a published (or superseded, suspended,
cancelled) version can use the parts it read before; only the item row itself (its status) is read per
submission. The key includes `updated_at` so that a row rewritten in place (a re-run demo seed) is read again.
Bounded: the least recently used versions are dropped first.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from api.models import ItemStatus, MaterialRequirement, ServiceItem, Situation

CACHE_SIZE = 512
# Parts of these versions may still change: read them every time.
_MUTABLE = frozenset({ItemStatus.DRAFT, ItemStatus.IN_REVIEW})


@dataclass(frozen=True)
class Parts:
    requirements: tuple[MaterialRequirement, ...]  # in their `order`
    situations: tuple[Situation, ...]


_cache: OrderedDict[tuple[uuid.UUID, datetime | None], Parts] = OrderedDict()


async def of(item: ServiceItem) -> Parts:
    key = (item.id, item.updated_at)
    found = _cache.get(key)
    if found is not None:
        _cache.move_to_end(key)
        return found
    requirements = await MaterialRequirement.filter(service_item_id=item.id).order_by("order")
    situations = await Situation.filter(service_item_id=item.id)
    parts = Parts(tuple(requirements), tuple(situations))
    if item.status not in _MUTABLE:
        _cache[key] = parts
        if len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return parts
