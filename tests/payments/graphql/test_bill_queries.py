"""myBills and lookupBill over HTTP: a resident's own bills (and an enterprise's while acting for it), with their
lines and receipt, money as Fen strings; someone else's bill does not exist for them."""

from __future__ import annotations

from typing import Any

from api.models import AssuranceLevel, BillKind
from tests.pages.support import enterprise_of, unique
from tests.payments.graphql.support import LOOKUP_BILL, MY_BILLS, acting_for, new_bill, payer
from tests.support.client import Api


async def _my_bills(api: Api, token: str, **variables: Any) -> dict[str, Any]:
    found: dict[str, Any] = (await api.data(MY_BILLS, variables, token))["myBills"]
    return found


async def _lookup(api: Api, token: str, bill_no: str) -> Any:
    return (await api.data(LOOKUP_BILL, {"input": {"billNo": bill_no}}, token))["lookupBill"]


class TestMyBills:
    async def test_lists_my_bills_newest_first_with_every_field(self, api: Api) -> None:
        # given
        session, me = await payer(api, AssuranceLevel.L1)
        _, other = await payer(api)
        older = await new_bill(api, person_id=me, amount_fen=29)
        newer = await new_bill(api, person_id=me, amount_fen=2_147_483_648, due_in_days=None)
        await new_bill(api, person_id=other)

        # when
        found = await _my_bills(api, session.access_token, first=10)

        # then
        nodes = [edge["node"] for edge in found["edges"]]
        assert [n["id"] for n in nodes] == [str(newer.id), str(older.id)]
        assert nodes[0] == {
            "id": str(newer.id),
            "billNo": newer.bill_no,
            "kind": "FINE",
            "subject": "交通违法罚款（测试）",
            "issuer": "测试交警支队",
            "issuerCode": "",
            "amountFen": "2147483648",
            "amountYuan": "21474836.48",
            "status": "UNPAID",
            "dueAt": None,
            "paidAt": None,
            "refundedFen": "0",
            "refundedYuan": "0.00",
            "minAssuranceLevel": 2,
            "applicationId": None,
            "applicationProjectNo": None,
            "enterpriseId": None,
            "lines": [{"name": "罚款", "amountFen": "2147483648", "amountYuan": "21474836.48"}],
            "receipt": None,
        }
        assert (nodes[1]["amountFen"], nodes[1]["amountYuan"]) == ("29", "0.29")
        assert nodes[1]["dueAt"] is not None
        assert found["pageInfo"]["hasNextPage"] is False

    async def test_pages_with_first_and_after(self, api: Api) -> None:
        # given
        session, me = await payer(api)
        made = [await new_bill(api, person_id=me) for _ in range(3)]

        # when
        first = await _my_bills(api, session.access_token, first=2)
        rest = await _my_bills(api, session.access_token, first=2, after=first["pageInfo"]["endCursor"])

        # then
        assert [e["node"]["id"] for e in first["edges"]] == [str(made[2].id), str(made[1].id)]
        assert first["pageInfo"]["hasNextPage"] is True
        assert [e["node"]["id"] for e in rest["edges"]] == [str(made[0].id)]
        assert rest["pageInfo"]["hasNextPage"] is False

    async def test_a_negative_first_or_a_foreign_cursor_is_a_typed_top_level_error(self, api: Api) -> None:
        # given
        session, _ = await payer(api)

        # when
        negative = await api.gql(MY_BILLS, {"first": -1}, session.access_token)
        foreign = await api.gql(MY_BILLS, {"first": 5, "after": "bm90LWEtY3Vyc29y"}, session.access_token)

        # then
        assert [e["extensions"]["code"] for e in negative["errors"]] == ["INVALID_PAGE"]
        assert [e["extensions"]["code"] for e in foreign["errors"]] == ["INVALID_CURSOR"]

    async def test_no_token_is_refused(self, api: Api) -> None:
        # when
        body = await api.gql(MY_BILLS, {"first": 5})

        # then
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]

    async def test_an_enterprises_bills_are_listed_while_acting_for_it(self, api: Api) -> None:
        # given: the legal representative of an enterprise with one bill, and a bill of their own
        rep_hash = unique("h", 64)
        session, me = await payer(api, id_number_hash=rep_hash)
        enterprise = await enterprise_of(rep_hash)
        mine = await new_bill(api, person_id=me)
        theirs = await new_bill(api, enterprise_id=enterprise.id, kind=BillKind.UTILITY)

        # when
        alone = await _my_bills(api, session.access_token, first=10)
        acting = await _my_bills(api, await acting_for(api, session.access_token, enterprise.id), first=10)

        # then
        assert [e["node"]["id"] for e in alone["edges"]] == [str(mine.id)]
        assert [(e["node"]["id"], e["node"]["enterpriseId"]) for e in acting["edges"]] == [
            (str(theirs.id), str(enterprise.id)),
            (str(mine.id), None),
        ]


class TestLookupBill:
    async def test_finds_my_bill_by_its_number(self, api: Api) -> None:
        # given
        session, me = await payer(api)
        bill = await new_bill(api, person_id=me, amount_fen=120_00)

        # when
        found = await _lookup(api, session.access_token, f"  {bill.bill_no} ")

        # then
        assert (found["id"], found["billNo"], found["amountYuan"]) == (str(bill.id), bill.bill_no, "120.00")

    async def test_someone_elses_bill_an_unknown_number_and_junk_are_null(self, api: Api) -> None:
        # given
        session, _ = await payer(api)
        _, other = await payer(api)
        theirs = await new_bill(api, person_id=other)

        # when
        found = [await _lookup(api, session.access_token, n) for n in (theirs.bill_no, "NO-SUCH-BILL", "", "9" * 40)]

        # then
        assert found == [None, None, None, None]
