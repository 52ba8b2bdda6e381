"""The query schedule (payments.md §12) and the numbers, hashes and redaction of payments.service.records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.kit.errors import InvalidInput
from payments.service import records, schedule

T0 = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


class TestNextQueryAfter:
    def test_offsets_from_creation(self) -> None:
        expires = T0 + timedelta(hours=3)
        got = [schedule.next_query_after(T0, n, expires) for n in range(10)]
        offsets = [10, 30, 60, 120, 300, 600, 1800, 3600, 5400, 7200]
        assert got == [T0 + timedelta(seconds=s) for s in offsets]

    def test_nothing_at_or_after_expiry(self) -> None:
        expires = T0 + timedelta(minutes=30)  # the default order TTL
        got = [schedule.next_query_after(T0, n, expires) for n in range(8)]
        assert got[:6] == [T0 + timedelta(seconds=s) for s in (10, 30, 60, 120, 300, 600)]
        assert got[6:] == [None, None]

    def test_a_paid_order_whose_notify_is_lost_is_asked_about_by_one_minute(self) -> None:
        expires = T0 + timedelta(minutes=30)
        assert schedule.next_query_after(T0, 2, expires) == T0 + timedelta(minutes=1)

    def test_negative_attempts_are_a_bug(self) -> None:
        with pytest.raises(ValueError, match="attempts"):
            schedule.next_query_after(T0, -1, T0)


class TestNextRefundQueryAfter:
    def test_first_no_sooner_than_ten_seconds_then_without_end(self) -> None:
        assert schedule.next_refund_query_after(T0, 0) == T0 + timedelta(seconds=10)
        assert schedule.next_refund_query_after(T0, 9) == T0 + timedelta(minutes=120)


class TestNumbers:
    def test_out_trade_no_fits_both_channels_and_is_fresh_each_time(self) -> None:
        numbers = {records.new_out_trade_no(T0) for _ in range(200)}
        assert len(numbers) == 200
        for number in numbers:
            assert records.OUT_TRADE_NO.fullmatch(number)
            assert len(number) == 27 and number.startswith("P20250301100000")  # Beijing time

    def test_refund_receipt_and_bill_numbers(self) -> None:
        assert records.OUT_TRADE_NO.fullmatch(records.new_out_refund_no(T0))
        receipt = records.new_receipt_no(T0)
        assert len(receipt) <= 40 and records.receipt_file_ref(receipt) == f"receipts/{receipt}.pdf"
        bill_no = records.new_bill_no(T0)
        assert len(bill_no) == 20 and bill_no.isdigit() and bill_no.startswith("20250301")


class TestRequestHash:
    def test_canonical_whatever_the_order_of_fields(self) -> None:
        a = records.request_hash(billId="b", channel="ALIPAY", product="APP", amountFen=5000)
        b = records.request_hash(amountFen=5000, product="APP", channel="ALIPAY", billId="b")
        assert a == b and len(a) == 64

    def test_any_field_changes_it(self) -> None:
        base = {"billId": "b", "channel": "ALIPAY", "product": "APP", "amountFen": 5000}
        digest = records.request_hash(**base)
        for key, value in (("billId", "c"), ("channel", "WECHAT"), ("product", "WAP"), ("amountFen", 5001)):
            assert records.request_hash(**(base | {key: value})) != digest


class TestIdempotencyKey:
    def test_accepted(self) -> None:
        assert records.check_idempotency_key("6f1c0c1e-3f7a-4a53-9a0e-2b1f0f9d2c11")

    def test_refused(self) -> None:
        for key in ("", " ", "a b", "x" * 65, "键"):
            with pytest.raises(InvalidInput) as refused:
                records.check_idempotency_key(key)
            assert refused.value.code == "INVALID_IDEMPOTENCY_KEY"


class TestRedact:
    def test_personal_fields_go_at_any_depth(self) -> None:
        payload = {
            "trade_no": "1",
            "buyer_logon_id": "a***@x",
            "buyer_id": "2088",
            "resource": {"payer": {"openid": "o"}, "amount": {"total": 1}},
            "list": [{"openid": "o", "k": 1}],
        }
        assert records.redact(payload) == {"trade_no": "1", "resource": {"amount": {"total": 1}}, "list": [{"k": 1}]}
