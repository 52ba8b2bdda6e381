"""GraphQL types of campaigns (§C4, §C13): the campaign with its audit trail and funnel, each built from what a
`notifications.service` call returned; `transitions` and `stats` are the two fields that are reads of their own."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry

from notifications import service
from schema.notifications.enums import (
    CampaignStatus,
    DeliveryStatus,
    E,
    NotificationChannel,
    SuppressReason,
    to_view,
)


def _id(value: uuid.UUID | str) -> strawberry.ID:
    return strawberry.ID(str(value))


def _id_or_none(value: uuid.UUID | str | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


@strawberry.type
class SuppressedCount:
    reason: str = strawberry.field(description="The stored value, lower case (opt_out, frequency_capped, …).")
    suppress_reason: SuppressReason | None = strawberry.field(description="The same, as the enum.")
    count: int


@strawberry.type
class FailedCount:
    reason: str = strawberry.field(description="The final status as stored, lower case (permanent_failure, …).")
    status: DeliveryStatus | None = strawberry.field(description="The same, as the enum.")
    count: int


@strawberry.type(description="One channel's funnel: targeted → eligible → suppressed → sent → delivered → opened.")
class ChannelFunnel:
    channel: str = strawberry.field(description='A delivery channel (apns, huawei, wechat, …) or "*" for the run.')
    targeted: int
    eligible: int
    suppressed: list[SuppressedCount] = strawberry.field(description="By reason; at most 4.")
    sent: int
    delivered: int
    opened: int
    clicked: int
    failed: list[FailedCount] = strawberry.field(description="By final status; at most 11.")

    @classmethod
    def of(cls, row: Any) -> ChannelFunnel:
        return cls(
            channel=row.channel,
            targeted=row.targeted,
            eligible=row.eligible,
            suppressed=[
                SuppressedCount(reason=k, suppress_reason=_enum(k, SuppressReason), count=v)
                for k, v in sorted(row.suppressed.items())
            ],
            sent=row.sent,
            delivered=row.delivered,
            opened=row.opened,
            clicked=row.clicked,
            failed=[
                FailedCount(reason=k, status=_enum(k, DeliveryStatus), count=v) for k, v in sorted(row.failed.items())
            ],
        )


def _enum(value: str, view: type[E]) -> E | None:
    """Null for a value the enum lacks (a bucket written under an older name), never a masked error."""
    try:
        return to_view(value, view)
    except ValueError:
        return None


@strawberry.type
class CampaignStats:
    campaign_id: strawberry.ID
    total: ChannelFunnel = strawberry.field(description="Every channel together, with the users targeted.")
    channels: list[ChannelFunnel] = strawberry.field(description="At most 6: one per delivery channel.")

    @classmethod
    def of(cls, stats: Any) -> CampaignStats:
        return cls(
            campaign_id=_id(stats.campaign_id),
            total=ChannelFunnel.of(stats.total),
            channels=[ChannelFunnel.of(f) for f in stats.channels],
        )


@strawberry.type(description="One change of a campaign's status, with who made it and when (audit).")
class CampaignTransition:
    from_status: CampaignStatus | None = strawberry.field(description="Null for the campaign's creation.")
    to_status: CampaignStatus
    actor: str = strawberry.field(description='An operator id, or "system".')
    reason: str
    at: datetime

    @classmethod
    def of(cls, row: Any) -> CampaignTransition:
        return cls(
            from_status=to_view(row.from_status, CampaignStatus) if row.from_status else None,
            to_status=to_view(row.to_status, CampaignStatus),
            actor=row.actor,
            reason=row.reason,
            at=row.at,
        )


@strawberry.type
class CampaignRecurrence:
    every: str
    at: str


@strawberry.type(name="Campaign")
class CampaignView:
    id: strawberry.ID
    name: str
    status: CampaignStatus
    segment_id: strawberry.ID
    segment_version: int
    template_code: str
    channels: list[NotificationChannel] = strawberry.field(description="At most 5, in plan order.")
    schedule_at: datetime
    window_end: datetime
    recurrence: CampaignRecurrence | None
    throttle_per_min: int
    run_no: int
    created_by: strawberry.ID
    last_edited_by: strawberry.ID
    submitted_by: strawberry.ID | None
    approved_by: strawberry.ID | None
    version: int

    @classmethod
    def of(cls, row: Any) -> CampaignView:
        recurrence = row.recurrence or None
        return cls(
            id=_id(row.id),
            name=row.name,
            status=to_view(row.status, CampaignStatus),
            segment_id=_id(row.segment_id),
            segment_version=row.segment_version,
            template_code=row.template_code,
            channels=[to_view(c, NotificationChannel) for c in row.channels],
            schedule_at=row.schedule_at,
            window_end=row.window_end,
            recurrence=CampaignRecurrence(every=str(recurrence.get("every", "day")), at=str(recurrence.get("at", "")))
            if recurrence
            else None,
            throttle_per_min=row.throttle_per_min,
            run_no=row.run_no,
            created_by=_id(row.created_by),
            last_edited_by=_id(row.last_edited_by),
            submitted_by=_id_or_none(row.submitted_by),
            approved_by=_id_or_none(row.approved_by),
            version=row.version,
        )

    @strawberry.field(description="Every status change, oldest first; at most 100.")
    async def transitions(self) -> list[CampaignTransition]:
        return [CampaignTransition.of(t) for t in await service.transitions(uuid.UUID(self.id))]

    @strawberry.field(description="The campaign's funnel per channel (§C13).")
    async def stats(self) -> CampaignStats:
        return await campaign_stats(uuid.UUID(self.id))


async def campaign_stats(campaign_id: uuid.UUID) -> CampaignStats:
    return CampaignStats.of(await service.campaign_stats(campaign_id))
