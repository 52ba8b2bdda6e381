"""The `plan_request` job body (§C1): pending requests → Delivery rows, the inbox item at once, send jobs.

Everything a batch of requests needs is read in a handful of queries; each request is then recorded in its own
transaction, guarded by the pending → planned compare-and-set, so a job that runs twice plans once.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from api.models.notifications import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryChannel,
    NoticeCategory,
    NoticeStatus,
    NotificationRequest,
    QuotaProvider,
    RequestStatus,
    TemplateChannel,
)
from notifications import consents, devices, identities, inbox, preferences, stats, templates
from notifications.deps import CAMPAIGN_QUEUE, TX_QUEUE, NotificationsDeps
from notifications.ledger import StatTally, settle_requests
from notifications.planner import PlanInput, PlannedDelivery, plan
from notifications.queue import enqueue
from notifications.send_context import zone_of

log = logging.getLogger("zsb.notifications.plan")

TemplateKey = tuple[str, int, str]


TX_CHUNK = 100  # requests recorded per transaction: few commits, without holding SQLite's writer lock for long
_DELIVERY_BATCH = 50  # rows per INSERT: under SQLite's 999 bound variables


@dataclass(frozen=True)
class _Planned:
    request: NotificationRequest
    template: templates.TemplateVersion
    planned: list[PlannedDelivery]


@dataclass(frozen=True)
class _Recorded:
    user_id: uuid.UUID
    campaign: bool
    to_send: list[uuid.UUID]  # created deliveries, to enqueue now
    inbox_item: uuid.UUID | None


async def plan_request(deps: NotificationsDeps, request_id: uuid.UUID | str) -> int:
    """Plan one request; returns how many deliveries were created to be sent now."""
    return await plan_requests(deps, [request_id])


async def plan_requests(deps: NotificationsDeps, request_ids: Sequence[uuid.UUID | str]) -> int:
    ids = [r if isinstance(r, uuid.UUID) else uuid.UUID(str(r)) for r in request_ids]
    requests = await NotificationRequest.filter(id__in=ids, status=RequestStatus.PENDING)
    if not requests:
        return 0
    now = deps.clock.now()
    users = {r.recipient_user_id for r in requests}
    policies = await preferences.load_policies(users, settings=deps.settings)
    endpoints = await devices.active_endpoints(users)
    bound = await identities.identities_of(users, wechat_app_id=deps.wechat_app_id)
    quotas: dict[uuid.UUID, dict[tuple[str, str], tuple[str, int]]] = defaultdict(dict)
    for provider in (QuotaProvider.WECHAT, QuotaProvider.ALIPAY):
        for (user, template_id), (kind, remaining) in (await consents.quota_remaining(users, provider)).items():
            quotas[user][(provider.value, template_id)] = (str(kind), remaining)
    campaign_ids = {r.campaign_id for r in requests if r.campaign_id is not None}
    campaigns = {c.id: c for c in await Campaign.filter(id__in=campaign_ids)} if campaign_ids else {}
    pinned: dict[TemplateKey, templates.TemplateVersion | None] = {}

    cancelled: list[uuid.UUID] = []
    batch: list[_Planned] = []
    for request in requests:
        key = (request.template_code, request.template_version, request.locale)
        if key not in pinned:
            pinned[key] = await templates.pinned_template(*key)
        template = pinned[key]
        campaign = campaigns.get(request.campaign_id) if request.campaign_id else None
        if template is None:
            log.error("request pins a template that does not exist", extra={"request_id": str(request.id)})
            cancelled.append(request.id)
            continue
        if campaign is not None and campaign.status in (CampaignStatus.CANCELLED, CampaignStatus.FAILED):
            cancelled.append(request.id)
            continue
        policy = policies[request.recipient_user_id]
        planned = plan(
            PlanInput(
                kind=request.kind,
                category=request.category,
                dedup_key=request.dedup_key,
                template=template,
                policy=policy,
                timezone=zone_of(policy.timezone),
                endpoints=endpoints.get(request.recipient_user_id, []),
                identities=bound.get(request.recipient_user_id),
                quotas=quotas.get(request.recipient_user_id, {}),
                now=now,
                quiet_jitter_s=deps.settings.quiet_jitter_s,
                only_channels=campaign.channels if campaign is not None and campaign.channels else None,
                not_before=request.not_before,
            )
        )
        batch.append(_Planned(request, template, planned))
    if cancelled:
        await NotificationRequest.filter(id__in=cancelled, status=RequestStatus.PENDING).update(
            status=RequestStatus.CANCELLED
        )

    to_send: dict[str, list[uuid.UUID]] = defaultdict(list)
    published: list[tuple[uuid.UUID, uuid.UUID]] = []
    for start in range(0, len(batch), TX_CHUNK):
        for recorded in await _record(deps, batch[start : start + TX_CHUNK], now):
            to_send[CAMPAIGN_QUEUE if recorded.campaign else TX_QUEUE] += recorded.to_send
            if recorded.inbox_item is not None:
                published.append((recorded.user_id, recorded.inbox_item))

    unread = await inbox.unread_counts({user_id for user_id, _ in published})
    for user_id, item_id in published:
        await inbox.publish_update(deps.redis, user_id, item_id, unread[user_id])
    created = 0
    size = max(1, deps.settings.send_batch_size)
    for queue, delivery_ids in to_send.items():
        created += len(delivery_ids)
        for start in range(0, len(delivery_ids), size):
            await enqueue(deps, "send_batch", queue, [str(d) for d in delivery_ids[start : start + size]])
    return created


async def _record(deps: NotificationsDeps, batch: list[_Planned], now: datetime) -> list[_Recorded]:
    """Record a chunk of plans in one transaction; each request is guarded by its own pending → planned
    compare-and-set, so a plan that another run recorded first is left alone."""
    tally = StatTally()
    recorded: list[_Recorded] = []
    async with in_transaction() as db:
        claimed = await _claim_requests(db, [p.request.id for p in batch])
        mine = [p for p in batch if p.request.id in claimed]
        if not mine:
            return []
        rows = [_delivery(p.request, d, now) for p in mine for d in p.planned]
        await Delivery.bulk_create(rows, batch_size=_DELIVERY_BATCH, ignore_conflicts=True, using_db=db)
        stored: dict[uuid.UUID, list[_Stored]] = defaultdict(list)
        for values in (
            await Delivery.filter(request_id__in=[p.request.id for p in mine])
            .using_db(db)
            .values_list("id", "request_id", "channel", "status", "suppress_reason")
        ):
            stored[values[1]].append(_Stored(*values))
        inbox_rows: dict[str, list[uuid.UUID]] = defaultdict(list)
        items: list[inbox.NewItem] = []
        for p in mine:
            scope = stats.scope_for(p.request.campaign_id, p.request.topic)
            for row in stored[p.request.id]:
                if row.status == NoticeStatus.SUPPRESSED:
                    tally.add(scope, row.channel, f"suppressed:{row.suppress_reason}")
                else:
                    tally.add(scope, row.channel, "eligible")
            inbox_row = next((r for r in stored[p.request.id] if r.channel == DeliveryChannel.INBOX), None)
            if inbox_row is not None:
                inbox_rows[scope].append(inbox_row.id)
                item = _inbox_item(p.request, p.template, inbox_row.id)
                if item is not None:
                    items.append(item)
        written = await inbox.write_items(db, items, now=now)
        for p in mine:
            to_send = [
                r.id
                for r in stored[p.request.id]
                if r.status == NoticeStatus.CREATED and r.channel != DeliveryChannel.INBOX
            ]
            item_id = written.get(p.request.id)
            recorded.append(_Recorded(p.request.recipient_user_id, p.request.campaign_id is not None, to_send, item_id))
        for scope, ids in inbox_rows.items():
            # The inbox item is the inbox delivery's send: it is sent as soon as it is written.
            marked = (
                await Delivery.filter(id__in=ids, status=NoticeStatus.CREATED)
                .using_db(db)
                .update(status=NoticeStatus.SENT, sent_at=now, attempts=1)
            )
            tally.add(scope, DeliveryChannel.INBOX, "sent", marked)
        await tally.flush(db, now)
        await settle_requests(deps.settings, [p.request.id for p in mine], db)
    return recorded


@dataclass(frozen=True)
class _Stored:
    id: uuid.UUID
    request_id: uuid.UUID
    channel: str
    status: str
    suppress_reason: str | None


async def _claim_requests(db: BaseDBAsyncClient, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """The pending → planned compare-and-set of a chunk of requests in one statement: the ids it changed."""
    if not ids:
        return set()
    keys = [str(i) for i in ids]
    params: list[object] = [keys]
    where = "id = ANY($1::uuid[])"
    if db.capabilities.dialect != "postgres":
        params, where = list(keys), f"id IN ({', '.join('?' * len(keys))})"
    sql = f"UPDATE notification_request SET status = 'planned' WHERE {where} AND status = 'pending' RETURNING id"  # noqa: S608
    return {uuid.UUID(str(r["id"])) for r in await db.execute_query_dict(sql, params)}


def _delivery(request: NotificationRequest, p: PlannedDelivery, now: datetime) -> Delivery:
    return Delivery(
        id=uuid.uuid4(),
        request_id=request.id,
        campaign_id=request.campaign_id,
        recipient_user_id=request.recipient_user_id,
        channel=p.channel,
        endpoint_key=p.endpoint_key,
        dedup_key=request.dedup_key,
        status=p.status,
        suppress_reason=p.suppress_reason,
        attempts=0,
        next_attempt_at=p.next_attempt_at,
        created_at=now,
    )


def _inbox_item(
    request: NotificationRequest, template: templates.TemplateVersion, delivery_id: uuid.UUID
) -> inbox.NewItem | None:
    """The inbox is the fallback of last resort: written at planning time, never capped, never deferred."""
    variant = inbox_variant(template)
    if variant is None:
        return None
    return inbox.NewItem(
        user_id=request.recipient_user_id,
        request_id=request.id,
        delivery_id=delivery_id,
        category=NoticeCategory(request.category),
        rendered=templates.render(variant, request.params),
    )


def inbox_variant(template: templates.TemplateVersion) -> templates.TemplateVariant | None:
    """The inbox variant, else the push text (the inbox keeps the full text of what interrupts)."""
    for channel in (TemplateChannel.INBOX, TemplateChannel.PUSH, *template.variants):
        variant = template.variants.get(channel)
        if variant is not None:
            return variant
    return None
