"""Campaign authoring and approval (notifications.md §C4): create, edit, submit, approve (four eyes), reject,
pause, resume, cancel, and the reads. Roles are the GraphQL layer's; here the actor is an operator id.

Every status change is a compare-and-set on (status, version) and one CampaignTransition row with the actor and
the injected clock's time, in one transaction; a campaign changed meanwhile gets INVALID_TRANSITION, never a
silent overwrite.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from api.kit.pagination import Page, encode_cursor, moment_id_after
from api.models.notifications import (
    Campaign,
    CampaignStatus,
    CampaignTransition,
    Delivery,
    NoticeStatus,
    NotificationRequest,
    RequestStatus,
)
from notifications import stats
from notifications.campaign_checks import CampaignFields, check_fields, check_schedule
from notifications.campaigns import Op, next_status
from notifications.deps import NotificationsDeps
from notifications.errors import NotificationsError, NotificationsErrorCode

SYSTEM = "system"
Actor = uuid.UUID | str


@dataclass(frozen=True)
class CampaignInput:
    name: str
    segment_id: uuid.UUID
    template_code: str
    channels: list[str]
    schedule_at: datetime
    window_end: datetime
    recurrence: dict[str, Any] | None = None
    throttle_per_min: int | None = None


@dataclass(frozen=True)
class CampaignPatch:
    """None leaves a field as it is. `clear_recurrence` turns a recurring campaign into a one-off."""

    name: str | None = None
    segment_id: uuid.UUID | None = None
    template_code: str | None = None
    channels: list[str] | None = None
    schedule_at: datetime | None = None
    window_end: datetime | None = None
    recurrence: dict[str, Any] | None = None
    throttle_per_min: int | None = None
    clear_recurrence: bool = False


async def apply_transition(
    campaign: Campaign,
    op: Op,
    actor: Actor,
    at: datetime,
    *,
    reason: str = "",
    updates: dict[str, Any] | None = None,
    db: BaseDBAsyncClient | None = None,
) -> Campaign:
    """Move `campaign` by `op` if its status allows it and nobody changed it since it was read."""
    target = next_status(CampaignStatus(campaign.status), op)
    if target is None:
        raise _not_allowed(campaign, op.value)
    changes = {**(updates or {}), "status": target, "version": campaign.version + 1}
    changed = (
        await Campaign.filter(id=campaign.id, status=campaign.status, version=campaign.version)
        .using_db(db)
        .update(**changes)
    )
    if not changed:
        raise NotificationsError(
            NotificationsErrorCode.INVALID_TRANSITION, "the campaign changed meanwhile", path=["campaignId"]
        )
    await CampaignTransition.create(
        campaign_id=campaign.id,
        from_status=campaign.status,
        to_status=target,
        actor=str(actor),
        reason=reason[:255],
        at=at,
        using_db=db,
    )
    for name, value in changes.items():
        setattr(campaign, name, value)
    return campaign


def _not_allowed(campaign: Campaign, verb: str) -> NotificationsError:
    return NotificationsError(
        NotificationsErrorCode.INVALID_TRANSITION, f"a {campaign.status} campaign cannot {verb}", path=["campaignId"]
    )


async def _load(campaign_id: uuid.UUID) -> Campaign:
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise NotificationsError(NotificationsErrorCode.NOT_FOUND, "no such campaign", path=["campaignId"])
    return campaign


async def create_campaign(deps: NotificationsDeps, actor: uuid.UUID, spec: CampaignInput) -> Campaign:
    """A draft campaign; the audit starts with its creation."""
    fields = CampaignFields(
        name=spec.name,
        segment_id=spec.segment_id,
        template_code=spec.template_code,
        channels=list(spec.channels),
        schedule_at=spec.schedule_at,
        window_end=spec.window_end,
        recurrence=spec.recurrence,
        throttle_per_min=spec.throttle_per_min or deps.settings.default_throttle_per_min,
    )
    now = deps.clock.now()
    checked = await check_fields(fields, now)
    async with in_transaction() as db:
        campaign = await Campaign.create(
            **checked, status=CampaignStatus.DRAFT, created_by=actor, last_edited_by=actor, using_db=db
        )
        await CampaignTransition.create(
            campaign_id=campaign.id,
            from_status="",
            to_status=CampaignStatus.DRAFT,
            actor=str(actor),
            at=now,
            using_db=db,
        )
    return campaign


async def update_campaign(
    deps: NotificationsDeps, actor: uuid.UUID, campaign_id: uuid.UUID, patch: CampaignPatch
) -> Campaign:
    """Edits are drafts: a submitted, approved or scheduled campaign goes back to draft, its approval cleared."""
    campaign = await _load(campaign_id)
    if next_status(CampaignStatus(campaign.status), Op.EDIT) is None:
        raise NotificationsError(
            NotificationsErrorCode.INVALID_TRANSITION,
            f"a {campaign.status} campaign cannot be edited",
            path=["campaignId"],
        )
    recurrence = None if patch.clear_recurrence else patch.recurrence or campaign.recurrence
    fields = CampaignFields(
        name=campaign.name if patch.name is None else patch.name,
        segment_id=patch.segment_id or campaign.segment_id,
        template_code=campaign.template_code if patch.template_code is None else patch.template_code,
        channels=list(campaign.channels if patch.channels is None else patch.channels),
        schedule_at=patch.schedule_at or campaign.schedule_at,
        window_end=patch.window_end or campaign.window_end,
        recurrence=recurrence,
        throttle_per_min=campaign.throttle_per_min if patch.throttle_per_min is None else patch.throttle_per_min,
    )
    now = deps.clock.now()
    checked = await check_fields(fields, now)
    updates = {**checked, "last_edited_by": actor, "submitted_by": None, "approved_by": None, "next_run_at": None}
    async with in_transaction() as db:
        return await apply_transition(campaign, Op.EDIT, actor, now, reason="edited", updates=updates, db=db)


async def submit_campaign(deps: NotificationsDeps, actor: uuid.UUID, campaign_id: uuid.UUID) -> Campaign:
    campaign = await _load(campaign_id)
    async with in_transaction() as db:
        return await apply_transition(
            campaign, Op.SUBMIT, actor, deps.clock.now(), updates={"submitted_by": actor}, db=db
        )


async def approve_campaign(deps: NotificationsDeps, actor: uuid.UUID, campaign_id: uuid.UUID) -> Campaign:
    """Four eyes: the approver is none of creator, last editor and submitter. Approved means scheduled at once."""
    campaign = await _load(campaign_id)
    if next_status(CampaignStatus(campaign.status), Op.APPROVE) is None:
        raise NotificationsError(
            NotificationsErrorCode.INVALID_TRANSITION,
            f"a {campaign.status} campaign cannot be approved",
            path=["campaignId"],
        )
    if str(actor) in {str(campaign.created_by), str(campaign.last_edited_by), str(campaign.submitted_by)}:
        raise NotificationsError(
            NotificationsErrorCode.SELF_APPROVAL,
            "a campaign is approved by someone who neither created, edited nor submitted it",
            path=["campaignId"],
        )
    now = deps.clock.now()
    check_schedule(campaign.schedule_at, campaign.window_end, now)  # a stale schedule would launch at once
    async with in_transaction() as db:
        await apply_transition(campaign, Op.APPROVE, actor, now, updates={"approved_by": actor}, db=db)
        return await apply_transition(
            campaign,
            Op.SCHEDULE,
            actor,
            now,
            reason=f"first run at {campaign.schedule_at.isoformat()}",
            updates={"next_run_at": campaign.schedule_at},
            db=db,
        )


async def reject_campaign(deps: NotificationsDeps, actor: uuid.UUID, campaign_id: uuid.UUID, reason: str) -> Campaign:
    campaign = await _load(campaign_id)
    async with in_transaction() as db:
        return await apply_transition(
            campaign, Op.REJECT, actor, deps.clock.now(), reason=reason, updates={"submitted_by": None}, db=db
        )


async def pause_campaign(deps: NotificationsDeps, actor: uuid.UUID, campaign_id: uuid.UUID) -> Campaign:
    """Senders stop claiming its deliveries (their claim excludes paused campaigns)."""
    campaign = await _load(campaign_id)
    async with in_transaction() as db:
        return await apply_transition(campaign, Op.PAUSE, actor, deps.clock.now(), db=db)


async def resume_campaign(deps: NotificationsDeps, actor: uuid.UUID, campaign_id: uuid.UUID) -> Campaign:
    """Back to sending without materialising again."""
    campaign = await _load(campaign_id)
    async with in_transaction() as db:
        return await apply_transition(campaign, Op.RESUME, actor, deps.clock.now(), db=db)


CANCELLABLE_DELIVERIES = (NoticeStatus.CREATED, NoticeStatus.DEFERRED)


async def cancel_campaign(deps: NotificationsDeps, actor: uuid.UUID, campaign_id: uuid.UUID) -> Campaign:
    """Nothing more goes out: unsent deliveries become cancelled (counted as failed:cancelled), and requests not
    yet planned never will be."""
    campaign = await _load(campaign_id)
    now = deps.clock.now()
    scope = stats.scope_for(campaign.id, "campaign")
    async with in_transaction() as db:
        await apply_transition(campaign, Op.CANCEL, actor, now, db=db)
        open_ = Delivery.filter(campaign_id=campaign.id, status__in=CANCELLABLE_DELIVERIES).using_db(db)
        for channel in set(await open_.values_list("channel", flat=True)):
            cancelled = (
                await Delivery.filter(campaign_id=campaign.id, channel=channel, status__in=CANCELLABLE_DELIVERIES)
                .using_db(db)
                .update(status=NoticeStatus.CANCELLED)
            )
            if cancelled:
                await stats.bump(
                    db, scope=scope, channel=str(channel), metric="failed:cancelled", at=now, count=cancelled
                )
        await (
            NotificationRequest.filter(campaign_id=campaign.id, status=RequestStatus.PENDING)
            .using_db(db)
            .update(status=RequestStatus.CANCELLED)
        )
    return campaign


async def get_campaign(campaign_id: uuid.UUID) -> Campaign | None:
    return await Campaign.get_or_none(id=campaign_id)


async def transitions(campaign_id: uuid.UUID) -> list[CampaignTransition]:
    """The audit trail, oldest first."""
    return await CampaignTransition.filter(campaign_id=campaign_id).order_by("at", "id")


async def list_campaigns(first: int, after: str | None) -> Page[Campaign]:
    """Newest first, cursor over (created_at, id)."""
    rows = await Campaign.filter(moment_id_after(after, "created_at")).order_by("-created_at", "-id").limit(first + 1)
    shown = rows[:first]
    cursors = [encode_cursor([c.created_at.isoformat(), str(c.id)]) for c in shown]
    return Page(shown, cursors, len(rows) > first)
