"""The pure decisions of payments.service: what a trade fact does to an order, what a refund answer means,
which refunds a refunded total confirms, which anomaly an order keeps."""

from __future__ import annotations

import dataclasses

from api.models.payment import Anomaly, BillStatus, Channel, OrderStatus, RefundStatus
from payments.channels.base import Outcome, RefundState, TradeFact, TradeState
from payments.deps import MerchantIdentity
from payments.service import rules
from payments.service.rules import BillEffect, Kind

MERCHANT = MerchantIdentity(
    alipay_app_id="2021000000000001", alipay_seller_id="2088000000000001", wechat_mchid="1900000001", wechat_appid="wxa"
)
S = OrderStatus


def _paid(**changes: object) -> TradeFact:
    fact = TradeFact(
        Outcome.OK,
        "T1",
        state=TradeState.PAID,
        channel_trade_no="2024X",
        amount_fen=5000,
        merchant_id="2088000000000001",
        app_id="2021000000000001",
    )
    return dataclasses.replace(fact, **changes)  # type: ignore[arg-type]


def _decide(status: OrderStatus, fact: TradeFact, channel: Channel = Channel.ALIPAY) -> rules.TradeDecision:
    return rules.decide_trade(status, fact, channel=channel, amount_fen=5000, currency="CNY", merchant=MERCHANT)


class TestDecideTrade:
    def test_a_verified_payment_of_a_live_order_makes_it_paid(self) -> None:
        for status in (S.CREATED, S.PAYING):
            decision = _decide(status, _paid())
            assert (decision.kind, decision.target, decision.anomaly) == (Kind.TRANSITION, S.PAID, None)

    def test_a_payment_of_a_closed_or_failed_order_is_a_correction_with_an_anomaly(self) -> None:
        for status in (S.CLOSED, S.FAILED):
            decision = _decide(status, _paid())
            assert (decision.kind, decision.target, decision.anomaly) == (
                Kind.TRANSITION,
                S.PAID,
                Anomaly.PAID_AFTER_CLOSE,
            )

    def test_a_repeated_payment_changes_nothing(self) -> None:
        assert _decide(S.PAID, _paid()).kind is Kind.NOTHING

    def test_another_amount_currency_or_a_missing_amount_is_an_amount_mismatch(self) -> None:
        for fact in (_paid(amount_fen=1), _paid(currency="USD"), _paid(amount_fen=None)):
            decision = _decide(S.PAYING, fact)
            assert (decision.kind, decision.target, decision.anomaly) == (Kind.MISMATCH, None, Anomaly.AMOUNT_MISMATCH)

    def test_another_seller_or_app_is_a_merchant_mismatch_whatever_the_state(self) -> None:
        for fact in (
            _paid(merchant_id="2088999"),
            _paid(app_id="2021999"),
            _paid(state=TradeState.CLOSED, merchant_id="x"),
        ):
            assert _decide(S.PAYING, fact).anomaly is Anomaly.MERCHANT_MISMATCH

    def test_identity_fields_left_out_are_not_held_against_the_fact(self) -> None:
        assert _decide(S.PAYING, _paid(merchant_id=None, app_id=None)).target is S.PAID

    def test_wechat_facts_are_checked_against_the_wechat_merchant(self) -> None:
        wechat = _paid(merchant_id="1900000001", app_id="wxa")
        assert _decide(S.PAYING, wechat, Channel.WECHAT).target is S.PAID
        assert _decide(S.PAYING, _paid(), Channel.WECHAT).anomaly is Anomaly.MERCHANT_MISMATCH

    def test_closed_on_a_paid_order_is_a_refund_fact_never_a_failure(self) -> None:
        for state in (TradeState.CLOSED, TradeState.REFUNDED):
            decision = _decide(S.PAID, _paid(state=state, refunded_fen=5000))
            assert (decision.kind, decision.target) == (Kind.REFUND_CONFIRMATION, None)

    def test_a_paid_trade_stating_a_refunded_total_confirms_refunds(self) -> None:
        assert _decide(S.PAID, _paid(refunded_fen=2000)).kind is Kind.REFUND_CONFIRMATION

    def test_paid_never_moves_to_anything_else(self) -> None:
        for state in (TradeState.FAILED, TradeState.PENDING, TradeState.NOT_FOUND):
            decision = _decide(S.PAID, _paid(state=state))
            assert (decision.kind, decision.target) == (Kind.REFUSED, None)

    def test_closed_and_failed_at_the_channel_close_or_fail_a_live_order(self) -> None:
        assert _decide(S.PAYING, _paid(state=TradeState.CLOSED)).target is S.CLOSED
        assert _decide(S.CREATED, _paid(state=TradeState.CLOSED)).target is S.CLOSED
        assert _decide(S.PAYING, _paid(state=TradeState.FAILED)).target is S.FAILED
        assert _decide(S.CLOSED, _paid(state=TradeState.CLOSED)).kind is Kind.NOTHING

    def test_pending_and_not_found_leave_the_order_as_it_is(self) -> None:
        for state in (TradeState.PENDING, TradeState.NOT_FOUND):
            assert _decide(S.PAYING, _paid(state=state, amount_fen=None)).kind is Kind.NOTHING

    def test_an_unknown_answer_decides_nothing(self) -> None:
        assert _decide(S.PAYING, TradeFact(Outcome.UNKNOWN, "T1")).kind is Kind.NOTHING
        assert _decide(S.PAYING, TradeFact(Outcome.REJECTED, "T1", state=TradeState.PAID)).kind is Kind.NOTHING

    def test_a_refund_of_an_unpaid_order_is_refused(self) -> None:
        assert _decide(S.PAYING, _paid(state=TradeState.REFUNDED)).kind is Kind.REFUSED


class TestBillEffect:
    def test_cases(self) -> None:
        assert rules.bill_effect(BillStatus.UNPAID, None, "o1") is BillEffect.PAY
        assert rules.bill_effect(BillStatus.PAID, "o1", "o1") is BillEffect.ALREADY
        assert rules.bill_effect(BillStatus.PAID, "o2", "o1") is BillEffect.DUPLICATE
        assert rules.bill_effect(BillStatus.REFUNDED, "o2", "o1") is BillEffect.DUPLICATE
        assert rules.bill_effect(BillStatus.CANCELLED, None, "o1") is BillEffect.NOT_PAYABLE


class TestRefundTarget:
    def test_answers_of_a_query_or_notify(self) -> None:
        assert rules.refund_target(RefundState.SUCCEEDED, fresh_request=False) is RefundStatus.SUCCEEDED
        assert rules.refund_target(RefundState.PROCESSING, fresh_request=False) is RefundStatus.SUBMITTED
        assert rules.refund_target(RefundState.FAILED, fresh_request=False) is RefundStatus.FAILED
        assert rules.refund_target(RefundState.ABNORMAL, fresh_request=False) is RefundStatus.ABNORMAL
        assert rules.refund_target(RefundState.NOT_FOUND, fresh_request=False) is None

    def test_a_fresh_request_answered_abnormal_or_not_found_waits_for_a_query(self) -> None:
        assert rules.refund_target(RefundState.ABNORMAL, fresh_request=True) is RefundStatus.SUBMITTED
        assert rules.refund_target(RefundState.NOT_FOUND, fresh_request=True) is RefundStatus.UNKNOWN


class TestRefundsMakingUp:
    def test_the_one_set_that_adds_up(self) -> None:
        assert rules.refunds_making_up(5000, [("a", 5000)]) == ["a"]
        assert rules.refunds_making_up(3000, [("a", 1000), ("b", 2000), ("c", 2500)]) == ["a", "b"]

    def test_none_when_nothing_or_several_sets_add_up(self) -> None:
        assert rules.refunds_making_up(4000, [("a", 1000), ("b", 2000)]) is None
        assert rules.refunds_making_up(2000, [("a", 2000), ("b", 2000)]) is None
        assert rules.refunds_making_up(0, [("a", 2000)]) is None
        assert rules.refunds_making_up(1000, []) is None


class TestAnomalyAfter:
    def test_the_weightiest_is_kept(self) -> None:
        assert rules.anomaly_after(None, Anomaly.AMOUNT_MISMATCH) is Anomaly.AMOUNT_MISMATCH
        assert rules.anomaly_after(Anomaly.AMOUNT_MISMATCH, Anomaly.PAID_AFTER_CLOSE) is Anomaly.PAID_AFTER_CLOSE
        assert rules.anomaly_after(Anomaly.PAID_AFTER_CLOSE, Anomaly.DUPLICATE_PAYMENT) is Anomaly.DUPLICATE_PAYMENT
        assert rules.anomaly_after(Anomaly.DUPLICATE_PAYMENT, Anomaly.MERCHANT_MISMATCH) is Anomaly.DUPLICATE_PAYMENT
        assert rules.anomaly_after(Anomaly.MERCHANT_MISMATCH, None) is Anomaly.MERCHANT_MISMATCH
