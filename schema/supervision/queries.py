"""Supervision queries: efficiency alerts and service metrics (三率一数, A4 indicators)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import strawberry
from strawberry.exceptions import StrawberryGraphQLError

from api.kit.errors import AppError, Forbidden, InvalidInput
from api.kit.ids import parse_uuid
from api.models import OperatorRole
from api.supervision import alerts, metrics
from schema.access import operator_with
from schema.context import Info
from schema.errors import InvalidInputError, NotFoundError, to_error
from schema.pagination import Connection
from schema.supervision.types import EfficiencyAlert, EfficiencyAlertLevel, EfficiencyAlertStatus, ServiceMetrics

AlertReaders = operator_with(OperatorRole.SUPERVISOR, OperatorRole.CASE_HANDLER)
MetricReaders = operator_with(OperatorRole.SUPERVISOR, OperatorRole.CATALOG_ADMIN, OperatorRole.CASE_HANDLER)
ServiceMetricsResult = Annotated[
    ServiceMetrics | InvalidInputError | NotFoundError, strawberry.union("ServiceMetricsResult")
]


@strawberry.input
class ServiceMetricsInput:
    org_id: strawberry.ID | None = strawberry.field(
        default=None, description="The department; none: every department (a case handler: its own)."
    )
    item_id: strawberry.ID | None = strawberry.field(
        default=None, description="A service item (any version of it); none: every item of the scope."
    )
    start: date = strawberry.field(name="from", description="First day of the period (Asia/Shanghai).")
    end: date = strawberry.field(name="to", description="Last day of the period, inclusive.")


def _optional_id(value: strawberry.ID | None, field: str) -> uuid.UUID | None:
    if value is None:
        return None
    parsed = parse_uuid(str(value).strip())
    if parsed is None:
        raise InvalidInput("not a valid id", path=[field], code="INVALID_ID")
    return parsed


def _refuse(exc: AppError) -> StrawberryGraphQLError:
    return StrawberryGraphQLError(exc.message, extensions={"code": exc.code})


@strawberry.type
class SupervisionQuery:
    @strawberry.field(
        permission_classes=[AlertReaders],
        description=(
            "Efficiency alerts, newest first; `first` at most 100. Supervisors see every department, a case handler "
            "only its own (read-only)."
        ),
    )
    async def efficiency_alerts(
        self,
        info: Info,
        level: EfficiencyAlertLevel | None = None,
        status: EfficiencyAlertStatus | None = None,
        org_id: strawberry.ID | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[EfficiencyAlert]:
        claims = info.context.principal.claims
        assert claims is not None  # the permission class guarantees it
        org = None
        if org_id is not None:
            org = parse_uuid(str(org_id))
            if org is None:
                raise StrawberryGraphQLError("not a valid id", extensions={"code": "INVALID_ID"})
        try:
            page = await alerts.list_alerts(
                claims,
                level=level.to_row() if level else None,
                status=status.to_service() if status else None,
                org_id=org,
                first=first,
                after=after,
            )
        except AppError as exc:
            raise _refuse(exc) from None
        return Connection.of(page, EfficiencyAlert.from_view)

    @strawberry.field(
        permission_classes=[MetricReaders],
        description=(
            "三率一数 and the A4 indicators (domain.md §10.3) for a department, item and period; supervisors and "
            "catalog admins for any department, a case handler for its own."
        ),
    )
    async def service_metrics(self, info: Info, input: ServiceMetricsInput) -> ServiceMetricsResult:
        claims = info.context.principal.claims
        assert claims is not None
        try:
            result = await metrics.service_metrics(
                claims,
                org_id=_optional_id(input.org_id, "orgId"),
                item_id=_optional_id(input.item_id, "itemId"),
                start=input.start,
                end=input.end,
            )
        except Forbidden as exc:
            raise _refuse(exc) from None
        except AppError as exc:
            error: ServiceMetricsResult = to_error(exc)  # type: ignore[assignment]
            return error
        return ServiceMetrics.of(result)
