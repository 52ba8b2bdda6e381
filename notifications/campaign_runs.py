"""Campaign runs (notifications.md §C3, §C4, §C7): launch when due, materialise the snapshot, finish.

* `advance_campaigns` (every scheduler tick): scheduled campaigns whose run is due move to materializing (a new
  `run_no`) and get a `materialize_campaign` job; materialising ones get their job again (it resumes, and arq
  refuses a second copy of a queued job id); sending ones whose run is over become completed or, when recurring
  with another run inside the window, scheduled for the next local day.
* `materialize_campaign`: keyset pages of 1,000 roots of the segment, evaluated with today's local date. Each
  page is one transaction: a compare-and-set of the keyset position (so two workers never store a page twice,
  and a cancel stops the run), CampaignRecipient rows, NotificationRequest rows and the `targeted` count of the
  requests that are new. The plan jobs are enqueued after commit; one lost is picked up by the reconciler.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, date, datetime, time, timedelta

from tortoise.transactions import in_transaction

from api.kit.clock import SHANGHAI, shanghai_date
from api.models.notifications import (
    Campaign,
    CampaignStatus,
    Delivery,
    NoticeKind,
    NotificationRequest,
    RequestStatus,
)
from notifications.campaign_bulk import SnapshotPage, write_page
from notifications.campaign_service import SYSTEM, apply_transition
from notifications.campaigns import Op
from notifications.deps import CAMPAIGN_QUEUE, NotificationsDeps
from notifications.errors import NotificationsError
from notifications.ledger import open_deliveries
from notifications.queue import enqueue
from notifications.requests import NewRequest
from notifications.segments import Recipient, RecipientPage, SegmentSpec, recipient_page, segment_spec
from notifications.templates import TemplateVersion, current_template

log = logging.getLogger("zsb.notifications.campaigns")

PAGE_SIZE = 1000
PLAN_BATCH = 500  # request ids per plan_request job: a page of 1,000 is two enqueues
CAMPAIGN_PRIORITY = 5


async def advance_campaigns(deps: NotificationsDeps) -> int:
    """How many campaigns changed status."""
    now = deps.clock.now()
    # Finishing first: a recurring run that ends after its successor's time launches the successor in this tick.
    changed = await _finish_runs(deps, now)
    changed += await _launch_due(deps, now)
    for campaign_id, run_no in await Campaign.filter(status=CampaignStatus.MATERIALIZING).values_list("id", "run_no"):
        await _enqueue_materialize(deps, campaign_id, run_no)
    return changed


async def _launch_due(deps: NotificationsDeps, now: datetime) -> int:
    launched = 0
    for campaign in await Campaign.filter(status=CampaignStatus.SCHEDULED, next_run_at__lte=now):
        run_no = campaign.run_no + 1
        updates = {"run_no": run_no, "materialized_key": None}
        try:
            async with in_transaction() as db:
                await apply_transition(
                    campaign, Op.MATERIALIZE, SYSTEM, now, reason=f"run {run_no}", updates=updates, db=db
                )
        except NotificationsError:
            continue  # changed meanwhile (cancelled, edited): the next tick sees its new state
        await _enqueue_materialize(deps, campaign.id, run_no)
        launched += 1
    return launched


async def _enqueue_materialize(deps: NotificationsDeps, campaign_id: object, run_no: int) -> None:
    job_id = f"notify-materialize-{campaign_id}-{run_no}"
    await enqueue(deps, "materialize_campaign", CAMPAIGN_QUEUE, str(campaign_id), job_id=job_id)


async def _finish_runs(deps: NotificationsDeps, now: datetime) -> int:
    finished = 0
    for campaign in await Campaign.filter(status=CampaignStatus.SENDING):
        if await NotificationRequest.filter(campaign_id=campaign.id, status=RequestStatus.PENDING).exists():
            continue
        if await Delivery.filter(open_deliveries(deps.settings), campaign_id=campaign.id).exists():
            continue
        following = next_run_at(campaign, now)
        try:
            async with in_transaction() as db:
                if following is not None:
                    reason = f"run {campaign.run_no} done; next at {following.isoformat()}"
                    await apply_transition(
                        campaign, Op.NEXT_RUN, SYSTEM, now, reason=reason, updates={"next_run_at": following}, db=db
                    )
                else:
                    await apply_transition(
                        campaign, Op.COMPLETE, SYSTEM, now, reason=f"run {campaign.run_no} done", db=db
                    )
        except NotificationsError:
            continue
        finished += 1
    return finished


def next_run_at(campaign: Campaign, now: datetime) -> datetime | None:
    """A recurring campaign's next run: the recurrence's local time on the day after its last run, or today's if
    days were missed (a run whose time has come launches at the next tick; missed days are not caught up);
    None for a single run or when the window is over."""
    recurrence = campaign.recurrence
    if not recurrence:
        return None
    hour, minute = (int(part) for part in str(recurrence["at"]).split(":"))
    last = campaign.next_run_at or campaign.schedule_at
    day = max(last.astimezone(SHANGHAI).date() + timedelta(days=1), shanghai_date(now))
    candidate = datetime.combine(day, time(hour, minute), SHANGHAI)
    # Stored in UTC: SQLite compares the stored text, so every moment must carry the same offset.
    return candidate.astimezone(UTC) if candidate < campaign.window_end else None


async def materialize_campaign(deps: NotificationsDeps, campaign_id: uuid.UUID) -> int:
    """Snapshot the current run of a materializing campaign from where it stopped; returns the new requests."""
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None or campaign.status != CampaignStatus.MATERIALIZING:
        return 0
    now = deps.clock.now()
    template = await current_template(campaign.template_code)
    try:
        spec = await segment_spec(campaign.segment_id)
    except NotificationsError:
        spec = None
    if spec is None or template is None:
        await _fail(campaign, now, "the segment is gone or invalid" if template else "the template is gone")
        return 0
    run_no = campaign.run_no
    created, finished = await _snapshot(deps, campaign, template, spec, now)
    if not finished:
        return created
    current = await Campaign.get(id=campaign.id)
    if current.status == CampaignStatus.MATERIALIZING and current.run_no == run_no:
        try:
            async with in_transaction() as db:
                reason = f"run {run_no}: {created} requests"
                await apply_transition(current, Op.MATERIALIZED, SYSTEM, now, reason=reason, db=db)
        except NotificationsError:
            pass  # another worker finished it
    return created


async def _snapshot(
    deps: NotificationsDeps, campaign: Campaign, template: TemplateVersion, spec: SegmentSpec, now: datetime
) -> tuple[int, bool]:
    """Store the run's pages from the campaign's keyset position on: the new requests, and False when another
    worker or a cancel took the run over. The next page is read while this one is written (another connection:
    the task is created outside the transaction, whose connection its context would otherwise inherit)."""
    today, key = shanghai_date(now), campaign.materialized_key
    created = 0
    page = await recipient_page(spec, today, key, PAGE_SIZE, at=now)
    while True:
        following = None if page.done else asyncio.create_task(_page_after(spec, today, page.last_key, now))
        new_key = page.last_key or key
        try:
            new_ids = await write_page(
                campaign.id, campaign.run_no, key, new_key, _snapshot_page(campaign, template, page.recipients), now
            )
            if new_ids is not None:
                await _enqueue_plans(deps, new_ids)
        except BaseException:
            await _drop(following)
            raise
        if new_ids is None:
            await _drop(following)
            return created, False  # another worker took this page, or the campaign was cancelled
        created += len(new_ids)
        key = new_key
        if following is None:
            return created, True
        page = await following


async def _drop(task: asyncio.Task[RecipientPage] | None) -> None:
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _page_after(spec: SegmentSpec, today: date, after: str | None, now: datetime) -> RecipientPage:
    return await recipient_page(spec, today, after, PAGE_SIZE, at=now)


async def _fail(campaign: Campaign, now: datetime, reason: str) -> None:
    log.error("campaign %s failed to materialise: %s", campaign.id, reason)
    try:
        async with in_transaction() as db:
            await apply_transition(campaign, Op.FAIL, SYSTEM, now, reason=reason, db=db)
    except NotificationsError:
        pass


def dedup_key(campaign: Campaign, recipient: Recipient) -> str:
    """§C7: a recurring campaign never notifies the same root twice; a single run notifies a user once."""
    middle = recipient.root_id if campaign.recurrence else str(campaign.run_no)
    return f"campaign:{campaign.id}:{middle}:{recipient.user_id}"


def _snapshot_page(campaign: Campaign, template: TemplateVersion, recipients: list[Recipient]) -> SnapshotPage:
    """One recipient row per user (its first root); one request per dedup key (§C7)."""
    snapshot: dict[uuid.UUID, Recipient] = {}
    for r in recipients:
        snapshot.setdefault(r.user_id, r)
    wanted = {dedup_key(campaign, r): r for r in recipients}
    shared = {"campaignName": campaign.name}
    prototype = NewRequest(
        kind=NoticeKind.CAMPAIGN,
        category=template.category,
        topic="campaign",
        key=str(campaign.id),
        state_version=campaign.run_no,
        recipient_user_id=campaign.id,  # each request's own below
        template_code=template.code,
        template_version=template.version,
        params=shared,
        dedup_key="",
        priority=CAMPAIGN_PRIORITY,
        expires_at=campaign.window_end,
        campaign_id=campaign.id,
    )
    return SnapshotPage(
        users=list(snapshot),
        roots=[r.root_id for r in snapshot.values()],
        page_keys=[r.page_key for r in snapshot.values()],
        prototype=prototype,
        request_users=[r.user_id for r in wanted.values()],
        request_params=[{**r.params, **shared} if r.params else shared for r in wanted.values()],
        dedup_keys=list(wanted),
    )


async def _enqueue_plans(deps: NotificationsDeps, request_ids: list[uuid.UUID]) -> None:
    for start in range(0, len(request_ids), PLAN_BATCH):
        batch = [str(i) for i in request_ids[start : start + PLAN_BATCH]]
        await enqueue(deps, "plan_request", CAMPAIGN_QUEUE, batch)
