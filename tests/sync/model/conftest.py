"""The catalog item whose form the model test's drafts fill."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from api.models import ItemStatus, ServiceItem
from tests.applications.support import PROMISED_ITEM, item_row
from tests.catalog.support import fresh_service_code
from tests.support.client import LiveServer

FORM_VERSION = "sync-model-1"
MANUAL_FIELDS = ("f1", "f2", "f3")
LWW_FIELD = "note"  # a cosmetic field: the later arrival wins (§8.4 LWW_SERVER_ORDER)
FORM_SCHEMA = {
    "type": "object",
    "properties": {
        **{name: {"type": "string", "title": f"字段{name}"} for name in MANUAL_FIELDS},
        LWW_FIELD: {"type": "string", "title": "备注", "x-sync-policy": "LWW_SERVER_ORDER"},
    },
}


@dataclass(frozen=True)
class ModelItem:
    service_code: str
    form_version: str


@pytest.fixture(scope="session")
async def model_item(live: LiveServer) -> ModelItem:
    """A published 承诺件 with the model's form, no materials, L0, online depth Ⅳ, so that a SUBMIT can create an
    application; cloned from a seeded item under a code of its own, so that the seeded items stay as they are."""
    seeded = await item_row(PROMISED_ITEM)
    row = seeded.clone(pk=uuid.uuid4())
    row.task_code = await fresh_service_code()
    row.handle_item_code = None
    row.status = ItemStatus.PUBLISHED
    row.version = 1
    row.name = "草稿同步模型测试事项"
    row.keywords, row.person_topics, row.corp_topics, row.popularity = [], [], [], 0
    row.min_assurance_level = 0  # a fresh SMS account (L0) may submit: each example is a new person
    row.online_depth_level = 4
    row.server_types = []
    row.form_version = FORM_VERSION
    row.form_schema = FORM_SCHEMA
    await row.save(force_create=True)
    found = await ServiceItem.get(id=row.id)
    return ModelItem(found.task_code, found.form_version)
