"""Nightly housekeeping (§C11, §C13): final deliveries past their 180 days go with their attempts; open ones and
newer ones stay, and so do devices seen within 270 days."""

from __future__ import annotations

import uuid
from datetime import timedelta

from api.models.notifications import Delivery, DeliveryAttempt, DeviceEndpoint, NoticeCategory, NoticeStatus
from notifications.channels.base import SendResult
from notifications.plan import plan_request
from notifications.retention import housekeeping
from notifications.sender import send_batch
from tests.notifications.engine.support import ScriptedAdapter, campaign_request, iphone, make_deps, push_template
from tests.support.client import LiveServer


async def _channels(user: uuid.UUID) -> dict[str, NoticeStatus]:
    return {str(d.channel): d.status for d in await Delivery.filter(recipient_user_id=user)}


class TestHousekeeping:
    async def test_removes_final_deliveries_past_180_days_and_keeps_the_rest(self, live: LiveServer) -> None:
        # given, 181 days ago, one user's push sent and another's waiting for a retry (each with its inbox row)
        busy = "busy" + uuid.uuid4().hex
        deps = make_deps(live, adapters=[ScriptedAdapter("apns", {busy: [SendResult("retry", reason="busy")]})])
        code = await push_template(deps, NoticeCategory.SERVICE)
        done, waiting, fresh = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        await iphone(deps, done)
        await iphone(deps, waiting, busy)
        for user in (done, waiting):
            await plan_request(deps, await campaign_request(deps, code, user))
        pushes = await Delivery.filter(recipient_user_id__in=[done, waiting], channel="apns")
        await send_batch(deps, [str(d.id) for d in pushes])
        assert await _channels(done) == {"apns": NoticeStatus.SENT, "inbox": NoticeStatus.SENT}
        assert (await _channels(waiting))["apns"] is NoticeStatus.TEMPORARY_FAILURE
        sent_push = next(d.id for d in pushes if d.recipient_user_id == done)
        assert await DeliveryAttempt.filter(delivery_id=sent_push).exists()
        # and a notice of today
        deps.clock.advance(timedelta(days=181))  # type: ignore[attr-defined]
        await plan_request(deps, await campaign_request(deps, code, fresh))

        # when the housekeeping runs
        purged = await housekeeping(deps.clock.now())

        # then the old final rows are gone with their attempts; the open one and today's stay
        assert await _channels(done) == {}
        assert await _channels(waiting) == {"apns": NoticeStatus.TEMPORARY_FAILURE}
        assert await _channels(fresh) == {"inbox": NoticeStatus.SENT, "apns": NoticeStatus.SUPPRESSED}
        assert purged.deliveries >= 3
        assert not await DeliveryAttempt.filter(delivery_id=sent_push).exists()
        # and the devices, last seen 181 days ago, stay (the limit is 270)
        assert await DeviceEndpoint.filter(user_id__in=[done, waiting]).count() == 2
