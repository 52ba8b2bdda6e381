from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from notifications.deps import NotificationsDeps
from tests.notifications.users.support import deps_for
from tests.support.client import LiveServer


@pytest.fixture
async def deps(live: LiveServer) -> AsyncIterator[NotificationsDeps]:
    async with deps_for(live) as built:
        yield built
