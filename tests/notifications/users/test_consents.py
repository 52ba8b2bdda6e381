"""Subscription quotas (§1.5, §C11, N11): one-time units taken by compare-and-set, long-term subscriptions,
restore and zero."""

from __future__ import annotations

import asyncio
import uuid

from api.models import QuotaKind, QuotaProvider, SubscriptionQuota
from notifications import consents
from tests.notifications.users.support import resident
from tests.support.client import Api

WX = QuotaProvider.WECHAT


def template() -> str:
    return f"TPL_TEST_{uuid.uuid4().hex[:10]}"


class TestConsume:
    async def test_one_acceptance_allows_exactly_one_message(self, api: Api) -> None:
        # given: one popup acceptance
        user, tpl = await resident(api), template()
        await consents.grant(None, user, WX, tpl)
        # when: three senders claim at once
        taken = await asyncio.gather(*(consents.consume(None, user, WX, tpl) for _ in range(3)))
        # then
        assert sorted(taken) == [False, False, True]
        assert await consents.quota_remaining([user], WX) == {(user, tpl): (QuotaKind.ONE_TIME, 0)}

    async def test_no_quota_row_means_no_consent(self, api: Api) -> None:
        user = await resident(api)
        assert await consents.consume(None, user, WX, template()) is False
        assert await SubscriptionQuota.filter(user_id=user).count() == 0

    async def test_a_long_term_subscription_is_not_counted(self, api: Api) -> None:
        user, tpl = await resident(api), template()
        await consents.grant(None, user, QuotaProvider.ALIPAY, tpl, QuotaKind.LONG_TERM)
        assert [await consents.consume(None, user, QuotaProvider.ALIPAY, tpl) for _ in range(3)] == [True] * 3
        assert await consents.quota_remaining([user], QuotaProvider.ALIPAY) == {(user, tpl): (QuotaKind.LONG_TERM, 0)}


class TestGrant:
    async def test_acceptances_add_up_per_template_and_provider(self, api: Api) -> None:
        user, tpl, other = await resident(api), template(), template()
        await consents.grant(None, user, WX, tpl)
        await consents.grant(None, user, WX, tpl)
        await consents.grant(None, user, WX, other)
        assert await consents.quota_remaining([user], WX) == {
            (user, tpl): (QuotaKind.ONE_TIME, 2),
            (user, other): (QuotaKind.ONE_TIME, 1),
        }
        assert await consents.quota_remaining([user], QuotaProvider.ALIPAY) == {}


class TestRestore:
    async def test_gives_back_a_taken_unit(self, api: Api) -> None:
        user, tpl = await resident(api), template()
        await consents.grant(None, user, WX, tpl)
        assert await consents.consume(None, user, WX, tpl)
        assert await consents.restore(None, user, WX, tpl)
        assert await consents.quota_remaining([user], WX) == {(user, tpl): (QuotaKind.ONE_TIME, 1)}


class TestZero:
    async def test_ends_one_time_and_long_term_consent(self, api: Api) -> None:
        user, once, always = await resident(api), template(), template()
        await consents.grant(None, user, WX, once)
        await consents.grant(None, user, WX, always, QuotaKind.LONG_TERM)
        assert await consents.zero(None, user, WX, once)
        assert await consents.zero(None, user, WX, always)
        assert await consents.consume(None, user, WX, once) is False
        assert await consents.consume(None, user, WX, always) is False

    async def test_without_a_row_nothing_is_written(self, api: Api) -> None:
        user = await resident(api)
        assert await consents.zero(None, user, WX, template()) is False
        assert await SubscriptionQuota.filter(user_id=user).count() == 0
