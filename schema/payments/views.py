"""From `payments.service` read views to GraphQL types: the only place that knows both shapes."""

from __future__ import annotations

import strawberry

from payments.service import AnomalyView, BillView, OrderView
from schema.payments.types import Bill, PaymentAnomaly, PaymentAnomalyKind, PaymentOrder, Refund


def bill(view: BillView) -> Bill:
    return Bill.from_row(view.bill, view.receipt, view.project_no)


def order(view: OrderView) -> PaymentOrder:
    return PaymentOrder.from_row(view.order, view.sandbox_cashier_url)


def anomaly(view: AnomalyView) -> PaymentAnomaly:
    return PaymentAnomaly(
        kind=PaymentAnomalyKind(view.kind),
        bill_id=strawberry.ID(str(view.order.bill_id)),
        # The finance view of an order: no payload and no cashier link, whatever its state.
        order=PaymentOrder.from_row(view.order, for_payer=False),
        refund=Refund.from_row(view.refund) if view.refund is not None else None,
        noticed_at=view.at,
    )
