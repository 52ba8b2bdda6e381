"""Classified results → delivery statuses (§C6 "Outcome → status"), attempt rows, endpoint and quota updates and
stats, in one transaction per wave of answers. Every status change is a compare-and-set on the claimed row (status
`sending` and the claim's token), made set-based: a few `UPDATE … RETURNING id` per wave, one INSERT of its attempt
rows, one stats upsert counting only the rows the compare-and-set changed (§C13)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from api.kit.ids import parse_uuid
from api.models.notifications import (
    Delivery,
    DeliveryAttempt,
    DeliveryChannel,
    NoticeStatus,
    NotificationRequest,
    SuppressReason,
)
from notifications import caps, consents, devices, stats
from notifications.buckets import Buckets, BucketsUnavailable
from notifications.channels.base import LateReply, OutboundMessage, SendResult
from notifications.deps import NotificationsDeps
from notifications.ledger import (
    SENT_LIKE,
    AttemptRow,
    StatTally,
    insert_attempts,
    open_deliveries,
    settle_requests,
    transition_claimed,
)
from notifications.retry import max_attempts, next_retry_at
from notifications.send_context import PUSH_CHANNELS, SendContext

log = logging.getLogger("zsb.notifications.sender")

BACK_PRESSURE = (429, 503)
AUTH_PREFIX = "auth: "


@dataclass
class Work:
    row: Delivery  # claimed: status sending, attempts already counting this attempt
    prior_status: NoticeStatus
    message: OutboundMessage
    consumed: bool = False  # holds a one-time subscription, to give back if it ends without being sent


@dataclass(frozen=True)
class Finish:
    row: Delivery
    status: NoticeStatus
    reason: str | None = None
    suppress: SuppressReason | None = None


async def unclaim(ctx: SendContext, items: Sequence[tuple[Delivery, NoticeStatus]], at: datetime) -> None:
    """Back to waiting, due at `at`: a wait is not an attempt. A fresh delivery waits as `deferred`, which the
    scheduler picks up as soon as it is due (a `created` one only once its enqueue counts as missed)."""
    if not items:
        return
    changes = [
        (
            row.id,
            {
                "status": NoticeStatus.DEFERRED if prior == NoticeStatus.CREATED else prior,
                "attempts": row.attempts - 1,
                "next_attempt_at": at,
                "lease_until": None,
                "last_error": row.last_error,
            },
        )
        for row, prior in items
    ]
    async with in_transaction() as db:
        await transition_claimed(db, ctx.claim, changes)


async def finish_without_sending(deps: NotificationsDeps, ctx: SendContext, finals: list[Finish], now: datetime) -> int:
    """Settle deliveries stopped before the provider call; returns how many this call changed."""
    if not finals:
        return 0
    tally = StatTally()
    changes = [
        (f.row.id, {"status": f.status, "suppress_reason": f.suppress, "last_error": f.reason, "lease_until": None})
        for f in finals
    ]
    async with in_transaction() as db:
        changed = await transition_claimed(db, ctx.claim, changes)
        for f in finals:
            if f.row.id in changed:
                metric = f"suppressed:{f.suppress}" if f.suppress is not None else f"failed:{f.status}"
                tally.add(_scope(ctx, f.row), f.row.channel, metric)
                await _restore_earlier_consumption(db, ctx, f)
        await tally.flush(db, now)
        await settle_requests(deps.settings, {f.row.request_id for f in finals}, db)
    await release_unused_slots(deps, ctx, [f.row for f in finals], now)
    return len(changed)


async def _restore_earlier_consumption(db: BaseDBAsyncClient, ctx: SendContext, f: Finish) -> None:
    """A retry that stops before the provider call gives back the one-time subscription its first claim took."""
    provider = ctx.quota_provider(f.row.channel)
    if provider is None or f.row.attempts <= 1 or f.suppress == SuppressReason.NO_CONSENT:
        return
    template = ctx.template_of(ctx.requests[f.row.request_id])
    variant = ctx.variant(template, f.row.channel) if template is not None else None
    if variant is not None:
        await consents.restore(db, f.row.recipient_user_id, provider, variant.vendor_template_id)


async def apply_results(
    deps: NotificationsDeps,
    ctx: SendContext,
    work: list[Work],
    results: dict[uuid.UUID, tuple[SendResult, float]],
    now: datetime,
    started: datetime | None = None,
) -> int:
    if not work:
        return 0
    tally = StatTally()
    pressured: set[str] = set()
    attempts: list[AttemptRow] = []
    decided: list[tuple[Work, SendResult, dict[str, Any], str | None]] = []
    for w in work:
        result, latency_s = results.get(w.row.id, (SendResult("technical", reason="no answer"), 0.0))
        if result.alert:
            log.error(
                "provider answer needs an operator",
                extra={"channel": w.row.channel, "reason": result.reason, "delivery_id": str(w.row.id)},
            )
        if result.outcome == "retry" and result.http_status in BACK_PRESSURE:
            pressured.add(w.row.channel)
        attempts.append(
            AttemptRow(
                delivery_id=w.row.id,
                attempt_no=w.row.attempts,
                started_at=started or now,
                finished_at=now,
                http_status=result.http_status,
                reason=(result.reason or "")[:128] or None,
                outcome=result.outcome,
                latency_ms=int(latency_s * 1000),
            )
        )
        fields, metric = _classify(deps, ctx, w, result, now)
        decided.append((w, result, fields, metric))
    async with in_transaction() as db:
        changed = await transition_claimed(db, ctx.claim, [(w.row.id, fields) for w, _, fields, _ in decided])
        for w, result, fields, metric in decided:
            if w.row.id not in changed:
                continue
            if metric:
                tally.add(_scope(ctx, w.row), w.row.channel, metric)
            await _side_effects(db, ctx, w, result, fields, now)
        await insert_attempts(db, attempts)
        await tally.flush(db, now)
        await settle_requests(deps.settings, {w.row.request_id for w in work}, db)
    buckets = Buckets(deps.redis, deps.settings)
    for channel in pressured:
        try:
            await buckets.back_off(channel, now)
        except BucketsUnavailable:
            log.warning("could not lower the provider rate", extra={"channel": channel})
    await release_unused_slots(deps, ctx, [w.row for w in work], now)
    return len(changed)


def _classify(
    deps: NotificationsDeps, ctx: SendContext, w: Work, result: SendResult, now: datetime
) -> tuple[dict[str, Any], str | None]:
    reason = (result.reason or result.outcome)[:255]
    if result.outcome == "sent":
        return {
            "status": NoticeStatus.SENT,
            "sent_at": now,
            "provider_message_id": result.provider_id,
            "last_error": None,
            "lease_until": None,
        }, "sent"
    # One retry after the adapter refreshed its credentials, then permanent (§C6 "Outcome → status").
    first_auth = result.outcome == "auth" and not (w.row.last_error or "").startswith(AUTH_PREFIX)
    if first_auth:
        reason = f"{AUTH_PREFIX}{reason}"[:255]
    if result.outcome == "retry" or first_auth:
        campaign = w.row.campaign_id is not None
        at = next_retry_at(
            deps.settings,
            attempt=w.row.attempts,
            now=now,
            seed=str(w.row.id),
            deadline=ctx.deadline(w.row),
            campaign=campaign,
            retry_after_s=result.retry_after_s,
        )
        if at is not None:
            fields = {"status": NoticeStatus.TEMPORARY_FAILURE, "next_attempt_at": at, "last_error": reason}
            return fields | {"lease_until": None}, None
        if w.row.attempts >= max_attempts(deps.settings, campaign=campaign):
            return {"status": NoticeStatus.TEMPORARY_FAILURE, "last_error": reason, "lease_until": None}, (
                f"failed:{NoticeStatus.TEMPORARY_FAILURE}"
            )
        expired = {"status": NoticeStatus.EXPIRED, "last_error": reason, "lease_until": None}
        return expired, f"failed:{NoticeStatus.EXPIRED}"
    if result.outcome == "technical":
        return {"status": NoticeStatus.TECHNICAL_FAILURE, "last_error": reason, "lease_until": None}, (
            f"failed:{NoticeStatus.TECHNICAL_FAILURE}"
        )
    fields = {"status": NoticeStatus.PERMANENT_FAILURE, "last_error": reason, "lease_until": None}
    if result.outcome == "no_consent":
        fields |= {"suppress_reason": SuppressReason.NO_CONSENT, "last_error": SuppressReason.NO_CONSENT.value}
    return fields, f"failed:{NoticeStatus.PERMANENT_FAILURE}"


async def _side_effects(
    db: BaseDBAsyncClient, ctx: SendContext, w: Work, result: SendResult, fields: dict[str, Any], now: datetime
) -> None:
    row = w.row
    if result.outcome == "invalid_endpoint" and row.channel in PUSH_CHANNELS:
        endpoint_id = parse_uuid(row.endpoint_key)
        if endpoint_id is not None:
            at = result.endpoint_invalid_at or now
            await devices.invalidate_endpoint(db, endpoint_id, at, result.reason or "invalid")
    provider = ctx.quota_provider(row.channel)
    if provider is None:
        return
    if result.outcome == "no_consent":
        await consents.zero(db, row.recipient_user_id, provider, w.message.vendor_template_id)
    elif w.consumed and _final_unsent(fields):
        await consents.restore(db, row.recipient_user_id, provider, w.message.vendor_template_id)


def _final_unsent(fields: dict[str, Any]) -> bool:
    status = fields["status"]
    if status == NoticeStatus.SENT:
        return False
    return status != NoticeStatus.TEMPORARY_FAILURE or "next_attempt_at" not in fields


def _scope(ctx: SendContext, row: Delivery) -> str:
    request = ctx.requests[row.request_id]
    return stats.scope_for(request.campaign_id, request.topic)


async def release_unused_slots(deps: NotificationsDeps, ctx: SendContext, rows: list[Delivery], now: datetime) -> None:
    """A campaign request none of whose capped deliveries was sent gives its day's slot back (§C10)."""
    requests = {r.request_id for r in rows if r.campaign_id is not None}
    if not requests:
        return
    busy = set(
        await Delivery.filter(open_deliveries(deps.settings), request_id__in=requests)
        .exclude(channel=DeliveryChannel.INBOX)
        .values_list("request_id", flat=True)
    )
    sent = set(
        await Delivery.filter(request_id__in=requests, status__in=SENT_LIKE)
        .exclude(channel=DeliveryChannel.INBOX)
        .values_list("request_id", flat=True)
    )
    for request_id in requests - busy - sent:
        request = ctx.requests[request_id]
        try:
            await caps.release_slot(
                deps.redis,
                user_id=request.recipient_user_id,
                request_id=request_id,
                now=now,
                tz=ctx.zone(request.recipient_user_id),
            )
        except (RedisError, OSError):  # Redis down: the slot expires with its day
            log.warning("could not release a frequency-cap slot", extra={"request_id": str(request_id)})


async def on_late_reply(deps: NotificationsDeps, late: LateReply) -> None:
    """A reply that came after its send timed out (§C6): recorded as a late attempt; a late 200 moves a delivery
    still in temporary_failure to sent (its scheduled retry then finds nothing to claim)."""
    row = await Delivery.get_or_none(id=late.delivery_id)
    if row is None:
        return
    result = late.result
    async with in_transaction() as db:
        await DeliveryAttempt.create(
            using_db=db,
            delivery_id=row.id,
            attempt_no=row.attempts,
            started_at=late.arrived_at,
            finished_at=late.arrived_at,
            http_status=result.http_status,
            reason=(result.reason or "")[:128] or None,
            outcome=result.outcome,
            late=True,
        )
        if result.outcome != "sent":
            return
        changed = (
            await Delivery.filter(id=row.id, status=NoticeStatus.TEMPORARY_FAILURE)
            .using_db(db)
            .update(
                status=NoticeStatus.SENT,
                sent_at=late.arrived_at,
                provider_message_id=result.provider_id,
                last_error=None,
            )
        )
        if changed:
            request = await NotificationRequest.filter(id=row.request_id).using_db(db).first()
            await stats.bump(
                db,
                scope=stats.scope_for(request.campaign_id if request else None, request.topic if request else ""),
                channel=row.channel,
                metric="sent",
                at=late.arrived_at,
            )
            await settle_requests(deps.settings, {row.request_id}, db)
