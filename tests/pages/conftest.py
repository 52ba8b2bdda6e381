"""The page builders publish through the live server's Redis: `item` and `bundle` bump the catalog version, as a
publish does, so that the process-wide catalog part of the personal page sees them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.lifespan import Services
from tests.pages import support
from tests.support.client import LiveServer


@pytest.fixture(autouse=True)
def _catalog_redis(live: LiveServer) -> Iterator[None]:
    services: Services = live.app.state.services
    support.CATALOG_REDIS[:] = [services.redis]
    yield
    support.CATALOG_REDIS.clear()
