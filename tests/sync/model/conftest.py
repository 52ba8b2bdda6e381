"""The catalog item whose form the model test's drafts fill."""

from __future__ import annotations

import pytest

from tests.support.client import LiveServer
from tests.sync.model.items import ModelItem, publish_item

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


@pytest.fixture(scope="session")
async def model_item(live: LiveServer) -> ModelItem:
    return await publish_item("草稿同步模型测试事项", FORM_VERSION, FORM_SCHEMA)
