"""WeChat Pay's daily trade bill (交易账单, bill_type ALL): a CSV whose every value starts with a backtick.

Layout: one header row, one row per payment (交易状态 SUCCESS) or refund (REFUND), then a summary header
starting 总交易单数 and its totals row. Amounts are yuan strings; times are Beijing time.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import zlib
from datetime import datetime

from api.kit.clock import SHANGHAI
from payments.channels.base import BillLine
from payments.money import yuan_to_fen

COLUMNS = (
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
)
SUMMARY_COLUMNS = (
    "总交易单数",
    "应结订单总金额",
    "退款总金额",
    "充值券退款总金额",
    "手续费总金额",
    "订单总金额",
    "申请退款总金额",
)
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_SKIPPED_STATES = frozenset({"REVOKED"})  # 付款码 cancellations: no money moved


class BillFileError(ValueError):
    """The downloaded file is not the bill it claims to be (corrupt, wrong digest, unreadable rows)."""


def open_bill_file(data: bytes, hash_type: str, hash_value: str, *, gzipped: bool = True) -> str:
    """The bill's text, checked against the digest of the signed tradebill answer (over the uncompressed file)."""
    try:
        raw = gzip.decompress(data) if gzipped else data
    except (OSError, EOFError, zlib.error) as exc:
        raise BillFileError("the bill file is not gzip") from exc
    if hash_type.upper() != "SHA1":
        raise BillFileError(f"unsupported bill digest {hash_type!r}")
    if hashlib.sha1(raw, usedforsecurity=False).hexdigest().lower() != hash_value.lower():
        raise BillFileError("the bill file does not match its digest")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BillFileError("the bill file is not UTF-8") from exc


def parse_trade_bill(content: str) -> list[BillLine]:
    rows = [[cell.strip().removeprefix("`") for cell in row] for row in csv.reader(io.StringIO(content)) if row]
    if not rows:
        raise BillFileError("the bill is empty")
    header = {name: index for index, name in enumerate(rows[0])}
    missing = [name for name in ("交易时间", "微信订单号", "商户订单号", "交易状态") if name not in header]
    if missing:
        raise BillFileError(f"the bill has no column {', '.join(missing)}")

    def cell(row: list[str], *names: str) -> str:
        for name in names:
            index = header.get(name)
            if index is not None and index < len(row) and row[index] not in ("", "0", "0.00", "0.0"):
                return row[index]
        return ""

    lines: list[BillLine] = []
    for number, row in enumerate(rows[1:], start=2):
        if row[0] == SUMMARY_COLUMNS[0]:
            break
        state = cell(row, "交易状态")
        if state in _SKIPPED_STATES:
            continue
        try:
            at = datetime.strptime(cell(row, "交易时间"), _TIME_FORMAT).replace(tzinfo=SHANGHAI)
            if state == "SUCCESS":
                amount, out_refund_no, kind = yuan_to_fen(cell(row, "订单金额", "应结订单金额")), None, "pay"
            elif state == "REFUND":
                amount = yuan_to_fen(cell(row, "退款金额", "申请退款金额"))
                out_refund_no, kind = cell(row, "商户退款单号") or None, "refund"
            else:
                raise ValueError(f"unknown 交易状态 {state!r}")
        except ValueError as exc:
            raise BillFileError(f"bill row {number}: {exc}") from exc
        out_trade_no, transaction_id = cell(row, "商户订单号"), cell(row, "微信订单号")
        if not out_trade_no or not transaction_id:
            raise BillFileError(f"bill row {number}: no 商户订单号 or 微信订单号")
        lines.append(BillLine(kind, out_trade_no, transaction_id, amount, at, out_refund_no))
    return lines
