"""The reads behind payments' GraphQL queries (payments.md §10): a holder's bills with their receipts, 查缴 by
bill number, one order with its sandbox cashier URL, and the finance role's reconciliation runs, diffs and
anomalies. Role checks are the caller's; holder checks are here (someone else's bill does not exist)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import Q

from api.identity.tokens import AccessClaims
from api.kit.pagination import Page, clamp_first, encode_cursor, moment_id_after
from api.models.applications import Application
from api.models.payment import (
    Bill,
    BillStatus,
    PaymentOrder,
    Receipt,
    ReconciliationDiff,
    ReconciliationRun,
    Refund,
    RefundStatus,
)
from payments.deps import PaymentsDeps
from payments.errors import PaymentsError
from payments.service import access


@dataclass(frozen=True)
class BillView:
    bill: Bill
    receipt: Receipt | None
    project_no: str | None = None  # 办件编号 of the application whose fee it is


@dataclass(frozen=True)
class OrderView:
    order: PaymentOrder
    sandbox_cashier_url: str | None


@dataclass(frozen=True)
class AnomalyView:
    """An order with an anomaly, or a refund the channel reported ABNORMAL (manual handling either way)."""

    kind: str  # the order's Anomaly value, or "REFUND_ABNORMAL"
    order: PaymentOrder
    refund: Refund | None
    at: datetime


def _cursor(at: datetime, row_id: uuid.UUID) -> str:
    return encode_cursor([at.isoformat(), str(row_id)])


def _page(rows: Sequence[Bill | ReconciliationRun | ReconciliationDiff], first: int) -> tuple[list[str], bool]:
    return [_cursor(r.created_at, r.id) for r in rows[:first]], len(rows) > first


async def _with_receipts(bills: Sequence[Bill]) -> list[BillView]:
    paid = [b.id for b in bills if b.status is not BillStatus.UNPAID]
    receipts = {r.bill_id: r for r in await Receipt.filter(bill_id__in=paid)} if paid else {}
    cases = [b.application_id for b in bills if b.application_id is not None]
    numbers: dict[uuid.UUID, str | None] = (
        dict(await Application.filter(id__in=cases).values_list("id", "project_no")) if cases else {}
    )
    return [BillView(b, receipts.get(b.id), numbers.get(b.application_id) if b.application_id else None) for b in bills]


async def my_bills(
    claims: AccessClaims, *, first: int | None, after: str | None, now: datetime | None = None
) -> Page[BillView]:
    """The caller's bills, and those of the enterprise the session acts for; newest first."""
    n = clamp_first(first)
    holders = Q(person_id=claims.subject)
    acting = await access.acting_enterprise(claims, now or datetime.now(UTC))
    if acting is not None:
        holders |= Q(enterprise_id=acting)
    rows = await Bill.filter(holders & moment_id_after(after, "created_at")).order_by("-created_at", "-id").limit(n + 1)
    cursors, more = _page(rows, n)
    return Page(await _with_receipts(rows[:n]), cursors, more)


async def lookup_bill(claims: AccessClaims, bill_no: str, *, now: datetime | None = None) -> BillView | None:
    """查缴 by bill number: None when no bill has that number, or it is not the caller's to pay."""
    bill_no = bill_no.strip()
    if not bill_no or len(bill_no) > 32:
        return None
    bill = await Bill.get_or_none(bill_no=bill_no)
    if bill is None or not await access.may_see(claims, bill, now or datetime.now(UTC)):
        return None
    return (await _with_receipts([bill]))[0]


async def payment_order(deps: PaymentsDeps, claims: AccessClaims, order_id: uuid.UUID) -> OrderView | None:
    """One of the caller's payment attempts (or one on a bill the caller holds); None otherwise."""
    try:
        order = await access.visible_order(claims, order_id, deps.clock.now())
    except PaymentsError:
        return None
    url = deps.cashier_url(order) if deps.cashier_url is not None else None
    return OrderView(order, url)


async def bill_orders(bill_id: uuid.UUID) -> list[PaymentOrder]:
    return list(await PaymentOrder.filter(bill_id=bill_id).order_by("created_at", "id"))


async def reconciliation_runs(*, first: int | None, after: str | None) -> Page[ReconciliationRun]:
    n = clamp_first(first)
    rows = (
        await ReconciliationRun.filter(moment_id_after(after, "created_at")).order_by("-created_at", "-id").limit(n + 1)
    )
    cursors, more = _page(rows, n)
    return Page(rows[:n], cursors, more)


async def reconciliation_diffs(run_id: uuid.UUID, *, first: int | None, after: str | None) -> Page[ReconciliationDiff]:
    n = clamp_first(first)
    rows = (
        await ReconciliationDiff.filter(Q(run_id=run_id) & moment_id_after(after, "created_at"))
        .order_by("-created_at", "-id")
        .limit(n + 1)
    )
    cursors, more = _page(rows, n)
    return Page(rows[:n], cursors, more)


async def payment_anomalies(*, first: int | None, after: str | None) -> Page[AnomalyView]:
    """Orders with an anomaly and ABNORMAL refunds, newest first, in one list over both tables."""
    n = clamp_first(first)
    position = moment_id_after(after, "created_at")
    orders = await PaymentOrder.filter(Q(anomaly__isnull=False) & position).order_by("-created_at", "-id").limit(n + 1)
    refunds = (
        await Refund.filter(Q(status=RefundStatus.ABNORMAL) & position).order_by("-created_at", "-id").limit(n + 1)
    )
    refund_orders = {o.id: o for o in await PaymentOrder.filter(id__in=[r.order_id for r in refunds])}
    views = [AnomalyView(o.anomaly.value, o, None, o.created_at) for o in orders if o.anomaly is not None]
    views += [AnomalyView("REFUND_ABNORMAL", refund_orders[r.order_id], r, r.created_at) for r in refunds]
    views.sort(key=lambda v: (v.at, str((v.refund or v.order).id)), reverse=True)
    shown = views[:n]
    cursors = [_cursor(v.at, (v.refund or v.order).id) for v in shown]
    return Page(shown, cursors, len(views) > n)
