"""Conformance N09 (notifications.md §4, §C3, §C7): a recurring daily campaign over licences that expire soon.

No GraphQL operation issues licences outside a case's 办结, so the test issues them the way 办结 does (the licences
service, `api.licenses.issuing.issue`) to two seeded enterprises: 云溪演示餐饮 (industry Y, H6210; contact: its legal
representative) gets licences expiring 30, 31 and −1 days after day 1, 青石演示物流 (industry Z, G5431) one expiring
in 10 days. Day 1 lies decades ahead, where none of the seed's own licences (which other tests expire by their
sweeps) is within 30 days of expiry.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

from tortoise.transactions import in_transaction

from api.kit.clock import SHANGHAI
from api.licenses import issuing
from api.models import ELicense, Enterprise, NotificationRequest, Organization, Person
from api.seed.context import seed_id
from notifications.deps import CAMPAIGN_QUEUE
from notifications.queue import enqueue
from tests.notifications.conformance.steps import approved_campaign, campaign_template, segment
from tests.support.notifications_world import World

SEGMENT = {
    "all": [
        {"field": "enterprise.industry_code", "op": "eq", "value": "H6210"},
        {"field": "license.expires_within_days", "op": "lte", "value": 30},
    ]
}
DAY1 = date(2061, 3, 1)
FOOD_LICENCE = "11100000000000000000A"  # 21 characters, as the issuing service wants


async def _issue(enterprise: str, valid_to: date, issued_at: datetime) -> ELicense:
    company = await Enterprise.get(id=seed_id("enterprise", enterprise))
    issuer = await Organization.filter(is_synthetic=True).order_by("id").first()
    assert issuer is not None
    holder = issuing.Holder(company.name, "001", company.legal_rep_id_hash, enterprise_id=company.id)
    request = issuing.Issue(
        FOOD_LICENCE,
        "食品经营许可证",
        holder,
        company.region_code,
        valid_from=valid_to - timedelta(days=1800),
        valid_to=valid_to,
    )
    async with in_transaction() as db:
        return await issuing.issue(request, issuer, "test:n09", issued_at, db)


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
        # given licences of industry Y expiring 30, 31 and −1 days after day 1, and one of industry Z in 10 days
        issued_at = datetime.combine(DAY1 - timedelta(days=400), time(10, 0), tzinfo=SHANGHAI)
        near = await _issue("canyin", DAY1 + timedelta(days=30), issued_at)
        far = await _issue("canyin", DAY1 + timedelta(days=31), issued_at)
        await _issue("canyin", DAY1 - timedelta(days=1), issued_at)
        await _issue("wuliu", DAY1 + timedelta(days=10), issued_at)
        # and an approved daily campaign at 09:00 to the contacts of those licences
        world.at(datetime.combine(DAY1, time(8, 0), tzinfo=SHANGHAI))
        template, segment_id = await campaign_template(world), await segment(world, SEGMENT)
        start = datetime.combine(DAY1, time(9, 0), tzinfo=SHANGHAI)
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
        # and the expired licence and the industry-Z licence's contacts never are
        others = await _contacts("wuliu")
        assert not {r.recipient_user_id for r in requests} & (others - contacts)
        assert len({r.dedup_key for r in requests}) == len(requests)
