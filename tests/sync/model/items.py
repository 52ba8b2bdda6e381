"""A catalog item of a test's own form: what the model and multi-process sync tests' drafts fill."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from api.models import ItemStatus, ServiceItem
from tests.applications.support import PROMISED_ITEM, item_row
from tests.catalog.support import fresh_service_code


@dataclass(frozen=True)
class ModelItem:
    service_code: str
    form_version: str


async def publish_item(name: str, form_version: str, form_schema: dict[str, Any]) -> ModelItem:
    """A published 承诺件 with `form_schema`, no materials, open to L0, online depth Ⅳ, so that a SUBMIT of a fresh
    SMS account (L0) can create an application; cloned from a seeded item under a code of its own, so that the
    seeded items other suites count stay as they are."""
    seeded = await item_row(PROMISED_ITEM)
    row = seeded.clone(pk=uuid.uuid4())
    row.task_code = await fresh_service_code()
    row.handle_item_code = None
    row.status = ItemStatus.PUBLISHED
    row.version = 1
    row.name = name
    row.keywords, row.person_topics, row.corp_topics, row.popularity = [], [], [], 0
    row.min_assurance_level = 0
    row.online_depth_level = 4
    row.server_types = []
    row.form_version = form_version
    row.form_schema = form_schema
    await row.save(force_create=True)
    found = await ServiceItem.get(id=row.id)
    return ModelItem(found.task_code, found.form_version)
