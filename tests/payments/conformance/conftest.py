"""Fixtures of the conformance scenarios: `world` (a resident, the live server and the payment sandboxes, cleaned up
after the test) and `quiet_relays` (the embedded worker's outbox relays held off, so that the test alone decides
when payments' and applications' relays run)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.applications import payment_relay
from api.outbox import runner
from payments import tasks_relay
from tests.payments.conformance.support import World, world_for
from tests.support.client import Api, LiveServer


@pytest.fixture
async def world(api: Api, live: LiveServer) -> AsyncIterator[World]:
    w = await world_for(api, live)
    try:
        yield w
    finally:
        await w.teardown()


@pytest.fixture
async def quiet_relays(live: LiveServer) -> AsyncIterator[None]:
    """Hold both consumers' relay locks as a running relay would: the embedded worker's cron and the kicks after
    a payment leave them alone (in the server run no worker runs in the process; the locks are harmless there)."""
    redis = live.app.state.services.redis
    keys = [runner._keys(consumer) for consumer in (payment_relay.CONSUMER, tasks_relay.CONSUMER)]
    for lock, _ in keys:
        await redis.set(lock, b"conformance", px=120_000)
    try:
        yield
    finally:
        for lock, again in keys:
            await redis.delete(lock, again)
