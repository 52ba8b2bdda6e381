"""Each scenario gets a world: the live server's notification workers, its own residents and the notifications
clock, which is released after the test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.client import Api, LiveServer
from tests.support.notifications_world import World, world_of


@pytest.fixture
async def world(live: LiveServer, api: Api) -> AsyncIterator[World]:
    async with world_of(live, api) as w:
        yield w
