"""What the WeChat Pay sandbox remembers (trades, refunds) and how WeChat spells it in answers, notifies and bills."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from api.kit.clock import SHANGHAI
from payments.channels.base import BillLine
from payments.channels.wechat_bill import COLUMNS, SUMMARY_COLUMNS
from payments.money import fen_to_yuan

TRADE_TYPES = {"app": "APP", "jsapi": "JSAPI", "native": "NATIVE", "h5": "MWEB"}
TRADE_STATE_DESC = {
    "NOTPAY": "未支付",
    "SUCCESS": "支付成功",
    "REFUND": "转入退款",
    "CLOSED": "已关闭",
    "PAYERROR": "支付失败",
    "USERPAYING": "用户支付中",
}
REFUND_SUMMARY = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}


class TradeStateError(Exception):
    """A harness action the trade's state forbids; `code` is WeChat's error code for it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds")


@dataclass
class Trade:
    mchid: str
    appid: str
    kind: str  # app | jsapi | native | h5
    out_trade_no: str
    description: str
    amount_fen: int
    notify_url: str
    request: dict[str, Any]  # the order request as received: a repeat must be identical
    created_at: datetime
    time_expire: datetime | None
    prepay_id: str
    openid: str | None = None
    state: str = "NOTPAY"
    transaction_id: str | None = None
    paid_fen: int | None = None
    success_time: datetime | None = None

    @property
    def paid(self) -> bool:
        return self.state in ("SUCCESS", "REFUND")

    def expired(self, now: datetime) -> bool:
        return self.time_expire is not None and now >= self.time_expire

    def to_json(self) -> dict[str, Any]:
        """The transaction object of a query answer and of a TRANSACTION.* notify resource."""
        doc: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": self.out_trade_no,
            "trade_type": TRADE_TYPES[self.kind],
            "trade_state": self.state,
            "trade_state_desc": TRADE_STATE_DESC.get(self.state, self.state),
            "attach": "",
        }
        if self.paid:
            total = self.paid_fen if self.paid_fen is not None else self.amount_fen
            assert self.success_time is not None
            doc |= {
                "transaction_id": self.transaction_id,
                "bank_type": "OTHERS",
                "success_time": rfc3339(self.success_time),
                "payer": {"openid": self.openid},
                "amount": {"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"},
            }
        else:
            doc["amount"] = {"total": self.amount_fen, "currency": "CNY"}
        return doc


@dataclass
class Refund:
    mchid: str
    out_refund_no: str
    refund_id: str
    trade: Trade
    amount_fen: int
    reason: str
    notify_url: str
    request: dict[str, Any]
    created_at: datetime
    status: str = "PROCESSING"
    success_time: datetime | None = None

    def to_json(self, *, notify: bool = False) -> dict[str, Any]:
        """The refund answer / refund query object, or (`notify`) the REFUND.* notify resource."""
        total = self.trade.paid_fen if self.trade.paid_fen is not None else self.trade.amount_fen
        amount = {"total": total, "refund": self.amount_fen, "payer_total": total, "payer_refund": self.amount_fen}
        doc: dict[str, Any] = {
            "mchid": self.mchid,
            "out_trade_no": self.trade.out_trade_no,
            "transaction_id": self.trade.transaction_id,
            "out_refund_no": self.out_refund_no,
            "refund_id": self.refund_id,
            "user_received_account": "支付用户零钱",
        }
        if notify:
            doc |= {"refund_status": self.status, "amount": amount}
        else:
            doc |= {
                "channel": "ORIGINAL",
                "create_time": rfc3339(self.created_at),
                "status": self.status,
                "funds_account": "AVAILABLE",
                "amount": amount | {"currency": "CNY", "payer_currency": "CNY", "settlement_refund": self.amount_fen},
            }
        if self.success_time is not None:
            doc["success_time"] = rfc3339(self.success_time)
        return doc


def new_prepay_id(now: datetime) -> str:
    return "wx" + now.astimezone(SHANGHAI).strftime("%d%H%M%S") + secrets.token_hex(12)


def new_transaction_id(now: datetime) -> str:
    return (
        "4200" + now.astimezone(SHANGHAI).strftime("%Y%m%d") + "".join(secrets.choice("0123456789") for _ in range(16))
    )


def new_refund_id(now: datetime) -> str:
    return (
        "5030" + now.astimezone(SHANGHAI).strftime("%Y%m%d") + "".join(secrets.choice("0123456789") for _ in range(21))
    )


def bill_lines_of(trades: Iterable[Trade], refunds: Iterable[Refund], bill_date: date) -> list[BillLine]:
    """What WeChat's bill for a Beijing date would list: payments and successful refunds of that day."""
    lines: list[BillLine] = []
    for trade in trades:
        when = trade.success_time
        if trade.paid and when is not None and when.astimezone(SHANGHAI).date() == bill_date:
            amount = trade.paid_fen if trade.paid_fen is not None else trade.amount_fen
            lines.append(BillLine("pay", trade.out_trade_no, trade.transaction_id or "", amount, when))
    for refund in refunds:
        when = refund.success_time
        if refund.status == "SUCCESS" and when is not None and when.astimezone(SHANGHAI).date() == bill_date:
            lines.append(
                BillLine(
                    "refund",
                    refund.trade.out_trade_no,
                    refund.trade.transaction_id or "",
                    refund.amount_fen,
                    when,
                    refund.out_refund_no,
                )
            )
    return sorted(lines, key=lambda line: line.at)


def render_trade_bill(lines: Iterable[BillLine], *, mchid: str, appid: str) -> bytes:
    """The bill file (before gzip) as WeChat writes it: backtick-prefixed values, a summary at the end."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    pay_total = refund_total = count = 0
    for line in lines:
        count += 1
        is_refund = line.kind == "refund"
        pay_total += 0 if is_refund else line.amount_fen
        refund_total += line.amount_fen if is_refund else 0
        row = dict.fromkeys(COLUMNS, "")
        row |= {
            "交易时间": line.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
            "公众账号ID": appid,
            "商户号": mchid,
            "特约商户号": "0",
            "微信订单号": line.channel_trade_no,
            "商户订单号": line.out_trade_no,
            "交易类型": "NATIVE",
            "交易状态": "REFUND" if is_refund else "SUCCESS",
            "付款银行": "OTHERS",
            "货币种类": "CNY",
            "应结订单金额": "0.00" if is_refund else fen_to_yuan(line.amount_fen),
            "代金券金额": "0.00",
            "微信退款单号": f"5030{line.out_refund_no}" if is_refund else "0",
            "商户退款单号": (line.out_refund_no or "") if is_refund else "0",
            "退款金额": fen_to_yuan(line.amount_fen) if is_refund else "0.00",
            "充值券退款金额": "0.00",
            "退款类型": "ORIGINAL" if is_refund else "",
            "退款状态": "SUCCESS" if is_refund else "",
            "商品名称": "沙箱",
            "手续费": "0.00",
            "费率": "0.60%",
            "订单金额": "0.00" if is_refund else fen_to_yuan(line.amount_fen),
            "申请退款金额": fen_to_yuan(line.amount_fen) if is_refund else "0.00",
        }
        writer.writerow([f"`{row[name]}" for name in COLUMNS])
    writer.writerow(SUMMARY_COLUMNS)
    totals = (str(count), fen_to_yuan(pay_total), fen_to_yuan(refund_total), "0.00", "0.00", fen_to_yuan(pay_total))
    writer.writerow([f"`{value}" for value in (*totals, fen_to_yuan(refund_total))])
    return out.getvalue().encode("utf-8")
