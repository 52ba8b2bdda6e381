"""Campaigns for the service and run tests: a stored segment, a campaign template of the demo set, operators."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from api.models.notifications import Campaign, CampaignTransition, NotificationRequest, StatBucket
from notifications.campaign_service import CampaignInput, approve_campaign, create_campaign, submit_campaign
from notifications.deps import NotificationsDeps
from notifications.segments import create_segment

TEMPLATE = "LICENSE_RENEWAL_CAMPAIGN"  # written at start-up by default_templates


def operators(n: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(n)]


async def campaign_input(deps: NotificationsDeps, dsl: dict[str, Any], **over: Any) -> CampaignInput:
    segment = await create_segment(deps, uuid.uuid4(), "测试分群", dsl)
    now = deps.clock.now()
    spec = CampaignInput(
        name="证照到期提醒",
        segment_id=segment.id,
        template_code=TEMPLATE,
        channels=["push"],
        schedule_at=now + timedelta(hours=1),
        window_end=now + timedelta(days=2),
    )
    return replace(spec, **over)


async def scheduled(deps: NotificationsDeps, dsl: dict[str, Any], **over: Any) -> Campaign:
    """Created and submitted by one operator, approved by another."""
    author, approver = operators(2)
    campaign = await create_campaign(deps, author, await campaign_input(deps, dsl, **over))
    await submit_campaign(deps, author, campaign.id)
    return await approve_campaign(deps, approver, campaign.id)


async def audit(campaign_id: uuid.UUID) -> list[tuple[str, str, str, datetime]]:
    rows = await CampaignTransition.filter(campaign_id=campaign_id).order_by("at", "id")
    return [(r.from_status, r.to_status, r.actor, r.at) for r in rows]


async def requests_of(campaign_id: uuid.UUID) -> list[NotificationRequest]:
    return await NotificationRequest.filter(campaign_id=campaign_id).order_by("dedup_key")


async def stat(campaign_id: uuid.UUID, metric: str, channel: str = "*") -> int:
    rows = await StatBucket.filter(scope=f"campaign:{campaign_id}", metric=metric, channel=channel)
    return sum(r.count for r in rows)
