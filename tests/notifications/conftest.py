"""Notifications tests share the session's live server, whose outbox the other suites filled with thousands of
events whose notices no test here looks at."""

from __future__ import annotations

import pytest

from api.models import OutboxEvent, OutboxProgress
from notifications.relay import CONSUMER
from tests.support.client import LiveServer


@pytest.fixture(scope="session", autouse=True)
async def notifications_consumer_starts_at_the_newest_event(live: LiveServer) -> None:
    """As a consumer deployed on a live outbox would: relaying the other suites' events too cost the first test
    here a minute and a half (every one planned, its inbox item written)."""
    newest = await OutboxEvent.all().order_by("-id").first()
    if newest is not None:
        await OutboxProgress.update_or_create(defaults={"last_event_id": newest.id}, consumer=CONSUMER)
