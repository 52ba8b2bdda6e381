"""What the Alipay trade sandbox remembers: trades and their refunds, in memory, under the sandbox's own clock."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from api.kit.clock import SHANGHAI
from api.platforms.sandbox import AlipayGatewayError
from payments.money import fen_to_yuan, yuan_to_fen

BEIJING_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_TOTAL_FEN = 100_000_000_00  # Alipay's documented ceiling: ¥100,000,000.00
_OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-]{1,64}")

APP_PAY = "alipay.trade.app.pay"
WAP_PAY = "alipay.trade.wap.pay"
CREATE = "alipay.trade.create"
PRECREATE = "alipay.trade.precreate"
QUERY = "alipay.trade.query"
CLOSE = "alipay.trade.close"
REFUND = "alipay.trade.refund"
REFUND_QUERY = "alipay.trade.fastpay.refund.query"
BILL_URL = "alipay.data.dataservice.bill.downloadurl.query"
TRADE_METHODS = (APP_PAY, WAP_PAY, CREATE, PRECREATE, QUERY, CLOSE, REFUND, REFUND_QUERY, BILL_URL)


class TradeStatus(StrEnum):
    WAIT_BUYER_PAY = "WAIT_BUYER_PAY"
    TRADE_SUCCESS = "TRADE_SUCCESS"
    TRADE_FINISHED = "TRADE_FINISHED"
    TRADE_CLOSED = "TRADE_CLOSED"


@dataclass
class SandboxRefund:
    out_request_no: str
    amount_fen: int
    reason: str
    at: datetime


@dataclass
class SandboxTrade:
    out_trade_no: str
    method: str  # how it was made: app / wap order string, trade.create, trade.precreate
    app_id: str
    amount_fen: int
    subject: str
    trade_no: str
    created_at: datetime
    notify_url: str | None = None
    return_url: str | None = None
    expires_at: datetime | None = None
    # App and wap trades exist at Alipay only once the payer opens the cashier; until then they are an offer.
    opened: bool = False
    status: TradeStatus = TradeStatus.WAIT_BUYER_PAY
    buyer_id: str = ""
    buyer_open_id: str = ""
    qr_code: str | None = None
    paid_at: datetime | None = None
    closed_at: datetime | None = None
    refunds: dict[str, SandboxRefund] = field(default_factory=dict)

    @property
    def paid(self) -> bool:
        return self.status in (TradeStatus.TRADE_SUCCESS, TradeStatus.TRADE_FINISHED) or (
            self.status is TradeStatus.TRADE_CLOSED and self.paid_at is not None
        )

    @property
    def refunded_fen(self) -> int:
        return sum(refund.amount_fen for refund in self.refunds.values())

    def expire(self, now: datetime) -> None:
        """Alipay closes an unpaid trade at its time_expire by itself."""
        if self.status is TradeStatus.WAIT_BUYER_PAY and self.expires_at is not None and now >= self.expires_at:
            self.status, self.closed_at = TradeStatus.TRADE_CLOSED, self.expires_at

    def to_json(self) -> dict[str, Any]:
        return {
            "outTradeNo": self.out_trade_no,
            "tradeNo": self.trade_no,
            "method": self.method,
            "amountFen": str(self.amount_fen),
            "subject": self.subject,
            "status": self.status.value,
            "opened": self.opened,
            "notifyUrl": self.notify_url,
            "expiresAt": self.expires_at.isoformat() if self.expires_at else None,
            "paidAt": self.paid_at.isoformat() if self.paid_at else None,
            "closedAt": self.closed_at.isoformat() if self.closed_at else None,
            "refunds": [
                {"outRequestNo": r.out_request_no, "amountFen": str(r.amount_fen), "at": r.at.isoformat()}
                for r in self.refunds.values()
            ],
        }


def business_failure(sub_code: str, sub_msg: str) -> AlipayGatewayError:
    return AlipayGatewayError("40004", "Business Failed", sub_code, sub_msg)


def invalid_parameter(message: str) -> AlipayGatewayError:
    return business_failure("ACQ.INVALID_PARAMETER", f"参数无效: {message}")


def beijing(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime(BEIJING_FORMAT)


def beijing_millis(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime(BEIJING_FORMAT + ".%f")[:-3]


def new_trade_no(now: datetime) -> str:
    """28 digits, shaped like Alipay's: the Beijing date, 22001, then digits."""
    return f"{now.astimezone(SHANGHAI):%Y%m%d}22001" + "".join(secrets.choice("0123456789") for _ in range(15))


def new_buyer_id() -> str:
    return "2088" + "".join(secrets.choice("0123456789") for _ in range(12))


def new_notify_id() -> str:
    return secrets.token_hex(16)


def biz_of(params: dict[str, str]) -> dict[str, Any]:
    """The business content of a request whose signature has already been checked."""
    raw = params.get("biz_content")
    if not raw:
        raise AlipayGatewayError("40001", "Missing Required Arguments", "isv.missing-biz-content", "缺少biz_content")
    try:
        biz = json.loads(raw)
    except ValueError as exc:
        raise invalid_parameter("biz_content 不是合法的 JSON") from exc
    if not isinstance(biz, dict):
        raise invalid_parameter("biz_content 不是 JSON 对象")
    return biz


def out_trade_no_of(biz: dict[str, Any]) -> str:
    value = biz.get("out_trade_no")
    if not isinstance(value, str) or not _OUT_TRADE_NO.fullmatch(value):
        raise invalid_parameter("out_trade_no")
    return value


def amount_of(biz: dict[str, Any], name: str) -> int:
    value = biz.get(name)
    try:
        fen = yuan_to_fen(value) if isinstance(value, str) else 0
    except ValueError:
        fen = 0
    if not 0 < fen <= MAX_TOTAL_FEN:
        raise invalid_parameter(name)
    return fen


def new_trade_of(method: str, app_id: str, params: dict[str, str], biz: dict[str, Any], now: datetime) -> SandboxTrade:
    """A trade as the order parameters describe it; raises a business failure for invalid ones."""
    subject = biz.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        raise invalid_parameter("subject")
    expires_at = None
    if biz.get("time_expire"):
        try:
            expires_at = datetime.strptime(str(biz["time_expire"]), BEIJING_FORMAT).replace(tzinfo=SHANGHAI)
        except ValueError as exc:
            raise invalid_parameter("time_expire") from exc
    return SandboxTrade(
        out_trade_no=out_trade_no_of(biz),
        method=method,
        app_id=app_id,
        amount_fen=amount_of(biz, "total_amount"),
        subject=subject,
        trade_no=new_trade_no(now),
        created_at=now,
        notify_url=params.get("notify_url") or None,
        return_url=params.get("return_url") or None,
        expires_at=expires_at,
        buyer_id=str(biz.get("buyer_id") or ""),
        buyer_open_id=str(biz.get("buyer_open_id") or ""),
    )


def same_order(existing: SandboxTrade, new: SandboxTrade) -> None:
    """The same out_trade_no again: the same order is answered again; anything else is refused, as Alipay does."""
    if existing.amount_fen != new.amount_fen:
        raise business_failure("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
    if existing.status in (TradeStatus.TRADE_SUCCESS, TradeStatus.TRADE_FINISHED):
        raise business_failure("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
    if existing.status is TradeStatus.TRADE_CLOSED:
        raise business_failure("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")


def notify_fields(
    trade: SandboxTrade, *, seller_id: str, now: datetime, refund: SandboxRefund | None = None
) -> dict[str, str]:
    """A trade status notify as Alipay posts it (without `sign`; `sign_type` included)."""
    total = fen_to_yuan(trade.amount_fen)
    fields = {
        "notify_time": beijing(now),
        "notify_type": "trade_status_sync",
        "notify_id": new_notify_id(),
        "app_id": trade.app_id,
        "charset": "utf-8",
        "version": "1.0",
        "sign_type": "RSA2",
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "buyer_id": trade.buyer_id,
        "buyer_logon_id": "sandbox***@alipay.test",
        "seller_id": seller_id,
        "trade_status": trade.status.value,
        "total_amount": total,
        "receipt_amount": total,
        "buyer_pay_amount": total,
        "invoice_amount": total,
        "subject": trade.subject,
        "gmt_create": beijing(trade.created_at),
    }
    if trade.paid_at is not None:
        fields["gmt_payment"] = beijing(trade.paid_at)
    if trade.status is TradeStatus.TRADE_CLOSED and trade.closed_at is not None:
        fields["gmt_close"] = beijing(trade.closed_at)
    if refund is not None:
        fields |= {
            "out_biz_no": refund.out_request_no,
            "refund_fee": fen_to_yuan(trade.refunded_fen),  # the trade's total refunded so far
            "gmt_refund": beijing_millis(refund.at),
        }
    return {key: value for key, value in fields.items() if value != ""}


def notify_sign_content(fields: dict[str, str]) -> str:
    """What Alipay signs in a notify: every field but `sign` and `sign_type`, sorted, blank ones included."""
    return "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k not in ("sign", "sign_type"))
