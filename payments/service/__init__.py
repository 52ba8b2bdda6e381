"""The only code that changes payment state (payments.md §8–§13), and the reads behind payments' queries.

Modules: orders (createPayment, confirmPayment, cancelPayment), prepay (the channel side of creation), closing
(close_order, the poller's refresh_order, the expiry sweep), facts (apply_trade_fact), refunds (request, submit,
apply, refresh), bills (create_bill, cancel_bill), reads, and their helpers: rules (pure decisions), schedule
(pure query schedule), ledger (shared writes), locks, records, calls, metrics.
"""

from __future__ import annotations

from payments.service.bills import cancel_bill, create_bill
from payments.service.closing import close_order, refresh_order, sweep_expired_order
from payments.service.facts import TradeApplied, apply_trade, apply_trade_fact
from payments.service.ledger import SERVICE_REQUESTER
from payments.service.orders import cancel_payment, confirm_payment, create_payment
from payments.service.reads import (
    AnomalyView,
    BillView,
    OrderView,
    bill_orders,
    lookup_bill,
    my_bills,
    payment_anomalies,
    payment_order,
    reconciliation_diffs,
    reconciliation_runs,
)
from payments.service.refunds import (
    RefundApplied,
    apply_refund,
    apply_refund_fact,
    refresh_refund,
    request_refund,
    submit_refund,
)
from payments.service.schedule import next_query_after, next_refund_query_after

__all__ = [
    "SERVICE_REQUESTER",
    "AnomalyView",
    "BillView",
    "OrderView",
    "RefundApplied",
    "TradeApplied",
    "apply_refund",
    "apply_refund_fact",
    "apply_trade",
    "apply_trade_fact",
    "bill_orders",
    "cancel_bill",
    "cancel_payment",
    "close_order",
    "confirm_payment",
    "create_bill",
    "create_payment",
    "lookup_bill",
    "my_bills",
    "next_query_after",
    "next_refund_query_after",
    "payment_anomalies",
    "payment_order",
    "reconciliation_diffs",
    "reconciliation_runs",
    "refresh_order",
    "refresh_refund",
    "request_refund",
    "submit_refund",
    "sweep_expired_order",
]
