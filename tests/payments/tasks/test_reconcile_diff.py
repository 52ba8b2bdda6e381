"""The reconciliation diff of payments.md §13 as a pure function: their bill lines against our orders and refunds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from api.models.payment import DiffKind, OrderStatus, RefundStatus
from payments.channels.base import BillLine
from payments.reconcile.diff import OurOrder, OurRefund, compare

AT = datetime(2030, 5, 1, 4, 0, tzinfo=UTC)


def order(no: str, status: OrderStatus = OrderStatus.PAID, amount: int = 5000) -> OurOrder:
    paid = status is OrderStatus.PAID
    paid_fen, paid_at = (amount, AT) if paid else (0, None)
    return OurOrder(uuid.uuid4(), uuid.uuid4(), no, status, amount, paid_fen, "T" + no, paid_at)


def refund(no: str, trade: str, status: RefundStatus = RefundStatus.SUCCEEDED, amount: int = 2000) -> OurRefund:
    succeeded_at = AT if status is RefundStatus.SUCCEEDED else None
    return OurRefund(uuid.uuid4(), uuid.uuid4(), trade, no, status, amount, succeeded_at)


def pay(no: str, amount: int = 5000) -> BillLine:
    return BillLine("pay", no, "T" + no, amount, AT)


def back(no: str, trade: str, amount: int = 2000) -> BillLine:
    return BillLine("refund", trade, "T" + trade, amount, AT, out_refund_no=no)


class TestCompare:
    def test_lines_that_match_our_facts_make_no_diff(self) -> None:
        # given
        paid = order("A")
        refunded = refund("RA", "A")

        # when
        result = compare([pay("A"), back("RA", "A")], {"A": paid}, {"RA": refunded}, [paid], [refunded])

        # then
        assert (result.diffs, result.unmatched) == ([], [])
        assert dict(result.counts) == {"pay_lines": 1, "refund_lines": 1, "matched": 2}

    def test_each_kind_of_difference_once_per_key(self) -> None:
        # given: they were paid for a PAYING order (listed twice), for an unknown trade, another amount for a
        # paid one, and a refund we hold as UNKNOWN and one we never made
        paying, paid = order("B", OrderStatus.PAYING), order("C")
        unknown_refund = refund("RC", "C", RefundStatus.UNKNOWN)
        lines = [pay("B"), pay("B"), pay("X"), pay("C", 4000), back("RC", "C"), back("RZ", "C")]

        # when
        result = compare(lines, {"B": paying, "C": paid}, {"RC": unknown_refund}, [paid], [])

        # then
        assert [(d.kind, d.key, d.critical) for d in result.diffs] == [
            (DiffKind.STATUS_MISMATCH_THEY_PAID, "trade:B", False),
            (DiffKind.LOCAL_MISSING, "trade:X", True),
            (DiffKind.AMOUNT_MISMATCH, "trade:C", False),
            (DiffKind.REFUND_MISMATCH, "refund:RC", False),
            (DiffKind.REFUND_MISMATCH, "refund:RZ", True),  # money out that we have no record of
        ]
        they_paid = result.diffs[0]
        assert (they_paid.order, they_paid.line, dict(they_paid.ours)["status"]) == (paying, pay("B"), "PAYING")
        assert result.unmatched == []

    def test_a_closed_order_they_hold_paid_for_another_amount_is_an_amount_mismatch(self) -> None:
        # when
        result = compare([pay("D", 1)], {"D": order("D", OrderStatus.CLOSED)}, {}, [], [])

        # then: never applied automatically
        assert [d.kind for d in result.diffs] == [DiffKind.AMOUNT_MISMATCH]

    def test_ours_missing_from_their_bill_are_candidates_to_confirm(self) -> None:
        # given: a payment and a refund of the day that the bill does not list
        paid, refunded = order("E"), refund("RE", "E")

        # when
        result = compare([], {}, {}, [paid], [refunded])

        # then
        assert result.diffs == []
        assert [(u.order, u.refund) for u in result.unmatched] == [(paid, None), (None, refunded)]
