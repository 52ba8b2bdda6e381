"""Payments' queries (payments.md §10, §13): my bills, 查缴 by bill number, one payment order; and for the finance
role the reconciliation runs, their diffs and the anomalies waiting for a person.

Adapters only: one `payments.service` read per field. A bill or an order the caller may not see does not exist for
them (null), whether it exists or not.
"""

from __future__ import annotations

import strawberry
from strawberry.exceptions import StrawberryGraphQLError

from api.identity.tokens import AccessClaims
from api.kit.errors import AppError
from api.kit.ids import parse_uuid
from api.kit.pagination import MAX_FIRST, Page, clamp_first
from api.models import OperatorRole
from payments import service
from schema.access import CitizenOnly, operator_with
from schema.context import Info
from schema.pagination import Connection
from schema.payments import views
from schema.payments.inputs import LookupBillInput
from schema.payments.types import Bill, PaymentAnomaly, PaymentOrder, ReconciliationDiff, ReconciliationRun

FINANCE = operator_with(OperatorRole.FINANCE)


def _claims(info: Info) -> AccessClaims:
    claims = info.context.principal.claims
    assert claims is not None  # the field's permission class guarantees it
    return claims


def _refused(exc: AppError) -> StrawberryGraphQLError:
    """A bad `first` or cursor: a top-level error with its code, as every list of the API answers it."""
    return StrawberryGraphQLError(exc.message, extensions={"code": exc.code})


@strawberry.type
class PaymentsQuery:
    @strawberry.field(
        permission_classes=[CitizenOnly],
        description=f"Your bills, or the enterprise's while you act for it (newest first), each with its receipt once "
        f"paid; `first` at most {MAX_FIRST}.",
    )
    async def my_bills(self, info: Info, first: int | None = 20, after: str | None = None) -> Connection[Bill]:
        try:
            now = info.context.identity.clock.now()
            page = await service.my_bills(_claims(info), first=clamp_first(first), after=after, now=now)
        except AppError as exc:
            raise _refused(exc) from None
        return Connection.of(page, views.bill)

    @strawberry.field(
        permission_classes=[CitizenOnly],
        description="查缴: one of your bills (or the enterprise's you act for) by its 缴款单号; null when none of them "
        "has that number.",
    )
    async def lookup_bill(self, info: Info, input: LookupBillInput) -> Bill | None:
        found = await service.lookup_bill(_claims(info), input.bill_no, now=info.context.identity.clock.now())
        return None if found is None else views.bill(found)

    @strawberry.field(
        permission_classes=[CitizenOnly],
        description="One of your payment orders (or one on a bill you may pay); null for anything else.",
    )
    async def payment_order(self, info: Info, id: strawberry.ID) -> PaymentOrder | None:
        order_id = parse_uuid(str(id))
        deps = info.context.payments
        if order_id is None or deps is None:
            return None
        found = await service.payment_order(deps, _claims(info), order_id)
        return None if found is None else views.order(found)

    @strawberry.field(
        permission_classes=[FINANCE],
        description=f"Finance: the daily reconciliation runs, latest first; `first` at most {MAX_FIRST}.",
    )
    async def reconciliation_runs(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[ReconciliationRun]:
        try:
            page = await service.reconciliation_runs(first=clamp_first(first), after=after)
        except AppError as exc:
            raise _refused(exc) from None
        return Connection.of(page, ReconciliationRun.from_row)

    @strawberry.field(
        permission_classes=[FINANCE],
        description=f"Finance: the differences one reconciliation run found; `first` at most {MAX_FIRST}. Empty for "
        "an unknown run.",
    )
    async def reconciliation_diffs(
        self, info: Info, run_id: strawberry.ID, first: int | None = 20, after: str | None = None
    ) -> Connection[ReconciliationDiff]:
        parsed = parse_uuid(str(run_id))
        try:
            page = (
                Page([], [], False)
                if parsed is None
                else await service.reconciliation_diffs(parsed, first=clamp_first(first), after=after)
            )
        except AppError as exc:
            raise _refused(exc) from None
        return Connection.of(page, ReconciliationDiff.from_row)

    @strawberry.field(
        permission_classes=[FINANCE],
        description="Finance: orders with an anomaly (amount or merchant mismatch, paid after close, duplicate "
        f"payment) and refunds the channel reported ABNORMAL, newest first; `first` at most {MAX_FIRST}.",
    )
    async def payment_anomalies(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[PaymentAnomaly]:
        try:
            page = await service.payment_anomalies(first=clamp_first(first), after=after)
        except AppError as exc:
            raise _refused(exc) from None
        return Connection.of(page, views.anomaly)
