"""AlipayChannel.download_bill against the sandbox, and the bill reader on Alipay's file format."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from api.kit.clock import SHANGHAI
from api.models.payment import Product
from payments.channels.alipay_bill import BillFormatError, read_bill_csv, read_bill_zip
from payments.channels.base import BillLine, Outcome, RefundSpec
from payments.sandbox.alipay_bill_file import HEADER, bill_zip
from tests.payments.alipay_support import SELLER_ID, AlipayWorld, alipay_world, out_trade_no


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[AlipayWorld]:
    async with alipay_world() as built:
        yield built


@pytest.fixture
def env(world: AlipayWorld) -> AlipayWorld:
    world.reset()
    return world


def _row(trade_no: str, order_no: str, kind: str, amount: str, finished: str, refund_no: str = "") -> str:
    cells = [f"{trade_no}\t", f"{order_no}\t", kind, "营业执照办理费", finished, finished, "", "", "", "", "b***@x"]
    cells += [amount, amount, "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00"]
    cells += [f"{refund_no}\t" if refund_no else "", "0.00", "0.00", ""]
    return ",".join(cells)


def _csv(*rows: str) -> str:
    return "\r\n".join(
        [
            "#支付宝业务明细查询",
            "#账号：[2088000000000001]",
            "#-----------------------------------------业务明细列表----------------------------------------",
            ",".join(HEADER),
            *rows,
            "#-----------------------------------------业务明细列表结束------------------------------------",
            "#交易合计：1笔，商家实收：50.00元，商家优惠：0.00元",
        ]
    )


class TestDownloadBill:
    async def test_a_staged_bill_is_read_into_lines_in_fen(self, env: AlipayWorld) -> None:
        # given
        at = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
        lines = [
            BillLine("pay", "T1", "2026030122001400000000000001", 5000, at),
            BillLine("refund", "T1", "2026030122001400000000000001", 2000, at + timedelta(hours=1), "R1"),
            BillLine("pay", "T2", "2026030122001400000000000002", 2_147_483_648, at),
        ]
        env.sandbox.set_bill(date(2026, 3, 1), lines)

        # when
        download = await env.channel().download_bill(date(2026, 3, 1))

        # then
        assert download.outcome is Outcome.OK
        assert list(download.lines) == lines
        [request] = env.sandbox.requests("alipay.data.dataservice.bill.downloadurl.query")
        assert request.body["biz_content"] == {"bill_type": "trade", "bill_date": "2026-03-01"}

    async def test_the_bill_of_a_day_holds_its_payments_and_refunds(self, env: AlipayWorld) -> None:
        # given
        channel = env.channel()
        spec = env.spec(Product.NATIVE, amount_fen=5000)
        await channel.create_order(spec)
        trade = await env.sandbox.pay(spec.out_trade_no)
        refund_no = out_trade_no("R")
        await channel.refund(RefundSpec(spec.out_trade_no, refund_no, 1500, 5000))
        today = env.sandbox_clock.now().astimezone(SHANGHAI).date()

        # when: the day is over at Alipay
        not_yet = await channel.download_bill(today)
        env.sandbox_clock.advance(timedelta(days=1))
        download = await channel.download_bill(today)

        # then
        assert (not_yet.outcome, not_yet.lines) == (Outcome.REJECTED, ())
        assert "isp.bill_not_exist" in not_yet.reason
        assert download.outcome is Outcome.OK
        pay, refund = download.lines
        assert (pay.kind, pay.out_trade_no, pay.channel_trade_no, pay.amount_fen) == (
            "pay",
            spec.out_trade_no,
            trade.trade_no,
            5000,
        )
        assert trade.paid_at is not None and pay.at == trade.paid_at.replace(microsecond=0)
        assert (refund.kind, refund.amount_fen, refund.out_refund_no) == ("refund", 1500, refund_no)

    async def test_a_lost_bill_file_is_unknown(self, env: AlipayWorld, monkeypatch: pytest.MonkeyPatch) -> None:
        env.sandbox.set_bill(date(2026, 3, 2), [])
        monkeypatch.setattr(env.sandbox, "bill_file", lambda token: None)

        download = await env.channel().download_bill(date(2026, 3, 2))

        assert (download.outcome, download.lines) == (Outcome.UNKNOWN, ())
        assert "HTTP 404" in download.reason

    async def test_an_empty_day_is_an_empty_bill(self, env: AlipayWorld) -> None:
        env.sandbox.set_bill(date(2026, 3, 3), [])

        download = await env.channel().download_bill(date(2026, 3, 3))

        assert (download.outcome, download.lines) == (Outcome.OK, ())

    async def test_a_timeout_is_unknown(self, env: AlipayWorld) -> None:
        env.sandbox.set_bill(date(2026, 3, 4), [])
        env.sandbox.script("alipay.data.dataservice.bill.downloadurl.query", delay_s=1.0)

        download = await env.channel(read_timeout=0.2).download_bill(date(2026, 3, 4))

        assert download.outcome is Outcome.UNKNOWN

    async def test_an_answer_without_a_url_is_unknown(self, env: AlipayWorld) -> None:
        node = {"code": "10000", "msg": "Success", "bill_download_url": "file:///etc/passwd"}
        env.hub.alipay.script({"method": "alipay.data.dataservice.bill.downloadurl.query"}, {"body": node})

        download = await env.channel().download_bill(date(2026, 3, 5))

        assert download.outcome is Outcome.UNKNOWN


class TestReadBill:
    def test_tabs_signs_and_comments_are_alipays_and_not_data(self) -> None:
        text = _csv(
            _row("2026030122001", "T1", "交易", "50.00", "2026-03-01 10:00:00"),
            _row("2026030122001", "T1", "退款", "-20.00", "2026-03-01 11:00:00.123", "R1"),
            _row("2026030122002", "T9", "结算", "1.00", "2026-03-01 12:00:00"),
        )

        lines = read_bill_csv(text)

        assert lines == [
            BillLine("pay", "T1", "2026030122001", 5000, datetime(2026, 3, 1, 2, 0, tzinfo=UTC)),
            BillLine("refund", "T1", "2026030122001", 2000, datetime(2026, 3, 1, 3, 0, 0, 123000, tzinfo=UTC), "R1"),
        ]

    def test_columns_are_found_by_name(self) -> None:
        header = ",".join(reversed(HEADER))
        row = ",".join(reversed(_row("2026", "T1", "交易", "0.29", "2026-03-01 10:00:00").split(",")))

        [line] = read_bill_csv(f"{header}\n{row}")

        assert (line.out_trade_no, line.amount_fen) == ("T1", 29)

    def test_the_zip_is_gbk_and_the_summary_is_not_read(self) -> None:
        at = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
        lines = [BillLine("pay", "T1", "2026", 115, at)]

        data = bill_zip(SELLER_ID, date(2026, 3, 1), lines, exported_at=at)

        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        assert sorted(names) == [f"{SELLER_ID}20260301_业务明细(汇总).csv", f"{SELLER_ID}20260301_业务明细.csv"]
        assert read_bill_zip(data) == lines

    def test_a_utf8_file_is_read_too(self) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            text = _csv(_row("2026", "T1", "交易", "50", "2026-03-01 10:00:00"))
            archive.writestr("x_业务明细.csv", ("\ufeff" + text).encode("utf-8"))

        [line] = read_bill_zip(buffer.getvalue())

        assert line.amount_fen == 5000

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "a,b,c\n1,2,3",
            _csv(_row("2026", "T1", "交易", "0.001", "2026-03-01 10:00:00")),
            _csv(_row("2026", "T1", "交易", "NaN", "2026-03-01 10:00:00")),
            _csv(_row("2026", "T1", "交易", "50.00", "yesterday")),
            _csv("2026,T1,交易"),
        ],
        ids=["empty", "other header", "a tenth of a fen", "NaN", "bad time", "short row"],
    )
    def test_an_unreadable_bill_is_refused_whole(self, text: str) -> None:
        with pytest.raises(BillFormatError):
            read_bill_csv(text)

    @pytest.mark.parametrize("data", [b"not a zip", b""], ids=["junk", "empty"])
    def test_a_broken_zip_is_refused(self, data: bytes) -> None:
        with pytest.raises(BillFormatError):
            read_bill_zip(data)

    def test_a_zip_without_the_detail_file_is_refused(self) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("x_业务明细(汇总).csv", "合计".encode("gbk"))

        with pytest.raises(BillFormatError, match="业务明细"):
            read_bill_zip(buffer.getvalue())
