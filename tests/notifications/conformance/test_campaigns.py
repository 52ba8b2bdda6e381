"""Conformance N06, N07, N08 and N15 (notifications.md §4): campaigns through approval, launch and the senders.

Every campaign targets the world's own residents (a segment on their phone prefix) and is written, submitted and
approved by two different seeded operators; "launch" is the scheduler tick after `scheduleAt`.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from api.kit.clock import SHANGHAI
from api.models import Delivery
from tests.notifications.conformance.steps import (
    approved_campaign,
    bill_params,
    campaign,
    campaign_template,
    counts,
    emitted,
    funnel,
    inbox,
    registered,
    segment,
    set_preference,
    track_opened,
)
from tests.support.notifications_world import World, apns_token, special_token

BILL_DUE = "payments.bill_due_soon"
NO_SUCH_DELIVERY = "00000000-0000-4000-8000-000000000000"


async def launch(world: World, template: str, segment_id: str, **kwargs: Any) -> str:
    """An approved campaign scheduled a minute from now, with a window of one day, launched by the next tick."""
    start = world.now() + timedelta(minutes=1)
    campaign_id = await approved_campaign(
        world,
        template=template,
        segment_id=segment_id,
        schedule_at=start,
        window_end=start + timedelta(days=1),
        **kwargs,
    )
    world.at(start + timedelta(seconds=30))
    return campaign_id


async def campaign_deliveries(campaign_id: str, **filters: object) -> list[Delivery]:
    return await Delivery.filter(campaign_id=uuid.UUID(campaign_id), **filters).order_by("created_at")


class TestN06SlowAndBusyTokensDoNotBlockOthers:
    async def test_n06_429_and_timeouts_do_not_block_others(self, world: World) -> None:
        # given 100 valid tokens, one always answered 429 and one never answered, on six residents
        world.at(datetime(2025, 6, 9, 10, 0, tzinfo=SHANGHAI))
        valid = [apns_token() for _ in range(100)]
        busy, slow = special_token("busy"), special_token("slow")
        tokens = [*valid, busy, slow]
        residents = [await world.resident() for _ in range(6)]
        for n, token in enumerate(tokens):
            await registered(residents[n % len(residents)], token)
        template, segment_id = await campaign_template(world), await segment(world)
        # The campaign bucket holds one second's worth of its throttle and the injected clock stands still during a
        # pass: 12,000 a minute lets all 102 go in the first pass (the default 3,000 would send 50 a second).
        campaign_id = await launch(world, template, segment_id, throttle_per_min=12_000)
        # when the campaign launches: one scheduler tick, then one burst run of the workers
        await world.tick()
        await world.burst()
        # then the 100 valid deliveries are sent before any retry of busy or slow
        apns = {d.endpoint_key: d for d in await campaign_deliveries(campaign_id, channel="apns")}
        assert len(apns) == 102
        statuses = [await _status_of(world, apns, token) for token in valid]
        assert statuses == [("sent", 1)] * 100
        assert await _status_of(world, apns, busy) == ("temporary_failure", 1)
        assert await _status_of(world, apns, slow) == ("temporary_failure", 1)
        assert [len(await world.apns_requests(t)) for t in (busy, slow)] == [1, 1]
        # when the clock moves on and the workers retry per policy
        with world.policy(retry_base_s=1.0):
            for _ in range(30):
                world.advance(timedelta(seconds=5))
                await world.run_until_idle()
        # then busy and slow end as temporary failures after the campaign's 3 attempts, each timed out or refused
        apns = {d.endpoint_key: d for d in await campaign_deliveries(campaign_id, channel="apns")}
        assert await _status_of(world, apns, busy) == ("temporary_failure", 3)
        assert await _status_of(world, apns, slow) == ("temporary_failure", 3)
        assert [r["status"] for r in await world.apns_requests(busy)] == [429, 429, 429]
        slow_attempts = await world.attempts(apns[await _endpoint_id(slow)].id)
        assert [(a.reason or "").lower() for a in slow_attempts] == ["timeout"] * 3
        # and the workers are free: the next notice is sent in the next pass
        await emitted(world, BILL_DUE, f"N06-{world.prefix}", 1, residents[0], bill_params(f"N06-{world.prefix}"))
        await world.run_until_idle()
        assert len(await world.apns_requests(valid[0])) == 2


async def _endpoint_id(token: str) -> str:
    from api.models import DeviceEndpoint

    return str((await DeviceEndpoint.get(token=token)).id)


async def _status_of(world: World, by_endpoint: dict[str, Delivery], token: str) -> tuple[str, int]:
    delivery = by_endpoint[await _endpoint_id(token)]
    return delivery.status.value, delivery.attempts


class TestN07QuietHours:
    async def test_n07_quiet_hours_defer_campaigns_not_transactional(self, world: World) -> None:
        # given U with an iOS token, at 22:30 Asia/Shanghai on 1 June 2025 (default window 21:00–08:00)
        world.at(datetime(2025, 6, 1, 22, 29, tzinfo=SHANGHAI))
        user, token = await world.resident(), apns_token()
        await registered(user, token)
        template, segment_id = await campaign_template(world), await segment(world)
        # when an approved campaign to U launches and payments.bill_due_soon is emitted for U
        campaign_id = await launch(world, template, segment_id)
        assert world.now() == datetime(2025, 6, 1, 22, 30, 30, tzinfo=SHANGHAI)
        await emitted(world, BILL_DUE, f"N07-{world.prefix}", 1, user, bill_params(f"N07-{world.prefix}"))
        await world.run_until_idle()
        # then the bill notice is sent at once, the campaign delivery is deferred to 08:00–08:15 next morning
        assert [int(r["priority"]) for r in await world.apns_requests(token)] == [10]
        [deferred] = await campaign_deliveries(campaign_id, channel="apns")
        assert deferred.status.value == "deferred"
        release = deferred.next_attempt_at.astimezone(SHANGHAI)
        assert datetime(2025, 6, 2, 8, 0, tzinfo=SHANGHAI) <= release <= datetime(2025, 6, 2, 8, 15, tzinfo=SHANGHAI)
        # when the clock reaches 07:59
        world.at(datetime(2025, 6, 2, 7, 59, tzinfo=SHANGHAI))
        await world.run_until_idle()
        # then nothing more is sent
        assert len(await world.apns_requests(token)) == 1
        # when it moves on through 08:00–08:15 a minute at a time
        for minute in range(0, 17):
            world.at(datetime(2025, 6, 2, 8, minute, tzinfo=SHANGHAI))
            await world.run_until_idle()
        # then the campaign is sent exactly once, within the window
        assert [int(r["priority"]) for r in await world.apns_requests(token)] == [10, 5]
        [sent] = await campaign_deliveries(campaign_id, channel="apns")
        assert sent.status.value == "sent" and sent.sent_at is not None
        sent_at = sent.sent_at.astimezone(SHANGHAI)
        assert datetime(2025, 6, 2, 8, 0, tzinfo=SHANGHAI) <= sent_at <= datetime(2025, 6, 2, 8, 16, tzinfo=SHANGHAI)


class TestN08FrequencyCap:
    async def test_n08_frequency_cap(self, world: World) -> None:
        # given U with an iOS token, the default cap of 2 campaigns per local day
        world.at(datetime(2025, 6, 10, 10, 0, tzinfo=SHANGHAI))
        user, token = await world.resident(), apns_token()
        await registered(user, token)
        template, segment_id = await campaign_template(world), await segment(world)
        # when three campaigns launch on the same local day, one after the other, and 2 transactional notices go out
        launched = []
        for n in range(3):
            launched.append(await launch(world, template, segment_id))
            await world.run_until_idle()
            if n < 2:  # between the campaigns: transactional notices neither count nor get capped
                bill = f"N08-{n}-{world.prefix}"
                await emitted(world, BILL_DUE, bill, 1, user, bill_params(bill))
                await world.run_until_idle()
        # then campaigns 1 and 2 are sent, campaign 3 is suppressed(frequency_capped) and shows in its stats
        results = [
            [
                (d.status.value, d.suppress_reason.value if d.suppress_reason else None)
                for d in await campaign_deliveries(c, channel="apns")
            ]
            for c in launched
        ]
        assert results == [[("sent", None)], [("sent", None)], [("suppressed", "frequency_capped")]]
        stats = (await campaign(world, launched[2]))["stats"]
        assert counts(funnel(stats, "apns")["suppressed"]) == {"frequency_capped": 1}
        # and every transactional notice is sent (they neither count nor get capped)
        priorities = [int(r["priority"]) for r in await world.apns_requests(token)]
        assert sorted(priorities) == [5, 5, 10, 10]
        # and the capped campaign still lands in the inbox
        assert len(await world.inbox(user.user_id)) == 5
        # when a fourth campaign launches on the next local day
        world.at(datetime(2025, 6, 11, 10, 0, tzinfo=SHANGHAI))
        fourth = await launch(world, template, segment_id)
        await world.run_until_idle()
        # then it is sent
        assert [d.status.value for d in await campaign_deliveries(fourth, channel="apns")] == ["sent"]


class TestN15OpenTrackingAndFunnel:
    async def test_n15_open_tracking_and_the_funnel(self, world: World) -> None:
        # given 10 residents: 2 muted campaigns, 1 has an invalid token, 7 are reachable
        world.at(datetime(2025, 6, 12, 10, 0, tzinfo=SHANGHAI))
        residents = [await world.resident() for _ in range(10)]
        tokens = [apns_token() for _ in range(9)] + [special_token("bad")]
        for resident, token in zip(residents, tokens, strict=True):
            await registered(resident, token)
        for muted in residents[7:9]:
            changed = await set_preference(muted, "CAMPAIGN", None, False)
            assert changed["__typename"] == "NotificationPreferences", changed
        template, segment_id = await campaign_template(world), await segment(world)
        # when the campaign runs
        campaign_id = await launch(world, template, segment_id)
        await world.run_until_idle()
        # and three apps report an open (one of them twice), and one call names an unknown delivery
        reachable = residents[:7]
        opened = []
        for resident, token in zip(reachable[:3], tokens[:3], strict=True):
            [request] = await world.apns_requests(token)
            opened.append((resident, _delivery_id_of(request)))
        for resident, delivery_id in [*opened, opened[0]]:
            result = await track_opened(resident, delivery_id)
            assert result["__typename"] == "NotificationOpened", result
        before = [(d.id, d.opened_at) for d in await campaign_deliveries(campaign_id)]
        unknown = await track_opened(reachable[3], NO_SUCH_DELIVERY)
        # then the unknown id gets NOT_FOUND and changes nothing
        assert (unknown["__typename"], unknown["code"]) == ("NotFoundError", "NOT_FOUND"), unknown
        assert [(d.id, d.opened_at) for d in await campaign_deliveries(campaign_id)] == before
        # and the funnel: targeted 10, suppressed(opt_out) 2, permanent_failure 1, sent 7, opened 3
        stats = (await campaign(world, campaign_id))["stats"]
        assert funnel(stats, "*")["targeted"] == 10
        apns = funnel(stats, "apns")
        assert counts(apns["suppressed"]) == {"opt_out": 2}
        assert counts(apns["failed"]) == {"permanent_failure": 1}
        assert (apns["sent"], apns["opened"]) == (7, 3)
        # and every resident has the campaign in the inbox
        assert [len((await inbox(r))["edges"]) for r in residents] == [1] * 10


def _delivery_id_of(recorded: dict[str, object]) -> str:
    import json

    body = recorded["body"]
    payload = body if isinstance(body, dict) else json.loads(str(body))
    return str(payload["deliveryId"])
