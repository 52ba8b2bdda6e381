"""Fixtures of the sync conformance scenarios (sync-protocol.md §14): a catalog item whose form the drafts fill,
one signed-in person per test, and simulated devices of that person."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest

from api.models import ItemStatus, ServiceItem
from tests.applications.support import PROMISED_ITEM, item_row
from tests.catalog.support import fresh_service_code
from tests.support.client import Api, LiveServer, Session
from tests.support.sync_device import SyncDevice
from tests.sync.conformance.support import FORM_SCHEMA, FORM_VERSION, SyncItem

OpenDevice = Callable[..., Awaitable[SyncDevice]]


@pytest.fixture(scope="session")
async def sync_item(live: LiveServer) -> SyncItem:
    """A published 承诺件 with the scenarios' form (f1, f2, f5, members/*/name, a file field), no materials, L0,
    online depth Ⅳ: what a SUBMIT needs to create an application. Cloned from a seeded item under a code of its
    own, so the seeded items other suites count stay as they are."""
    seeded = await item_row(PROMISED_ITEM)
    row = seeded.clone(pk=uuid.uuid4())
    row.task_code = await fresh_service_code()
    row.handle_item_code = None
    row.status = ItemStatus.PUBLISHED
    row.version = 1
    row.name = "草稿同步一致性测试事项"
    row.keywords, row.person_topics, row.corp_topics, row.popularity = [], [], [], 0
    row.min_assurance_level = 0  # a person signed in by SMS alone (L0) may submit it
    row.online_depth_level = 4
    row.server_types = []
    row.form_version = FORM_VERSION
    row.form_schema = FORM_SCHEMA
    await row.save(force_create=True)
    found = await ServiceItem.get(id=row.id)
    return SyncItem(found.task_code, found.form_version, str(found.id))


@pytest.fixture
async def person(api: Api) -> Session:
    return await api.sign_in()


@pytest.fixture
async def open_device(live: LiveServer) -> AsyncIterator[OpenDevice]:
    """`await open_device(session, platform)`: a new client of that person, closed after the test."""
    async with AsyncExitStack() as stack:

        async def open_(session: Session, platform: str = "APP_IOS") -> SyncDevice:
            device = await stack.enter_async_context(SyncDevice.open(live, session, platform))
            device.page_limit = 1  # one draft a page: every multi-draft pull pages through its cursor
            return device

        yield open_
