"""The Alipay sandbox's trades, answered as Alipay's trade methods do; in memory, under the sandbox's clock."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import quote

from api.kit.clock import SHANGHAI, Clock
from api.platforms.sandbox import AlipayMethodCall
from payments.channels.base import BillLine
from payments.money import fen_to_yuan
from payments.sandbox.alipay_bill_file import bill_zip, lines_for
from payments.sandbox.alipay_trades import (
    CREATE,
    PRECREATE,
    SandboxRefund,
    SandboxTrade,
    TradeStatus,
    amount_of,
    beijing,
    biz_of,
    business_failure,
    invalid_parameter,
    new_buyer_id,
    new_trade_of,
    out_trade_no_of,
    same_order,
)

_NOT_EXIST = ("ACQ.TRADE_NOT_EXIST", "交易不存在")


class TradeBook:
    """`on_refund(trade, refund)` is told of every new refund (the sandbox notifies it)."""

    def __init__(
        self, *, seller_id: str, clock: Clock, base_url: str, on_refund: Callable[[SandboxTrade, SandboxRefund], object]
    ) -> None:
        self.seller_id = seller_id
        self.clock = clock
        self.base_url = base_url
        self._on_refund = on_refund
        self.trades: dict[str, SandboxTrade] = {}
        self.bills: dict[date, tuple[BillLine, ...]] = {}  # staged by tests; otherwise made from the trades
        self.bill_files: dict[str, bytes] = {}

    def reset(self) -> None:
        self.trades.clear()
        self.bills.clear()
        self.bill_files.clear()

    # -- trade methods: each answers the `<method>_response` node or raises a business failure --

    async def create(self, call: AlipayMethodCall) -> dict[str, Any]:
        biz = biz_of(call.params)
        if not biz.get("buyer_id") and not biz.get("buyer_open_id"):
            raise invalid_parameter("buyer_id 与 buyer_open_id 不能同时为空")
        trade = self.place(CREATE, call, biz)
        return {"code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no, "trade_no": trade.trade_no}

    async def precreate(self, call: AlipayMethodCall) -> dict[str, Any]:
        trade = self.place(PRECREATE, call, biz_of(call.params))
        if trade.qr_code is None:
            # Scanning the code opens the sandbox cashier, where a person presses 支付.
            trade.qr_code = f"{self.base_url}/cashier/{quote(trade.out_trade_no, safe='')}"
        return {"code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no, "qr_code": trade.qr_code}

    async def query(self, call: AlipayMethodCall) -> dict[str, Any]:
        trade = self.visible(biz_of(call.params))
        node: dict[str, Any] = {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status.value,
            "total_amount": fen_to_yuan(trade.amount_fen),
        }
        if trade.paid_at is not None:
            node |= {
                "buyer_logon_id": "sandbox***@alipay.test",
                "buyer_user_id": trade.buyer_id,
                "buyer_pay_amount": fen_to_yuan(trade.amount_fen),
                "receipt_amount": fen_to_yuan(trade.amount_fen),
                "send_pay_date": beijing(trade.paid_at),
            }
        return node

    async def close(self, call: AlipayMethodCall) -> dict[str, Any]:
        trade = self.visible(biz_of(call.params))
        if trade.status is not TradeStatus.WAIT_BUYER_PAY:
            raise business_failure("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        trade.status, trade.closed_at = TradeStatus.TRADE_CLOSED, self.clock.now()
        return {"code": "10000", "msg": "Success", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no}

    async def refund(self, call: AlipayMethodCall) -> dict[str, Any]:
        biz = biz_of(call.params)
        trade = self.visible(biz)
        amount = amount_of(biz, "refund_amount")
        # Without out_request_no Alipay takes the out_trade_no: one full refund.
        request_no = str(biz.get("out_request_no") or trade.out_trade_no)
        existing = trade.refunds.get(request_no)
        if existing is None:
            if trade.status is not TradeStatus.TRADE_SUCCESS:
                raise business_failure("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            if amount > trade.amount_fen - trade.refunded_fen:
                raise business_failure("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
            refund = SandboxRefund(request_no, amount, str(biz.get("refund_reason") or ""), self.clock.now())
            trade.refunds[request_no] = refund
            if trade.refunded_fen == trade.amount_fen:
                trade.status, trade.closed_at = TradeStatus.TRADE_CLOSED, refund.at
            self._on_refund(trade, refund)
        # The same out_request_no again refunds nothing more: Alipay answers it without moving money.
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": "sandbox***@alipay.test",
            "fund_change": "N" if existing is not None else "Y",
            "refund_fee": fen_to_yuan(trade.refunded_fen),
        }

    async def refund_query(self, call: AlipayMethodCall) -> dict[str, Any]:
        biz = biz_of(call.params)
        trade = self.visible(biz)
        refund = trade.refunds.get(str(biz.get("out_request_no") or trade.out_trade_no))
        node: dict[str, Any] = {"code": "10000", "msg": "Success"}
        if refund is not None:
            node |= {
                "trade_no": trade.trade_no,
                "out_trade_no": trade.out_trade_no,
                "out_request_no": refund.out_request_no,
                "total_amount": fen_to_yuan(trade.amount_fen),
                "refund_amount": fen_to_yuan(refund.amount_fen),
                "refund_status": "REFUND_SUCCESS",
                "gmt_refund_pay": beijing(refund.at),
            }
        return node

    async def bill_url(self, call: AlipayMethodCall) -> dict[str, Any]:
        biz = biz_of(call.params)
        if biz.get("bill_type") != "trade":
            raise business_failure("isp.bill_type_not_exist", "账单类型不存在")
        try:
            bill_date = date.fromisoformat(str(biz.get("bill_date")))
        except ValueError as exc:
            raise invalid_parameter("bill_date") from exc
        now = self.clock.now()
        staged = self.bills.get(bill_date)
        # A day's bill is published only after the day (Beijing time) is over.
        if staged is None and bill_date >= now.astimezone(SHANGHAI).date():
            raise business_failure("isp.bill_not_exist", "账单不存在")
        lines = staged if staged is not None else tuple(lines_for(self.trades.values(), bill_date))
        token = secrets.token_urlsafe(18)
        self.bill_files[token] = bill_zip(self.seller_id, bill_date, lines, exported_at=now)
        return {"code": "10000", "msg": "Success", "bill_download_url": f"{self.base_url}/bills/{token}"}

    def offer(self, method: str, app_id: str, params: dict[str, str], biz: dict[str, Any]) -> SandboxTrade:
        """An app or wap order: known from now on, whatever became of it since (the page shows its state)."""
        new = new_trade_of(method, app_id, params, biz, self.clock.now())
        existing = self.trades.get(new.out_trade_no)
        if existing is None:
            self.trades[new.out_trade_no] = new
            return new
        if existing.amount_fen != new.amount_fen:
            raise business_failure("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
        existing.expire(self.clock.now())
        return existing

    def place(self, method: str, call: AlipayMethodCall, biz: dict[str, Any]) -> SandboxTrade:
        """trade.create / precreate: the trade exists at once, WAIT_BUYER_PAY; the same order again is answered
        again, as Alipay does."""
        now = self.clock.now()
        new = new_trade_of(method, call.app_id, call.params, biz, now)
        existing = self.trades.get(new.out_trade_no)
        if existing is not None:
            existing.expire(now)
            same_order(existing, new)
            existing.opened = True
            return existing
        new.opened = True
        self.trades[new.out_trade_no] = new
        return new

    def visible(self, biz: dict[str, Any]) -> SandboxTrade:
        if biz.get("out_trade_no"):
            trade = self.trades.get(out_trade_no_of(biz))
        elif biz.get("trade_no"):
            trade = next((t for t in self.trades.values() if t.trade_no == biz["trade_no"]), None)
        else:
            raise invalid_parameter("out_trade_no 与 trade_no 不能同时为空")
        if trade is None or not trade.opened:
            raise business_failure(*_NOT_EXIST)
        trade.expire(self.clock.now())
        return trade

    def complete(self, trade: SandboxTrade, amount_fen: int | None) -> None:
        now = self.clock.now()
        trade.expire(now)
        if trade.status is not TradeStatus.WAIT_BUYER_PAY:
            raise ValueError(f"trade {trade.out_trade_no} is {trade.status}, it cannot be paid")
        if amount_fen is not None:
            trade.amount_fen = amount_fen
        trade.opened = True
        trade.status, trade.paid_at = TradeStatus.TRADE_SUCCESS, now
        trade.buyer_id = trade.buyer_id or new_buyer_id()
