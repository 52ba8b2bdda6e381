"""Conformance N09 (notifications.md §4, §C3, §C7): a recurring daily campaign over licences that expire soon.

No public operation creates enterprise licences, so the scenario uses the seed's (read, never written) and picks
its day 1 on the notifications clock: 云溪演示餐饮 (industry H6210, contact: its legal representative) holds a food
licence that expires 3 days after the seed date and a hygiene licence that expires 28 days after it. Three days
before the seed date the hygiene licence is 31 days out and the food licence 6 (within 30); the next day the
hygiene licence is 30 days out. 云溪演示食品 (C1411, also in the segment) holds only an expired food licence and
青石演示物流 (G5431, industry Z, not in the segment) one expiring in 23 days: neither is ever notified.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

from api.kit.clock import SHANGHAI
from api.models import ELicense, Enterprise, LicenseStatus, NotificationRequest, Person
from api.seed.context import seed_id
from notifications.deps import CAMPAIGN_QUEUE
from notifications.queue import enqueue
from tests.notifications.conformance.steps import approved_campaign, campaign_template, segment
from tests.support.notifications_world import World

SEGMENT = {
    "all": [
        {"field": "enterprise.industry_code", "op": "in", "value": ["H6210", "C1411"]},
        {"field": "license.expires_within_days", "op": "lte", "value": 30},
    ]
}


async def _licences(enterprise: str) -> list[ELicense]:
    return await ELicense.filter(holder_enterprise_id=seed_id("enterprise", enterprise)).order_by("valid_to")


async def _contacts(enterprise: str) -> set[uuid.UUID]:
    row = await Enterprise.get(id=seed_id("enterprise", enterprise))
    return {person.id for person in await Person.filter(id_number_hash=row.legal_rep_id_hash)}


async def _roots(campaign_id: str) -> set[str]:
    """The licences notified: the root in each request's dedup key `campaign:{id}:{root}:{user}` (§C7)."""
    return {r.dedup_key.split(":")[2] for r in await _requests(campaign_id)}


async def _requests(campaign_id: str) -> list[NotificationRequest]:
    return await NotificationRequest.filter(campaign_id=uuid.UUID(campaign_id)).order_by("created_at")


class TestN09RecurringIndustryCampaign:
    async def test_n09_recurring_industry_campaign(self, world: World) -> None:
        # given the seeded licences of industry Y (H6210): one 6 days out, one 31 days out on day 1
        canyin = [lic for lic in await _licences("canyin") if lic.valid_to is not None]
        near, far = canyin[0], canyin[1]
        assert far.valid_to is not None and near.valid_to is not None
        day1: date = far.valid_to - timedelta(days=31)
        assert 0 <= (near.valid_to - day1).days <= 30, "the seed's canyin licences moved"
        shipin = await _licences("shipin")
        assert any(lic.status is LicenseStatus.EXPIRED for lic in shipin)
        assert not [
            lic
            for lic in shipin
            if lic.status is LicenseStatus.VALID and lic.valid_to and 0 <= (lic.valid_to - day1).days <= 31
        ]
        # and an approved daily campaign at 09:00 to the contacts of those licences
        world.at(datetime.combine(day1, time(8, 0), tzinfo=SHANGHAI))
        template, segment_id = await campaign_template(world), await segment(world, SEGMENT)
        start = datetime.combine(day1, time(9, 0), tzinfo=SHANGHAI)
        campaign_id = await approved_campaign(
            world,
            template=template,
            segment_id=segment_id,
            schedule_at=start,
            window_end=start + timedelta(days=3, hours=11),
            recurrence={"at": "09:00"},
        )
        contacts = await _contacts("canyin")
        assert contacts
        # when its daily job runs twice on day 1
        world.at(start + timedelta(seconds=30))
        await world.run_until_idle()
        await enqueue(world.worker_deps, "materialize_campaign", CAMPAIGN_QUEUE, campaign_id)
        await world.run_until_idle()
        # then only the near licence's contacts are notified, once each
        day1_requests = await _requests(campaign_id)
        assert sorted(r.recipient_user_id for r in day1_requests) == sorted(contacts)
        assert await _roots(campaign_id) == {str(near.id)}
        # when it runs on day 2
        world.at(start + timedelta(days=1, seconds=30))
        await world.run_until_idle()
        # then the former 31-day licence (now 30) is notified once, and nothing else
        requests = await _requests(campaign_id)
        assert len(requests) == 2 * len(contacts)
        assert sorted(r.recipient_user_id for r in requests[len(day1_requests) :]) == sorted(contacts)
        assert await _roots(campaign_id) == {str(near.id), str(far.id)}
        # and the expired licence (industry Y') and the industry-Z licence's contacts never are
        others = await _contacts("shipin") | await _contacts("wuliu")
        assert not {r.recipient_user_id for r in requests} & (others - contacts)
        assert len({r.dedup_key for r in requests}) == len(requests)
