"""Conformance N01–N05 and N16 (notifications.md §4): transactional notices from a service producer to devices.

Each scenario runs at a daytime moment of its own on the notifications clock, outside quiet hours.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from api.kit.clock import SHANGHAI
from api.models import Delivery, DeviceEndpoint
from tests.notifications.conformance.steps import (
    accepted_params,
    emitted,
    inbox,
    registered,
    unregister_device,
)
from tests.support.notifications_world import World, apns_token, special_token

ACCEPTED = "application.accepted"
SCOPE = f"topic:{ACCEPTED}"


def body_text(recorded: dict[str, Any]) -> str:
    body = recorded.get("body")
    return body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)


async def endpoint(token: str) -> DeviceEndpoint:
    return await DeviceEndpoint.get(token=token)


class TestN01TransactionalHappyPath:
    async def test_n01_transactional_happy_path_ios(self, world: World) -> None:
        # given U with an iOS token (prod) and a service producer
        world.at(datetime(2025, 6, 2, 10, 0, tzinfo=SHANGHAI))
        user, token = await world.resident(), apns_token()
        await registered(user, token)
        project = f"C42-{world.prefix}"
        await world.run_until_idle()  # what other tests (and the seed's outbox) left: their notices share the bucket
        sent_before = await world.stat(SCOPE, "sent", "apns")
        # when application.accepted for C42, state v1, is emitted and the workers run until idle
        await emitted(world, ACCEPTED, project, 1, user, accepted_params(project))
        await world.run_until_idle()
        # then exactly one APNs request, an alert of priority 10 with a collapse id and the C42 deeplink
        requests = await world.apns_requests(token)
        assert len(requests) == 1, requests
        request = requests[0]
        assert request["status"] == 200
        assert request["topic"] == world.live.settings.notifications.apns_topic
        assert request["pushType"] == "alert"
        assert int(request["priority"]) == 10
        assert request["collapseId"]
        assert f"zsb://applications/{project}" in body_text(request)
        # and the delivery is sent, one inbox item, stats sent = 1
        apns = await world.deliveries(user.user_id, channel="apns")
        assert [(d.status.value, d.endpoint_key) for d in apns] == [("sent", str((await endpoint(token)).id))]
        assert apns[0].provider_message_id == request["apnsId"]
        assert len(await world.inbox(user.user_id)) == 1
        assert (await inbox(user))["unreadCount"] == 1
        assert await world.stat(SCOPE, "sent", "apns") - sent_before == 1


class TestN02DuplicateBusinessEvent:
    async def test_n02_duplicate_business_event(self, world: World) -> None:
        # given U with an iOS token
        world.at(datetime(2025, 6, 3, 10, 0, tzinfo=SHANGHAI))
        user, token = await world.resident(), apns_token()
        await registered(user, token)
        project = f"C42-{world.prefix}"
        await world.run_until_idle()  # what other tests (and the seed's outbox) left: their notices share the bucket
        sent_before = await world.stat(SCOPE, "sent", "apns")
        # when the same event is emitted twice, the workers run, are restarted, and it is emitted a third time
        first = await emitted(world, ACCEPTED, project, 1, user, accepted_params(project))
        second = await emitted(world, ACCEPTED, project, 1, user, accepted_params(project))
        await world.run_until_idle()
        third = await emitted(world, ACCEPTED, project, 1, user, accepted_params(project))
        await world.run_until_idle()
        # then one request id, one APNs request, sent = 1
        assert first == second == third
        assert len(await world.apns_requests(token)) == 1
        assert len(await world.deliveries(user.user_id, channel="apns")) == 1
        assert len(await world.inbox(user.user_id)) == 1
        assert await world.stat(SCOPE, "sent", "apns") - sent_before == 1


class TestN03Unregistered:
    async def test_n03_410_unregistered(self, world: World) -> None:
        # given U whose only device token the provider reports as unregistered
        world.at(datetime(2025, 6, 4, 10, 0, tzinfo=SHANGHAI))
        user, token = await world.resident(), special_token("gone")
        await registered(user, token)
        # when a first notice is sent
        await emitted(world, ACCEPTED, f"N03a-{world.prefix}", 1, user, accepted_params(f"N03a-{world.prefix}"))
        await world.run_until_idle()
        # then it fails for good (Unregistered) and the endpoint is invalidated at the 410 timestamp
        first = await world.apns_requests(token)
        assert [r["status"] for r in first] == [410]
        [delivery] = await world.deliveries(user.user_id, channel="apns")
        assert delivery.status.value == "permanent_failure"
        assert "Unregistered" in (delivery.last_error or "")
        row = await endpoint(token)
        assert row.invalidated_at is not None
        # (the sandbox stamps its 410 body with the injected clock, which stood still during the send)
        assert int(row.invalidated_at.timestamp() * 1000) == int(
            datetime.fromisoformat(first[0]["time"]).timestamp() * 1000
        )
        # when a second notice is sent
        world.advance(timedelta(minutes=5))
        second_id = await emitted(
            world, ACCEPTED, f"N03b-{world.prefix}", 1, user, accepted_params(f"N03b-{world.prefix}")
        )
        await world.run_until_idle()
        # then no APNs request: one suppressed(no_endpoint) delivery, and the inbox item is written
        assert len(await world.apns_requests(token)) == 1
        second = await Delivery.filter(request_id=uuid.UUID(second_id)).exclude(channel="inbox")
        assert [(d.status.value, d.suppress_reason.value if d.suppress_reason else None) for d in second] == [
            ("suppressed", "no_endpoint")
        ]
        assert len(await world.inbox(user.user_id)) == 2
        # when the app registers the token again after the 410 timestamp, and a third notice is sent
        world.at(max(world.now(), row.invalidated_at) + timedelta(minutes=1))
        await registered(user, token)
        assert (await endpoint(token)).invalidated_at is None
        await emitted(world, ACCEPTED, f"N03c-{world.prefix}", 1, user, accepted_params(f"N03c-{world.prefix}"))
        await world.run_until_idle()
        # then an APNs request is made again
        assert len(await world.apns_requests(token)) == 2


class TestN04BadDeviceToken:
    async def test_n04_bad_device_token(self, world: World) -> None:
        # given U with a token APNs calls bad, registered for prod
        world.at(datetime(2025, 6, 5, 10, 0, tzinfo=SHANGHAI))
        user, token = await world.resident(), special_token("bad")
        await registered(user, token, env="PROD")
        # when a notice is sent and the workers keep running for an hour of scheduler time
        await emitted(world, ACCEPTED, f"N04-{world.prefix}", 1, user, accepted_params(f"N04-{world.prefix}"))
        await world.run_until_idle()
        for _ in range(3):
            world.advance(timedelta(minutes=20))
            await world.run_until_idle()
        # then exactly one request, a permanent failure, and the endpoint is invalidated
        requests = await world.apns_requests(token)
        assert [(r["status"], r["reason"]) for r in requests] == [(400, "BadDeviceToken")]
        [delivery] = await world.deliveries(user.user_id, channel="apns")
        assert delivery.status.value == "permanent_failure"
        assert delivery.attempts == 1
        assert "BadDeviceToken" in (delivery.last_error or "")
        assert (await endpoint(token)).invalidated_at is not None


class TestN05ServerErrorThenSuccess:
    async def test_n05_5xx_then_success(self, world: World) -> None:
        # given a token the APNs sandbox answers 500, 500, then 200, and a retry base of 1 s
        world.at(datetime(2025, 6, 6, 10, 0, tzinfo=SHANGHAI))
        user, token = await world.resident(), special_token("flaky")
        await registered(user, token)
        await world.apns_script(token, [500, 500, 200])
        with world.policy(retry_base_s=1.0):
            # when a transactional notice is sent and the clock advances in small steps
            await emitted(world, ACCEPTED, f"N05-{world.prefix}", 1, user, accepted_params(f"N05-{world.prefix}"))
            await world.run_until_idle()
            for _ in range(40):
                [delivery] = await world.deliveries(user.user_id, channel="apns")
                if delivery.status.value == "sent":
                    break
                world.advance(timedelta(milliseconds=250))
                await world.run_until_idle()
        # then three requests with the same apns-id, spaced ≥ 1 s and ≥ 2 s on the injected clock, and sent
        requests = await world.apns_requests(token)
        assert [r["status"] for r in requests] == [500, 500, 200]
        assert len({r["apnsId"] for r in requests}) == 1
        [delivery] = await world.deliveries(user.user_id, channel="apns")
        assert (delivery.status.value, delivery.attempts) == ("sent", 3)
        attempts = await world.attempts(delivery.id)
        assert [a.attempt_no for a in attempts] == [1, 2, 3]
        # base 1 s: 1 s then 2 s, plus at most 20 % jitter and the 250 ms steps of the clock (never the default 5 s)
        first_gap = attempts[1].started_at - attempts[0].started_at
        second_gap = attempts[2].started_at - attempts[1].started_at
        assert timedelta(seconds=1) <= first_gap < timedelta(seconds=1.5)
        assert timedelta(seconds=2) <= second_gap < timedelta(seconds=2.75)


class TestN16MultiDeviceAndSharedPhone:
    async def test_n16_multi_device_and_shared_phone(self, world: World) -> None:
        # given U with two iOS devices and one Huawei device
        world.at(datetime(2025, 6, 7, 10, 0, tzinfo=SHANGHAI))
        user, other = await world.resident(), await world.resident()
        shared, second, huawei = apns_token(), apns_token(), f"hw{uuid.uuid4().hex}"
        await registered(user, shared)
        await registered(user, second)
        await registered(user, huawei, platform="HUAWEI")
        # when a notice goes to U
        await emitted(world, ACCEPTED, f"N16a-{world.prefix}", 1, user, accepted_params(f"N16a-{world.prefix}"))
        await world.run_until_idle()
        # then 2 APNs requests, 1 Huawei request, 1 inbox item
        assert len(await world.apns_requests(shared)) == 1
        assert len(await world.apns_requests(second)) == 1
        assert len(await world.huawei_requests(huawei)) == 1
        assert len(await world.inbox(user.user_id)) == 1
        # when W signs in on the phone with the shared token, and U and W each get a notice
        await registered(other, shared)
        await emitted(world, ACCEPTED, f"N16b-{world.prefix}", 1, user, accepted_params(f"N16b-{world.prefix}"))
        await emitted(world, ACCEPTED, f"N16c-{world.prefix}", 1, other, accepted_params(f"N16c-{world.prefix}"))
        await world.run_until_idle()
        # then U's notice no longer goes to the shared token and W's does
        assert len(await world.apns_requests(second)) == 2
        assert len(await world.apns_requests(shared)) == 2
        to_shared = await Delivery.filter(endpoint_key=str((await endpoint(shared)).id), channel="apns")
        assert sorted(str(d.recipient_user_id) for d in to_shared) == sorted([user.user_id, other.user_id])
        # and U cannot unregister W's token: NOT_FOUND, and W keeps it
        refused = await unregister_device(user, shared)
        assert (refused["__typename"], refused["code"]) == ("NotFoundError", "NOT_FOUND"), refused
        row = await endpoint(shared)
        assert (str(row.user_id), row.invalidated_at) == (other.user_id, None)
