"""The pages' bill sections: 市民主页 `billsDue` (the resident's own unpaid bills) and 法人空间 `pendingPayments` (the
enterprise's), soonest due first, bills without a due date last, at most 10."""

from __future__ import annotations

import uuid
from typing import Any

from api.models import BillKind, BillStatus
from tests.pages.support import ENTERPRISE_HOME, HOME, bill, enterprise_of, resident, unique
from tests.support.client import Api


async def _bills_due(api: Api, token: str) -> list[dict[str, Any]]:
    page: list[dict[str, Any]] = (await api.data(HOME, token=token))["myHomePage"]["billsDue"]
    return page


class TestMyHomePageBillsDue:
    async def test_lists_only_my_unpaid_bills_soonest_due_first_and_undated_last(self, api: Api) -> None:
        # given
        session, me = await resident(api)
        _, other = await resident(api)
        later = await bill(api, person_id=me, due_in_days=20, amount_fen=2_147_483_648)
        undated = await bill(api, person_id=me, due_in_days=None, kind=BillKind.FINE, subject="测试罚款")
        soon = await bill(api, person_id=me, due_in_days=2, amount_fen=29)
        for status in (BillStatus.PAID, BillStatus.CANCELLED, BillStatus.REFUNDED, BillStatus.PARTIALLY_REFUNDED):
            await bill(api, person_id=me, due_in_days=1, status=status)
        await bill(api, person_id=other, due_in_days=1)

        # when
        bills = await _bills_due(api, session.access_token)

        # then
        assert [b["id"] for b in bills] == [str(soon.id), str(later.id), str(undated.id)]
        assert [(b["amountFen"], b["amountYuan"]) for b in bills] == [
            ("29", "0.29"),
            ("2147483648", "21474836.48"),
            ("5000", "50.00"),
        ]
        assert bills[2] == {
            "id": str(undated.id),
            "title": "测试罚款",
            "amountFen": "5000",
            "amountYuan": "50.00",
            "dueAt": None,
            "applicationId": None,
            "billNo": undated.bill_no,
            "kind": "FINE",
            "issuer": "测试演示水务公司",
        }

    async def test_an_application_fee_names_its_application(self, api: Api) -> None:
        # given
        session, me = await resident(api)
        application_id = uuid.uuid4()
        fee = await bill(api, person_id=me, due_in_days=7, kind=BillKind.APPLICATION_FEE, application_id=application_id)

        # when
        bills = await _bills_due(api, session.access_token)

        # then
        assert [(b["id"], b["kind"], b["applicationId"]) for b in bills] == [
            (str(fee.id), "APPLICATION_FEE", str(application_id))
        ]

    async def test_shows_at_most_10(self, api: Api) -> None:
        # given
        session, me = await resident(api)
        made = [await bill(api, person_id=me, due_in_days=day) for day in range(12, 0, -1)]

        # when
        bills = await _bills_due(api, session.access_token)

        # then
        assert [b["id"] for b in bills] == [str(b.id) for b in reversed(made)][:10]

    async def test_an_enterprises_bills_stay_off_its_representatives_personal_page(self, api: Api) -> None:
        # given
        rep_hash = unique("h", 64)
        session, _ = await resident(api, id_number_hash=rep_hash)
        enterprise = await enterprise_of(rep_hash)
        await bill(api, enterprise_id=enterprise.id, due_in_days=3)

        # when
        bills = await _bills_due(api, session.access_token)

        # then
        assert bills == []


class TestEnterprisePendingPayments:
    async def test_lists_the_enterprises_unpaid_bills_soonest_due_first(self, api: Api) -> None:
        # given
        rep_hash = unique("h", 64)
        session, me = await resident(api, id_number_hash=rep_hash)
        enterprise = await enterprise_of(rep_hash)
        other = await enterprise_of(unique("h", 64))
        undated = await bill(api, enterprise_id=enterprise.id, due_in_days=None, kind=BillKind.SOCIAL_INSURANCE)
        soon = await bill(api, enterprise_id=enterprise.id, due_in_days=1, amount_fen=120_00)
        await bill(api, enterprise_id=enterprise.id, due_in_days=1, status=BillStatus.PAID)
        await bill(api, enterprise_id=other.id, due_in_days=1)
        await bill(api, person_id=me, due_in_days=1)

        # when
        page = (await api.data(ENTERPRISE_HOME, {"id": str(enterprise.id)}, session.access_token))["enterpriseHomePage"]

        # then
        payments = page["pendingPayments"]
        assert [(p["id"], p["kind"], p["amountYuan"]) for p in payments] == [
            (str(soon.id), "UTILITY", "120.00"),
            (str(undated.id), "SOCIAL_INSURANCE", "50.00"),
        ]
        assert payments[0]["billNo"] == soon.bill_no
        assert payments[0]["dueAt"] is not None
        assert payments[1]["dueAt"] is None
