"""Conformance N17 (notifications.md §4, §C5): a case handler's acceptance reaches the resident's phone exactly once,
through the generic outbox and the notifications relay, although the relay dies between its work and its progress.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest

from api.models import Delivery, DeviceEndpoint, InboxItem, NotificationRequest, OutboxEvent, OutboxProgress
from notifications import relay
from tests.applications import support
from tests.applications.handling_support import done
from tests.notifications.conformance.steps import registered
from tests.support.notifications_world import Resident, World, apns_token

# A seeded resident (L1 or above, with a mobile): applications' helper signs them in (and caches the token).
RESIDENT = 6


class Killed(BaseException):
    """The process died: nothing after this point of the relay runs."""


@contextmanager
def killed_before_progress() -> Iterator[list[int]]:
    """The notifications relay dies when it is about to record its progress (after its handlers committed)."""
    real = OutboxProgress
    attempts: list[int] = []

    class Dying:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def filter(self, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("consumer") == relay.CONSUMER and "last_event_id__lt" in kwargs:
                attempts.append(kwargs["last_event_id__lt"])
                raise Killed
            return real.filter(*args, **kwargs)

    with mock.patch("api.outbox.relay.OutboxProgress", Dying()):
        yield attempts


class TestN17OutboxRelayEndToEnd:
    async def test_n17_outbox_relay_end_to_end(self, world: World) -> None:
        # given U (a seeded resident) with an iOS token, and an application of U's that passed pre-review
        access = await support.resident_token(world.api, RESIDENT)
        me = (await world.api.data("query { me { id } }", None, access))["me"]
        user, token = Resident(await world.client(), "", access, me["id"]), apns_token()
        await registered(user, token)
        case = await support.submitted(user.api, user.token, support.PROMISED_ITEM)
        handler = await world.operator(f"handler.{support.DEPARTMENT_OF[support.PROMISED_ITEM]}")
        await done(world.api, handler, "passApplicationPrecheck", applicationId=case["id"])
        # when the case handler accepts it through the operator API (application.accepted goes to the outbox)
        await done(world.api, handler, "acceptApplication", applicationId=case["id"])
        [event] = await OutboxEvent.filter(key=case["id"], topic="application.accepted")
        # and the relay runs past the grace period and dies after creating the request, before its progress
        world.at(world.live.clock.now() + timedelta(minutes=5))
        with killed_before_progress() as attempts, pytest.raises(Killed):
            await relay.relay_outbox(world.worker_deps)
        assert attempts, "the relay never reached its progress"
        dedup_prefix = f"application.accepted:{case['id']}:{event.state_version}:"
        assert await NotificationRequest.filter(dedup_key__startswith=dedup_prefix).count() == 1
        # when it is restarted (half a minute later) and the workers run until idle
        world.advance(timedelta(seconds=30))
        await world.run_until_idle()
        # then exactly one request for the event, one APNs request and one inbox item
        [request] = await NotificationRequest.filter(dedup_key__startswith=dedup_prefix)
        assert request.recipient_user_id == uuid.UUID(user.user_id)
        # (the seed gives this resident demo devices of their own: only the test's token is looked at)
        endpoint = await DeviceEndpoint.get(token=token)
        [push] = await Delivery.filter(request_id=request.id, channel="apns", endpoint_key=str(endpoint.id))
        assert push.status.value == "sent"
        assert [r["apnsId"] for r in await world.apns_requests(token)].count(push.provider_message_id) == 1
        assert await InboxItem.filter(request_id=request.id).count() == 1
        # and the relay's progress ends past the event
        progress = await OutboxProgress.get(consumer=relay.CONSUMER)
        assert progress.last_event_id >= event.id
