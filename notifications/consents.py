"""WeChat and Alipay subscription quotas (notifications.md §1.5, §C11).

A one-time acceptance allows one message: the quota is consumed when its delivery is first claimed, restored if
the delivery ends without being sent (other than for lack of consent), and zeroed when the provider says there
is no consent or the user switches the subscription off. A long-term subscription is not counted.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.queryset import QuerySet

from api.models import QuotaKind, QuotaProvider, SubscriptionQuota


async def quota_remaining(
    user_ids: Collection[uuid.UUID], provider: QuotaProvider | str
) -> dict[tuple[uuid.UUID, str], tuple[QuotaKind, int]]:
    """(user, template id) → (kind, remaining) for every quota row of the users at `provider`."""
    if not user_ids:
        return {}
    rows = await SubscriptionQuota.filter(user_id__in=list(user_ids), provider=QuotaProvider(provider)).values_list(
        "user_id", "template_id", "kind", "remaining"
    )
    return {(uuid.UUID(str(u)), t): (QuotaKind(k), int(r)) for u, t, k, r in rows}


def _rows(
    db: BaseDBAsyncClient | None, user_id: uuid.UUID, provider: QuotaProvider | str, template_id: str
) -> QuerySet[SubscriptionQuota]:
    query = SubscriptionQuota.filter(user_id=user_id, provider=QuotaProvider(provider), template_id=template_id)
    return query.using_db(db) if db is not None else query


async def consume(
    db: BaseDBAsyncClient | None, user_id: uuid.UUID, provider: QuotaProvider | str, template_id: str
) -> bool:
    """Takes one message's consent: a one-time unit (compare-and-set on remaining > 0) or a long-term one."""
    taken = (
        await _rows(db, user_id, provider, template_id)
        .filter(kind=QuotaKind.ONE_TIME, remaining__gt=0)
        .update(remaining=F("remaining") - 1)
    )
    if taken:
        return True
    return await _rows(db, user_id, provider, template_id).filter(kind=QuotaKind.LONG_TERM).exists()


async def restore(
    db: BaseDBAsyncClient | None, user_id: uuid.UUID, provider: QuotaProvider | str, template_id: str
) -> bool:
    """Gives back a one-time unit taken by `consume` for a message that was not sent."""
    changed = (
        await _rows(db, user_id, provider, template_id)
        .filter(kind=QuotaKind.ONE_TIME)
        .update(remaining=F("remaining") + 1)
    )
    return changed > 0


async def zero(
    db: BaseDBAsyncClient | None, user_id: uuid.UUID, provider: QuotaProvider | str, template_id: str
) -> bool:
    """No consent any more (provider refusal, rejection, subscription switched off): long-term ones too."""
    changed = await _rows(db, user_id, provider, template_id).update(kind=QuotaKind.ONE_TIME, remaining=0)
    return changed > 0


async def grant(
    db: BaseDBAsyncClient | None,
    user_id: uuid.UUID,
    provider: QuotaProvider | str,
    template_id: str,
    kind: QuotaKind = QuotaKind.ONE_TIME,
) -> None:
    """A user's acceptance: one more one-time message, or a long-term subscription."""
    seed = SubscriptionQuota(
        id=uuid.uuid4(), user_id=user_id, provider=QuotaProvider(provider), template_id=template_id, remaining=0
    )
    await SubscriptionQuota.bulk_create([seed], ignore_conflicts=True, using_db=db)
    if kind is QuotaKind.LONG_TERM:
        await _rows(db, user_id, provider, template_id).update(kind=QuotaKind.LONG_TERM)
    else:
        await (
            _rows(db, user_id, provider, template_id)
            .filter(kind=QuotaKind.ONE_TIME)
            .update(remaining=F("remaining") + 1)
        )
