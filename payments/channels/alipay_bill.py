"""Alipay's daily trade bill (业务明细): a zip of GBK CSV files, read into `BillLine`s in fen (payments.md §13).

The detail file has `#` comment lines around one header row and the data rows; Alipay pads identifiers with a
tab so that spreadsheets keep their digits, and writes refunds with negative amounts. Columns are found by
their header names, never by position.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC

from payments.channels.alipay_wire import parse_beijing
from payments.channels.base import BillLine
from payments.money import yuan_to_fen

DETAIL_SUFFIX = "业务明细.csv"
COL_TRADE_NO = "支付宝交易号"
COL_OUT_TRADE_NO = "商户订单号"
COL_KIND = "业务类型"
COL_FINISHED = "完成时间"
COL_AMOUNT = "订单金额（元）"
COL_REFUND_NO = "退款批次号/请求号"
KINDS = {"交易": "pay", "退款": "refund"}
MAX_UNZIPPED = 64 * 1024 * 1024  # a day's bill of this merchant is far smaller; a bigger member is refused


class BillFormatError(ValueError):
    pass


def read_bill_zip(data: bytes) -> list[BillLine]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in archive.infolist() if info.filename.endswith(".csv")]
        # The summary file (业务明细(汇总).csv) does not end with the detail suffix.
        details = [info for info in members if info.filename.endswith(DETAIL_SUFFIX)]
        if len(details) != 1:
            raise BillFormatError(f"expected one {DETAIL_SUFFIX} in the bill, found {len(details)}")
        if details[0].file_size > MAX_UNZIPPED:
            raise BillFormatError("the bill's detail file is implausibly large")
        raw = archive.read(details[0])
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise BillFormatError("the bill is not a readable zip") from exc
    return read_bill_csv(_decode(raw))


def _decode(raw: bytes) -> str:
    # Alipay writes GBK; a UTF-8 file (with or without BOM) is accepted as well.
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise BillFormatError("the bill is neither UTF-8 nor GBK") from exc


def read_bill_csv(text: str) -> list[BillLine]:
    rows = [row for row in csv.reader(io.StringIO(text)) if row and not row[0].lstrip().startswith("#")]
    if not rows:
        raise BillFormatError("the bill has no header row")
    header = [cell.strip() for cell in rows[0]]
    try:
        at = {name: header.index(name) for name in (COL_TRADE_NO, COL_OUT_TRADE_NO, COL_KIND, COL_FINISHED, COL_AMOUNT)}
    except ValueError as exc:
        raise BillFormatError(f"the bill's header lacks a column: {exc}") from exc
    refund_col = header.index(COL_REFUND_NO) if COL_REFUND_NO in header else None
    lines: list[BillLine] = []
    for number, row in enumerate(rows[1:], start=2):
        cells = [cell.strip() for cell in row]
        if len(cells) < len(header):
            raise BillFormatError(f"bill row {number} has {len(cells)} columns, the header {len(header)}")
        kind = KINDS.get(cells[at[COL_KIND]])
        if kind is None:
            continue  # other business types (e.g. 结算) carry no trade of ours
        amount = cells[at[COL_AMOUNT]].removeprefix("-")
        finished = parse_beijing(cells[at[COL_FINISHED]])
        if finished is None:
            raise BillFormatError(f"bill row {number}: unreadable 完成时间")
        try:
            amount_fen = yuan_to_fen(amount)
        except ValueError as exc:
            raise BillFormatError(f"bill row {number}: unreadable amount") from exc
        refund_no = cells[refund_col] if refund_col is not None and kind == "refund" else ""
        lines.append(
            BillLine(
                kind=kind,
                out_trade_no=cells[at[COL_OUT_TRADE_NO]],
                channel_trade_no=cells[at[COL_TRADE_NO]],
                amount_fen=amount_fen,
                at=finished.astimezone(UTC),
                out_refund_no=refund_no or None,
            )
        )
    return lines
