"""The sandbox's daily trade bill, shaped as Alipay's: a zip of two GBK CSV files (detail and summary)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from api.kit.clock import SHANGHAI
from payments.channels.base import BillLine
from payments.money import fen_to_yuan
from payments.sandbox.alipay_trades import BEIJING_FORMAT, SandboxTrade

HEADER = [
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
]
_KIND_NAMES = {"pay": "交易", "refund": "退款"}


def lines_for(trades: Iterable[SandboxTrade], bill_date: date) -> list[BillLine]:
    """What Alipay would bill on a Beijing-time date: the payments and refunds completed that day."""
    lines: list[BillLine] = []
    for trade in trades:
        if trade.paid_at is not None and trade.paid_at.astimezone(SHANGHAI).date() == bill_date:
            lines.append(BillLine("pay", trade.out_trade_no, trade.trade_no, trade.amount_fen, trade.paid_at))
        for refund in trade.refunds.values():
            if refund.at.astimezone(SHANGHAI).date() == bill_date:
                lines.append(
                    BillLine(
                        "refund",
                        trade.out_trade_no,
                        trade.trade_no,
                        refund.amount_fen,
                        refund.at,
                        out_refund_no=refund.out_request_no,
                    )
                )
    return sorted(lines, key=lambda line: line.at)


def bill_zip(seller_id: str, bill_date: date, lines: Sequence[BillLine], *, exported_at: datetime) -> bytes:
    stem = f"{seller_id}{bill_date:%Y%m%d}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stem}_业务明细.csv", _detail(seller_id, bill_date, lines, exported_at).encode("gbk"))
        archive.writestr(f"{stem}_业务明细(汇总).csv", _summary(seller_id, bill_date, lines).encode("gbk"))
    return buffer.getvalue()


def _detail(seller_id: str, bill_date: date, lines: Sequence[BillLine], exported_at: datetime) -> str:
    out = io.StringIO()
    out.write("#支付宝业务明细查询\r\n")
    out.write(f"#账号：[{seller_id}]\r\n")
    out.write(f"#起始日期：[{bill_date:%Y年%m月%d日} 00:00:00]   终止日期：[{bill_date:%Y年%m月%d日} 23:59:59]\r\n")
    out.write("#-----------------------------------------业务明细列表----------------------------------------\r\n")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for line in lines:
        sign = "-" if line.kind == "refund" else ""
        amount = sign + fen_to_yuan(line.amount_fen)
        finished = line.at.astimezone(SHANGHAI).strftime(BEIJING_FORMAT)
        # Identifiers padded with a tab, as Alipay does so that spreadsheets keep their digits.
        row = [f"{line.channel_trade_no}\t", f"{line.out_trade_no}\t", _KIND_NAMES[line.kind], "沙箱缴费"]
        row += [finished, finished, "", "", "", "", "sandbox***@alipay.test", amount, amount]
        row += ["0.00"] * 5 + ["", "0.00", "0.00"]
        row += [f"{line.out_refund_no}\t" if line.out_refund_no else "", "0.00", "0.00", ""]
        writer.writerow(row)
    pays = [line for line in lines if line.kind == "pay"]
    refunds = [line for line in lines if line.kind == "refund"]
    out.write("#-----------------------------------------业务明细列表结束------------------------------------\r\n")
    out.write(
        f"#交易合计：{len(pays)}笔，商家实收：{fen_to_yuan(sum(x.amount_fen for x in pays))}元，商家优惠：0.00元\r\n"
    )
    refunded = fen_to_yuan(sum(x.amount_fen for x in refunds))
    out.write(f"#退款合计：{len(refunds)}笔，商家实收退款：-{refunded}元，商家优惠退款：0.00元\r\n")
    out.write(f"#导出时间：[{exported_at.astimezone(SHANGHAI):%Y年%m月%d日 %H:%M:%S}]\r\n")
    return out.getvalue()


def _summary(seller_id: str, bill_date: date, lines: Sequence[BillLine]) -> str:
    paid = sum(x.amount_fen for x in lines if x.kind == "pay")
    refunded = sum(x.amount_fen for x in lines if x.kind == "refund")
    count = sum(1 for x in lines if x.kind == "pay")
    return (
        "#支付宝业务汇总查询\r\n"
        f"#账号：[{seller_id}]\r\n"
        "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）\r\n"
        f"合计,,{count},{len(lines) - count},{fen_to_yuan(paid)},{fen_to_yuan(max(paid - refunded, 0))}\r\n"
    )
