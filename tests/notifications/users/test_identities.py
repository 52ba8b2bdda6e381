"""Channel identities (§C2): read from identity's bindings and the verified phone."""

from __future__ import annotations

import uuid

from api.models import IdentityBinding
from notifications.identities import ChannelIdentities, identities_of
from tests.notifications.users.support import reachable_resident, resident
from tests.support.client import Api


class TestIdentitiesOf:
    async def test_openid_alipay_ids_and_phone_of_each_user(self, api: Api) -> None:
        # given: R bound WeChat and Alipay; P only signed in by phone
        r = await reachable_resident(api)
        p = await resident(api)
        alipay = await IdentityBinding.get(person_id=r.user_id, provider="ALIPAY")
        # when
        found = await identities_of([r.user_id, p, uuid.uuid4()])
        # then: unknown users are absent
        assert found[r.user_id] == ChannelIdentities(r.openid, r.alipay_user_id, alipay.union_id, r.phone)
        assert found[p].wechat_openid is None and found[p].alipay_user_id is None and found[p].phone
        assert len(found) == 2

    async def test_nobody_asked_nothing_read(self, live: object) -> None:
        assert await identities_of([]) == {}
