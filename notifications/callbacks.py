"""Provider callbacks, applied after their signature was verified (notifications.md §1.5, §1.8, §C11, §C13):
WeChat consent and sent events, Aliyun SMS receipts, Alipay subscription events.

Status changes are compare-and-set from `sent`, and their statistics are counted in the same transaction only when
a row changed, so a provider repeating a callback never counts twice. Each function returns how many events
changed something.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from api.models import (
    BindingProvider,
    Delivery,
    DeliveryChannel,
    IdentityBinding,
    NoticeStatus,
    NotificationRequest,
    QuotaKind,
    QuotaProvider,
)
from notifications import consents, stats
from notifications.alipay_push import AlipayEvent
from notifications.deps import NotificationsDeps
from notifications.wechat_push import WechatEvent


class SmsReceiptLike(Protocol):
    @property
    def out_id(self) -> str | None: ...
    @property
    def biz_id(self) -> str | None: ...
    @property
    def success(self) -> bool: ...
    @property
    def err_code(self) -> str | None: ...


async def _person_of(provider: BindingProvider, subject: str) -> uuid.UUID | None:
    found = (
        await IdentityBinding.filter(provider=provider, subject_id=subject).first().values_list("person_id", flat=True)
    )
    if found is None and provider is BindingProvider.ALIPAY:  # apps that receive open ids instead of 2088 ids
        found = (
            await IdentityBinding.filter(provider=provider, union_id=subject)
            .first()
            .values_list("person_id", flat=True)
        )
    return None if found is None else uuid.UUID(str(found))


async def _settle(db: BaseDBAsyncClient, delivery: Delivery, *, success: bool, error: str, now: datetime) -> bool:
    """sent → delivered, or sent → permanent_failure for a failure the provider reported later; counted once."""
    query = Delivery.filter(id=delivery.id, status=NoticeStatus.SENT).using_db(db)
    if success:
        changed = await query.update(status=NoticeStatus.DELIVERED, delivered_at=now)
        metric = "delivered"
    else:
        changed = await query.update(status=NoticeStatus.PERMANENT_FAILURE, last_error=error[:255])
        metric = f"failed:{NoticeStatus.PERMANENT_FAILURE.value}"
    if changed:
        topic = (
            await NotificationRequest.filter(id=delivery.request_id)
            .using_db(db)
            .first()
            .values_list("topic", flat=True)
        )
        scope = stats.scope_for(delivery.campaign_id, str(topic or ""))
        await stats.bump(db, scope=scope, channel=delivery.channel.value, metric=metric, at=now)
    return changed > 0


async def _settle_found(deps: NotificationsDeps, delivery: Delivery | None, *, success: bool, error: str) -> bool:
    if delivery is None:
        return False
    async with in_transaction() as db:
        return await _settle(db, delivery, success=success, error=error, now=deps.clock.now())


def _long_term(event: object) -> bool:
    kind = getattr(event, "subscribe_type", None) or getattr(event, "kind_of_subscription", None)
    return isinstance(kind, str) and kind.lower().replace("-", "_").startswith("long")


async def apply_wechat_events(deps: NotificationsDeps, events: Sequence[WechatEvent]) -> int:
    """popup accept → one more one-time message (or long-term); popup reject and a subscription switched off → 0;
    sent → the delivery with that msgid is delivered (or failed)."""
    applied = 0
    for event in events:
        if event.kind == "sent":
            if not event.msgid:
                continue
            delivery = await Delivery.get_or_none(channel=DeliveryChannel.WECHAT, provider_message_id=event.msgid)
            success = event.error in (None, 0) and event.accept
            error = f"wechat sent event {event.status or ''} {event.error or ''}".strip()
            applied += await _settle_found(deps, delivery, success=success, error=error)
            continue
        person = await _person_of(BindingProvider.WECHAT, event.openid)
        if person is None or not event.template_id:
            continue
        if event.accept and event.kind == "popup":
            kind = QuotaKind.LONG_TERM if _long_term(event) else QuotaKind.ONE_TIME
            await consents.grant(None, person, QuotaProvider.WECHAT, event.template_id, kind)
            applied += 1
        elif not event.accept:
            applied += await consents.zero(None, person, QuotaProvider.WECHAT, event.template_id)
    return applied


async def apply_sms_receipts(deps: NotificationsDeps, receipts: Sequence[SmsReceiptLike]) -> int:
    """A carrier receipt settles the SMS delivery named by OutId (our delivery id), else by BizId."""
    applied = 0
    for receipt in receipts:
        delivery = None
        try:
            if receipt.out_id:
                delivery = await Delivery.get_or_none(id=uuid.UUID(receipt.out_id), channel=DeliveryChannel.SMS)
        except ValueError:
            delivery = None
        if delivery is None and receipt.biz_id:
            delivery = await Delivery.get_or_none(channel=DeliveryChannel.SMS, provider_message_id=receipt.biz_id)
        error = f"sms receipt {receipt.err_code or 'failed'}"
        applied += await _settle_found(deps, delivery, success=receipt.success, error=error)
    return applied


async def apply_alipay_events(deps: NotificationsDeps, events: Sequence[AlipayEvent]) -> int:
    """subscribe → one more one-time message or a long-term subscription; unsubscribe → 0."""
    del deps
    applied = 0
    for event in events:
        person = await _person_of(BindingProvider.ALIPAY, event.user_id)
        if person is None:
            continue
        if event.action == "subscribe":
            kind = QuotaKind.LONG_TERM if event.kind == "long_term" else QuotaKind.ONE_TIME
            await consents.grant(None, person, QuotaProvider.ALIPAY, event.template_id, kind)
            applied += 1
        else:
            applied += await consents.zero(None, person, QuotaProvider.ALIPAY, event.template_id)
    return applied
