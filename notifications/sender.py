"""The `send_batch` job body (§C1, §C5–C10): claim → deadline → preferences → endpoint → cap → buckets → one-time
quota → render → adapter → classify.

Claims are compare-and-set (status and attempt count), so two jobs with the same ids send each delivery once. A
bucket wait is not an attempt: the row goes back to its former status with `next_attempt_at` at the wait's end.
The adapter call for a batch runs per item concurrently inside the adapter (a slow or busy token never holds the
others), and each result is classified on its own row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from tortoise.transactions import in_transaction

from api.models.notifications import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryChannel,
    NoticeKind,
    NoticeStatus,
    SuppressReason,
)
from notifications import caps, consents
from notifications.buckets import Buckets, BucketsUnavailable, Scope, campaign_scope, transactional_scope
from notifications.channels.base import ChannelAdapter, OutboundMessage, SendResult
from notifications.deps import NotificationsDeps
from notifications.ids import apns_id, collapse_id
from notifications.ledger import CLAIMABLE, Change, below_max_attempts, compare_and_set
from notifications.outcomes import Finish, Work, apply_results, finish_without_sending, on_late_reply, unclaim
from notifications.send_context import SendContext, load_context

log = logging.getLogger("zsb.notifications.sender")

CLAIM_PREFIX = "claim:"
CLOSED_BUCKET_WAIT = timedelta(seconds=5)  # campaign sends while Redis is unreachable: try again shortly
# One recipient per provider call everywhere but Huawei, which takes up to 1,000 tokens of one message per call:
# its batch stays whole, the others' messages are separate adapter calls (a slow token holds only itself).
BATCHED_CHANNELS = frozenset({DeliveryChannel.HUAWEI})
SETTLE_WINDOW_S = 0.2  # after the first answer, gather what else arrives this soon into the same transaction
MAX_WAVE = 500  # answers recorded in one transaction at most before the window ends
DEFAULT_TTL_S = 86400


@dataclass
class _Claimed:
    row: Delivery
    prior_status: NoticeStatus


async def send_batch(deps: NotificationsDeps, delivery_ids: Sequence[uuid.UUID | str]) -> int:
    """Send what can be sent of `delivery_ids`; returns how many deliveries this call moved on (sent, failed,
    suppressed, expired, or scheduled for a retry); waits for a bucket or for Redis do not count."""
    now = deps.clock.now()
    claim = f"{CLAIM_PREFIX}{secrets.token_hex(12)}"
    ids = [d if isinstance(d, uuid.UUID) else uuid.UUID(str(d)) for d in delivery_ids]
    claimed = await _claim(deps, ids, now, claim)
    if not claimed:
        return 0
    ctx = await load_context(deps, [c.row for c in claimed])
    ctx.claim = claim
    work: list[Work] = []
    finals: list[Finish] = []
    for item in claimed:
        verdict = await _precheck(deps, ctx, item, now)
        if isinstance(verdict, Finish):
            finals.append(verdict)
        elif verdict is not None:
            work.append(verdict)
    settled = await finish_without_sending(deps, ctx, finals, now)
    work = await _take_buckets(deps, ctx, work, now)
    work, refused = await _consume_quotas(ctx, work)
    settled += await finish_without_sending(deps, ctx, refused, now)
    return settled + await _send_and_record(deps, ctx, work, now)


async def _claim(deps: NotificationsDeps, ids: list[uuid.UUID], now: datetime, token: str) -> list[_Claimed]:
    if not ids:
        return []
    settings = deps.settings
    candidates = await Delivery.filter(
        below_max_attempts(settings), id__in=ids, status__in=CLAIMABLE, next_attempt_at__lte=now
    ).exclude(channel=DeliveryChannel.INBOX)
    paused = await _paused_campaigns({c.campaign_id for c in candidates if c.campaign_id is not None})
    lease = now + timedelta(seconds=settings.apns_timeout_s * 2 + 30)
    # One set-based compare-and-set on the status and attempt count each row was read with; the claim token in
    # last_error marks the rows this call won until they leave `sending` (every way out overwrites it).
    rows = [row for row in candidates if row.campaign_id not in paused]
    if not rows:
        return []
    changes: list[Change] = [
        (
            row.id,
            {"status": row.status, "attempts": row.attempts},
            {"status": NoticeStatus.SENDING, "lease_until": lease, "attempts": row.attempts + 1, "last_error": token},
        )
        for row in rows
    ]
    async with in_transaction() as db:
        won = await compare_and_set(db, changes, due=now)
    claimed: list[_Claimed] = []
    for row in rows:
        if row.id in won:
            prior = NoticeStatus(row.status)
            row.status, row.lease_until, row.attempts = NoticeStatus.SENDING, lease, row.attempts + 1
            claimed.append(_Claimed(row, prior))
    return claimed


async def _paused_campaigns(ids: set[uuid.UUID]) -> set[uuid.UUID]:
    if not ids:
        return set()
    paused = await Campaign.filter(id__in=ids, status=CampaignStatus.PAUSED).values_list("id", flat=True)
    return {uuid.UUID(str(p)) for p in paused}


async def _precheck(deps: NotificationsDeps, ctx: SendContext, item: _Claimed, now: datetime) -> Work | Finish | None:
    row = item.row
    request = ctx.requests[row.request_id]
    campaign = ctx.campaigns.get(row.campaign_id) if row.campaign_id is not None else None
    if campaign is not None and campaign.status in (CampaignStatus.CANCELLED, CampaignStatus.FAILED):
        return Finish(row, NoticeStatus.CANCELLED, reason=f"campaign {campaign.status}")
    deadline = ctx.deadline(row)
    if deadline is not None and deadline <= now:
        return Finish(row, NoticeStatus.EXPIRED, reason="deadline passed")
    template = ctx.template_of(request)
    variant = ctx.variant(template, row.channel) if template is not None else None
    if template is None or variant is None:
        return Finish(row, NoticeStatus.TECHNICAL_FAILURE, reason="template variant missing")
    policy = ctx.policies.get(row.recipient_user_id)
    if policy is not None and not policy.allows(request.category, ctx.template_channel(row.channel)):
        return Finish(row, NoticeStatus.SUPPRESSED, suppress=SuppressReason.OPT_OUT)
    address, env = ctx.address(row)
    if address is None:
        return Finish(row, NoticeStatus.SUPPRESSED, suppress=SuppressReason.NO_ENDPOINT)
    if request.kind == NoticeKind.CAMPAIGN:
        # The request's deliveries share one slot: ask Redis once per request and batch.
        allowed = ctx.slots.get(request.id)
        if allowed is None:
            try:
                allowed = await caps.take_slot(
                    deps.redis,
                    user_id=row.recipient_user_id,
                    request_id=request.id,
                    now=now,
                    tz=ctx.zone(row.recipient_user_id),
                    limit=deps.settings.campaign_daily_cap,
                )
            except (RedisError, OSError) as exc:  # Redis down: campaign sends fail closed (§C8)
                log.warning("frequency cap unavailable, campaign delivery waits", extra={"error": str(exc)})
                await unclaim(ctx, [(row, item.prior_status)], now + CLOSED_BUCKET_WAIT)
                return None
            ctx.slots[request.id] = allowed
        if not allowed:
            return Finish(row, NoticeStatus.SUPPRESSED, suppress=SuppressReason.FREQUENCY_CAPPED)
    rendered = ctx.render(variant, request)
    expires = deadline if deadline is not None else now + timedelta(seconds=DEFAULT_TTL_S)
    message = OutboundMessage(
        delivery_id=row.id,
        channel=row.channel,
        address=address,
        title=rendered.title,
        body=rendered.body,
        deeplink=rendered.deeplink,
        category=request.category,
        kind=request.kind,
        dedup_key=row.dedup_key,
        apns_id=apns_id(row.dedup_key, row.channel, row.endpoint_key),
        collapse_id=collapse_id(row.dedup_key),
        ttl_s=max(1, int((expires - now).total_seconds())),
        env=env or "prod",
        vendor_template_id=variant.vendor_template_id,
        vendor_category=variant.huawei_category,
        sign_name=variant.sms_sign_name,
        data=rendered.data,
        extra={"deliveryId": str(row.id)},
    )
    return Work(row=row, prior_status=item.prior_status, message=message)


async def _take_buckets(deps: NotificationsDeps, ctx: SendContext, work: list[Work], now: datetime) -> list[Work]:
    buckets = Buckets(deps.redis, deps.settings)
    groups: dict[tuple[str, uuid.UUID | None], list[Work]] = defaultdict(list)
    for w in work:
        groups[(w.row.channel, w.row.campaign_id)].append(w)
    ready: list[Work] = []
    for (channel, campaign_id), items in groups.items():
        try:
            scopes: list[Scope] = [await buckets.provider_scope(channel, now)]
            campaign = ctx.campaigns.get(campaign_id) if campaign_id is not None else None
            if campaign_id is not None:
                throttle = campaign.throttle_per_min if campaign else deps.settings.default_throttle_per_min
                scopes.append(campaign_scope(campaign_id, throttle))
            else:
                scopes.append(transactional_scope(deps.settings))
            grant = await buckets.take(scopes, len(items), now)
        except BucketsUnavailable as exc:
            if campaign_id is None:
                log.warning("token buckets unavailable, transactional sends go unmetered", extra={"error": str(exc)})
                ready += items
            else:
                await unclaim(ctx, [(w.row, w.prior_status) for w in items], now + CLOSED_BUCKET_WAIT)
            continue
        ready += items[: grant.granted]
        wait = now + timedelta(milliseconds=max(grant.wait_ms, 1))
        await unclaim(ctx, [(w.row, w.prior_status) for w in items[grant.granted :]], wait)
    return ready


async def _consume_quotas(ctx: SendContext, work: list[Work]) -> tuple[list[Work], list[Finish]]:
    """A one-time subscription is used when its delivery is first claimed, not on each attempt (§C11)."""
    ready: list[Work] = []
    refused: list[Finish] = []
    for w in work:
        provider = ctx.quota_provider(w.row.channel)
        if provider is None:
            ready.append(w)
            continue
        if w.row.attempts > 1:
            w.consumed = True
            ready.append(w)
            continue
        async with in_transaction() as db:
            ok = await consents.consume(db, w.row.recipient_user_id, provider, w.message.vendor_template_id)
        if ok:
            w.consumed = True
            ready.append(w)
        else:
            refused.append(Finish(w.row, NoticeStatus.SUPPRESSED, suppress=SuppressReason.NO_CONSENT))
    return ready, refused


async def _send_and_record(deps: NotificationsDeps, ctx: SendContext, work: list[Work], started: datetime) -> int:
    """Call the adapters and record results in waves as they arrive: a slow token's timeout never holds the
    classification of the others (N06), and fast answers share one transaction."""
    by_channel: dict[str, list[Work]] = defaultdict(list)
    for w in work:
        by_channel[w.row.channel].append(w)
    calls: list[asyncio.Task[list[tuple[Work, SendResult, float]]]] = []
    for channel, items in by_channel.items():
        adapter = deps.adapters.get(channel)
        groups = [items] if adapter is None or channel in BATCHED_CHANNELS else [[w] for w in items]
        calls += [asyncio.create_task(_call(adapter, channel, group)) for group in groups]
    answers = _Answers(len(calls))
    for task in calls:
        task.add_done_callback(answers.landed)
    settled = 0
    try:
        while wave := await answers.next_wave():
            results = {w.row.id: (result, latency) for w, result, latency in wave}
            settled += await apply_results(deps, ctx, [w for w, _, _ in wave], results, deps.clock.now(), started)
    finally:
        for task in calls:
            task.cancel()
    return settled


class _Answers:
    """The answers of a batch's adapter calls as the calls end, handed out in waves: the first answer, then what
    else arrives within SETTLE_WINDOW_S (or until every call has ended), so one transaction records many."""

    def __init__(self, calls: int) -> None:
        self._left = calls
        self._ready: list[tuple[Work, SendResult, float]] = []
        self._arrived = asyncio.Event()
        self._all_in = asyncio.Event()
        if not calls:
            self._all_in.set()

    def landed(self, task: asyncio.Task[list[tuple[Work, SendResult, float]]]) -> None:
        self._left -= 1
        if not task.cancelled() and task.exception() is None:
            self._ready += task.result()
        elif not task.cancelled():  # _call answers for every item; this is only a guard
            log.error("adapter call failed", exc_info=task.exception())
        self._arrived.set()
        if self._left == 0:
            self._all_in.set()

    async def next_wave(self) -> list[tuple[Work, SendResult, float]]:
        """The next answers; empty once every call has ended and every answer was handed out."""
        while not self._ready and self._left:
            self._arrived.clear()
            await self._arrived.wait()
        if self._left and len(self._ready) < MAX_WAVE:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_in.wait(), SETTLE_WINDOW_S)
        wave, self._ready = self._ready, []
        return wave


async def _call(
    adapter: ChannelAdapter | None, channel: str, items: list[Work]
) -> list[tuple[Work, SendResult, float]]:
    started = time.monotonic()
    if adapter is None:
        answers = [SendResult("technical", reason=f"no adapter for {channel}") for _ in items]
    else:
        try:
            answers = await adapter.send([w.message for w in items])
        except Exception:  # an adapter must not raise; if one does, its call is a technical failure
            log.exception("channel adapter raised", extra={"channel": channel})
            answers = [SendResult("technical", reason="adapter error") for _ in items]
        if len(answers) != len(items):
            log.error("channel adapter answered %d of %d", len(answers), len(items))
            answers = [*answers[: len(items)], *[SendResult("technical", reason="no answer")] * len(items)][
                : len(items)
            ]
    latency = time.monotonic() - started
    return [(w, answer, latency) for w, answer in zip(items, answers, strict=True)]


__all__ = ["on_late_reply", "send_batch"]
