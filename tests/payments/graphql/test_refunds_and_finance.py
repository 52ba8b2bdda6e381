"""requestRefund and the finance role's lists over HTTP: only `finance` may refund or read reconciliation and
anomalies; amounts are Fen strings (a JSON number is an input error); every refusal is typed and creates no refund."""

from __future__ import annotations

from typing import Any

from api.models.payment import Bill, BillStatus, PaymentOrder, Refund
from tests.catalog.support import operator_token
from tests.payments.graphql.support import (
    ANOMALIES,
    DIFFS,
    MY_BILLS,
    REQUEST_REFUND,
    RUNS,
    create_payment,
    finance,
    harness,
    key,
    new_bill,
    payer,
)
from tests.support.client import Api


def _refund_input(order_id: str, amount: Any, expected: Any, idem: str | None = None, reason: str = "多缴退费") -> Any:
    return {
        "input": {
            "orderId": order_id,
            "amountFen": amount,
            "reason": reason,
            "expectedAvailableFen": expected,
            "idempotencyKey": idem or key(),
        }
    }


async def _refund(api: Api, token: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(REQUEST_REFUND, _refund_input(*args, **kwargs), token))["requestRefund"]
    return result


async def _paid_order(api: Api, amount_fen: int = 5000) -> tuple[str, dict[str, Any], Bill]:
    """A bill paid on Alipay through the sandbox cashier (signed notify, order PAID): the payer's token, the order."""
    session, me = await payer(api)
    bill = await new_bill(api, person_id=me, amount_fen=amount_fen)
    order = await create_payment(api, session.access_token, bill, "ALIPAY", "NATIVE")
    await harness(api).alipay.pay(order["outTradeNo"])
    assert (await PaymentOrder.get(id=order["id"])).paid_fen == amount_fen
    return session.access_token, order, bill


async def _refunds(order: dict[str, Any]) -> int:
    return await Refund.filter(order_id=order["id"]).count()


class TestRequestRefund:
    async def test_finance_refunds_part_of_a_paid_order_and_a_retry_returns_the_same_refund(self, api: Api) -> None:
        # given
        payer_token, order, bill = await _paid_order(api, 5000)
        token = await finance(api)
        idem = key()

        # when
        first = await _refund(api, token, order["id"], "2000", "5000", idem)
        again = await _refund(api, token, order["id"], "2000", "5000", idem)

        # then
        assert first["__typename"] == "Refund"
        assert (first["orderId"], first["billId"], first["amountFen"], first["amountYuan"], first["reason"]) == (
            order["id"],
            str(bill.id),
            "2000",
            "20.00",
            "多缴退费",
        )
        assert first["status"] == "SUCCEEDED"
        assert first["outRefundNo"]
        assert again == first
        assert await _refunds(order) == 1
        mine = (await api.data(MY_BILLS, {"first": 5}, payer_token))["myBills"]["edges"][0]["node"]
        assert (mine["status"], mine["refundedFen"], mine["refundedYuan"]) == ("PARTIALLY_REFUNDED", "2000", "20.00")
        assert mine["receipt"]["amountYuan"] == "50.00"

    async def test_a_stale_expected_amount_and_too_much_are_refused_with_what_is_available(self, api: Api) -> None:
        # given: 2000 of 5000 refunded already
        _, order, _ = await _paid_order(api, 5000)
        token = await finance(api)
        await _refund(api, token, order["id"], "2000", "5000")

        # when
        stale = await _refund(api, token, order["id"], "2000", "5000")
        too_much = await _refund(api, token, order["id"], "3001", "3000")

        # then
        assert (stale["__typename"], stale["code"], stale["availableFen"]) == (
            "AvailableMismatchError",
            "AVAILABLE_MISMATCH",
            "3000",
        )
        assert (too_much["__typename"], too_much["code"], too_much["availableFen"]) == (
            "ExceedsAvailableError",
            "EXCEEDS_AVAILABLE",
            "3000",
        )
        assert await _refunds(order) == 1

    async def test_the_same_key_for_another_amount_is_refused(self, api: Api) -> None:
        # given
        _, order, _ = await _paid_order(api)
        token = await finance(api)
        idem = key()
        await _refund(api, token, order["id"], "1000", "5000", idem)

        # when
        refused = await _refund(api, token, order["id"], "1500", "4000", idem)

        # then
        assert (refused["__typename"], refused["code"]) == ("IdempotencyKeyReusedError", "IDEMPOTENCY_KEY_REUSED")
        assert await _refunds(order) == 1

    async def test_an_unpaid_order_is_not_refundable_and_an_unknown_one_not_found(self, api: Api) -> None:
        # given
        session, me = await payer(api)
        bill = await new_bill(api, person_id=me)
        unpaid = await create_payment(api, session.access_token, bill, "WECHAT", "NATIVE")
        token = await finance(api)

        # when
        not_paid = await _refund(api, token, unpaid["id"], "1000", "0")
        unknown = await _refund(api, token, key(), "1000", "1000")
        malformed = await _refund(api, token, "not-an-order", "1000", "1000")

        # then
        assert (not_paid["__typename"], not_paid["code"]) == ("OrderNotRefundableError", "ORDER_NOT_REFUNDABLE")
        assert (unknown["__typename"], unknown["code"]) == ("NotFoundError", "ORDER_NOT_FOUND")
        assert (malformed["__typename"], malformed["path"]) == ("NotFoundError", ["orderId"])
        assert await _refunds(unpaid) == 0

    async def test_a_zero_amount_and_a_blank_or_long_reason_are_invalid_input(self, api: Api) -> None:
        # given
        _, order, _ = await _paid_order(api)
        token = await finance(api)

        # when
        zero = await _refund(api, token, order["id"], "0", "5000")
        blank = await _refund(api, token, order["id"], "100", "5000", reason="   ")
        long = await _refund(api, token, order["id"], "100", "5000", reason="因" * 201)

        # then
        assert [(r["__typename"], r["code"], r["path"]) for r in (zero, blank, long)] == [
            ("InvalidInputError", "INVALID_AMOUNT", ["amountFen"]),
            ("InvalidInputError", "INVALID_REASON", ["reason"]),
            ("InvalidInputError", "INVALID_REASON", ["reason"]),
        ]
        assert await _refunds(order) == 0

    async def test_a_json_number_for_an_amount_is_an_input_error_before_anything_runs(self, api: Api) -> None:
        # given
        _, order, _ = await _paid_order(api)
        token = await finance(api)

        # when
        body = await api.gql(REQUEST_REFUND, _refund_input(order["id"], 1000, "5000"), token)

        # then
        assert body.get("data") is None
        assert "Fen must be a string of decimal digits" in body["errors"][0]["message"]
        assert await _refunds(order) == 0

    async def test_a_citizen_or_another_operator_role_is_refused(self, api: Api) -> None:
        # given
        payer_token, order, bill = await _paid_order(api)
        admin = await operator_token(api, "catalog.admin")

        # when
        variables = _refund_input(order["id"], "100", "5000")
        refused = [await api.gql(REQUEST_REFUND, variables, t) for t in (payer_token, admin)]

        # then
        assert [[e["extensions"]["code"] for e in body["errors"]] for body in refused] == [["FORBIDDEN"], ["FORBIDDEN"]]
        assert await _refunds(order) == 0
        assert (await Bill.get(id=bill.id)).status is BillStatus.PAID


class TestFinanceLists:
    async def test_only_finance_reads_reconciliation_and_anomalies(self, api: Api) -> None:
        # given
        session, _ = await payer(api)
        admin = await operator_token(api, "catalog.admin")
        token = await finance(api)
        queries: list[tuple[str, dict[str, Any]]] = [(RUNS, {"first": 5}), (DIFFS, {"runId": key()})]
        queries.append((ANOMALIES, {"first": 5}))

        # when
        allowed = [await api.gql(q, v, token) for q, v in queries]
        refused = [await api.gql(q, v, t) for q, v in queries for t in (session.access_token, admin)]

        # then
        assert [("errors" in body) for body in allowed] == [False, False, False]
        assert allowed[1]["data"]["reconciliationDiffs"] == {"edges": [], "pageInfo": {"hasNextPage": False}}
        assert {e["extensions"]["code"] for body in refused for e in body["errors"]} == {"FORBIDDEN"}

    async def test_an_amount_mismatch_appears_among_the_anomalies(self, api: Api) -> None:
        # given: the channel reports 1 fen paid for a 5000 fen order
        session, me = await payer(api)
        bill = await new_bill(api, person_id=me)
        order = await create_payment(api, session.access_token, bill, "ALIPAY", "NATIVE")
        await harness(api).alipay.pay(order["outTradeNo"], amount_fen=1)
        token = await finance(api)

        # when
        edges = (await api.data(ANOMALIES, {"first": 20}, token))["paymentAnomalies"]["edges"]

        # then
        found = [e["node"] for e in edges if e["node"]["order"]["id"] == order["id"]]
        assert len(found) == 1
        assert (found[0]["kind"], found[0]["billId"], found[0]["refund"]) == ("AMOUNT_MISMATCH", str(bill.id), None)
        assert found[0]["order"] == {
            "id": order["id"],
            "status": "PAYING",
            "amountFen": "5000",
            "sandboxCashierUrl": None,
            "payload": None,
        }
