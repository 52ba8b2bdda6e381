"""Supervisor mutations on alerts: acknowledge, resolve, record a violation (domain.md §10.2)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry

from api.kit.errors import AppError, InvalidInput
from api.kit.ids import parse_uuid
from api.models import OperatorRole
from api.supervision import alerts
from schema.access import operator_with
from schema.context import Info
from schema.errors import ConflictError, InvalidInputError, NotFoundError, to_error
from schema.supervision.types import (
    AlertChanged,
    EfficiencyAlert,
    EfficiencyAlertStatus,
    IllegalAlertStepError,
    ViolationRecorded,
    ViolationRule,
)

Supervisor = operator_with(OperatorRole.SUPERVISOR)


@strawberry.input
class AcknowledgeAlertInput:
    alert_id: strawberry.ID


@strawberry.input
class ResolveAlertInput:
    alert_id: strawberry.ID
    resolution: str = strawberry.field(description="监察结果描述: what was done; at most 2,000 characters.")


@strawberry.input
class RecordViolationInput:
    application_id: strawberry.ID
    rule: ViolationRule
    reason: str = strawberry.field(description="What was found; at most 1,000 characters.")


AlertStepResult = AlertChanged | IllegalAlertStepError | NotFoundError | InvalidInputError
AcknowledgeAlertResult = Annotated[AlertStepResult, strawberry.union("AcknowledgeAlertResult")]
ResolveAlertResult = Annotated[AlertStepResult, strawberry.union("ResolveAlertResult")]
RecordViolationResult = Annotated[
    ViolationRecorded | NotFoundError | InvalidInputError | ConflictError, strawberry.union("RecordViolationResult")
]


def _id(value: str, field: str) -> uuid.UUID:
    parsed = parse_uuid(value.strip())
    if parsed is None:
        raise InvalidInput("not a valid id", path=[field], code="INVALID_ID")
    return parsed


async def _guard(call: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await call()
    except alerts.AlertStepRefused as exc:
        return IllegalAlertStepError(
            code=exc.code, message=exc.message, path=exc.path, status=EfficiencyAlertStatus(exc.status.value)
        )
    except AppError as exc:
        return to_error(exc)


@strawberry.type
class SupervisionMutation:
    @strawberry.mutation(permission_classes=[Supervisor], description="Acknowledge an open alert (supervisors).")
    async def acknowledge_alert(self, info: Info, input: AcknowledgeAlertInput) -> AcknowledgeAlertResult:
        claims = info.context.principal.claims
        assert claims is not None  # the permission class guarantees it
        now = info.context.identity.clock.now()

        async def call() -> AlertChanged:
            view = await alerts.acknowledge(claims, _id(str(input.alert_id), "alertId"), now)
            return AlertChanged(alert=EfficiencyAlert.from_view(view))

        result: AcknowledgeAlertResult = await _guard(call)
        return result

    @strawberry.mutation(
        permission_classes=[Supervisor], description="Resolve an alert with 监察结果描述 (supervisors); final."
    )
    async def resolve_alert(self, info: Info, input: ResolveAlertInput) -> ResolveAlertResult:
        claims = info.context.principal.claims
        assert claims is not None
        now = info.context.identity.clock.now()

        async def call() -> AlertChanged:
            view = await alerts.resolve(claims, _id(str(input.alert_id), "alertId"), input.resolution, now)
            return AlertChanged(alert=EfficiencyAlert.from_view(view))

        result: ResolveAlertResult = await _guard(call)
        return result

    @strawberry.mutation(
        permission_classes=[Supervisor],
        description="Record a violation found on a case as a 红牌 alert to its department (supervisors).",
    )
    async def record_violation(self, info: Info, input: RecordViolationInput) -> RecordViolationResult:
        claims = info.context.principal.claims
        assert claims is not None
        now = info.context.identity.clock.now()

        async def call() -> ViolationRecorded:
            app_id = _id(str(input.application_id), "applicationId")
            view = await alerts.record_violation(claims, app_id, input.rule.to_rule(), input.reason, now)
            return ViolationRecorded(alert=EfficiencyAlert.from_view(view))

        result: RecordViolationResult = await _guard(call)
        return result
