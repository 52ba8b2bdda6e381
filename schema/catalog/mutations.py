"""Catalog mutations for catalog admins: versioned drafts, review, publishing (Q01–Q15), suspension, cancellation."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry

from api.catalog import read, service
from api.kit.codes import parse_fen
from api.kit.errors import AppError, InvalidInput
from api.kit.ids import parse_uuid
from api.models import OperatorRole
from api.models import ServiceItem as ServiceItemRow
from schema.access import operator_with
from schema.catalog import inputs
from schema.catalog.types import ServiceItem
from schema.context import Info
from schema.errors import ConflictError, Error, InvalidInputError, NotFoundError, to_error

CatalogAdmin = operator_with(OperatorRole.CATALOG_ADMIN)


@strawberry.type(description="One publish rule that failed (domain.md §5.4).")
class PublishViolation:
    rule: str = strawberry.field(description="Q01–Q15.")
    message: str
    path: list[str] = strawberry.field(
        description="The field of UpdateServiceItemDraftInput that fixes it, as segments; at most 3."
    )


@strawberry.type(description="Publishing was refused by data-quality rules; nothing changed.")
class PublishRejected(Error):
    violations: list[PublishViolation] = strawberry.field(description="Every failed rule; at most 30.")


@strawberry.type(description="The item version is in a status that does not allow this action; nothing changed.")
class IllegalTransitionError(Error):
    status: str


@strawberry.type(description="A service item version after the change.")
class ServiceItemChanged:
    item: ServiceItem


Errors = InvalidInputError | NotFoundError | ConflictError | IllegalTransitionError
CreateServiceItemDraftResult = Annotated[
    ServiceItemChanged | InvalidInputError | ConflictError, strawberry.union("CreateServiceItemDraftResult")
]
UpdateServiceItemDraftResult = Annotated[ServiceItemChanged | Errors, strawberry.union("UpdateServiceItemDraftResult")]
SubmitServiceItemForReviewResult = Annotated[
    ServiceItemChanged | Errors, strawberry.union("SubmitServiceItemForReviewResult")
]
PublishServiceItemResult = Annotated[
    ServiceItemChanged | PublishRejected | Errors, strawberry.union("PublishServiceItemResult")
]
SuspendServiceItemResult = Annotated[ServiceItemChanged | Errors, strawberry.union("SuspendServiceItemResult")]
ResumeServiceItemResult = Annotated[ServiceItemChanged | Errors, strawberry.union("ResumeServiceItemResult")]
CancelServiceItemResult = Annotated[ServiceItemChanged | Errors, strawberry.union("CancelServiceItemResult")]


def _operator(info: Info) -> uuid.UUID:
    claims = info.context.principal.claims
    assert claims is not None  # the field's permission class guarantees it
    return claims.subject


def _item_id(value: str) -> uuid.UUID:
    parsed = parse_uuid(value.strip())
    if parsed is None:
        raise InvalidInput("not a valid id", path=["serviceItemId"], code="INVALID_ID")
    return parsed


async def _guard(call: Callable[[], Awaitable[ServiceItemRow]]) -> Any:
    try:
        row = await call()
    except service.PublishRejected as exc:
        return PublishRejected(
            code=exc.code,
            message=exc.message,
            path=None,
            violations=[PublishViolation(rule=v.rule, message=v.message, path=list(v.path)) for v in exc.violations][
                :30
            ],
        )
    except service.IllegalTransition as exc:
        return IllegalTransitionError(code=exc.code, message=exc.message, path=exc.path, status=exc.status)
    except AppError as exc:
        return to_error(exc)
    found = await read.find(row.task_code, row.version, row.handle_item_code)
    return ServiceItemChanged(item=ServiceItem.detail(row, superseded=found.superseded if found else False))


# Input field → ServiceItem column, for the scalar fields that map one to one.
_COLUMNS = {
    "name": "name",
    "task_type": "task_type",
    "by_law": "by_law",
    "power_source": "power_source",
    "dept_type": "dept_type",
    "project_type": "project_type",
    "server_types": "server_types",
    "handle_forms": "handle_forms",
    "online_depth_components": "online_depth_components",
    "online_depth_level": "online_depth_level",
    "online_url": "online_url",
    "mobile_url": "mobile_url",
    "visits_required": "limit_scene_num",
    "visits_reason": "limit_scene_reason",
    "is_schedule": "is_schedule",
    "is_pay_online": "is_pay_online",
    "is_express": "is_express",
    "is_service_terminal": "is_service_terminal",
    "is_entry_center": "is_entry_center",
    "handle_area": "handle_area",
    "quantity_limit_text": "quantity_limit_text",
    "intermediary_service": "intermediary_service",
    "min_assurance_level": "min_assurance_level",
    "accept_condition": "accept_condition",
    "handle_flow": "handle_flow_text",
    "transact_time": "transact_time",
    "special_procedure_text": "special_procedure_text",
    "plain_guide": "plain_guide_md",
    "result_name": "result_name",
    "result_sample_file_id": "result_sample_file_id",
    "result_is_elicense": "result_is_elicense",
    "elicense_type_code": "elicense_type_code",
    "is_fee": "is_fee",
    "fee_basis": "fee_basis",
    "person_topics": "person_topics",
    "corp_topics": "corp_topics",
    "keywords": "keywords",
    "region_code": "region_code",
    "form_version": "form_version",
    "form_schema": "form_schema",
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _fen(value: str | None, index: int) -> int | None:
    if value is None:
        return None
    fen = parse_fen(value, 15)
    if fen is None:
        raise InvalidInput("integer fen as decimal digits", path=["fees", str(index), "amountFen"], code="INVALID_FEN")
    return fen


def _changes(data: inputs.UpdateServiceItemDraftInput) -> service.DraftChanges:
    changes = service.DraftChanges()
    for field, column in _COLUMNS.items():
        value = getattr(data, field)
        if not inputs.is_set(value):
            continue
        if value is None:
            raise InvalidInput("must not be null; send an empty value instead", path=[_camel(field)], code="NULL")
        changes.columns[column] = value
    for field in ("legal_limit", "promise_limit"):
        limit = getattr(data, field)
        if inputs.is_set(limit):
            changes.columns[field] = (
                {} if limit is None else {"value": limit.value, "unit": limit.unit.value, "note": limit.note.strip()}
            )
    for field in ("consult", "supervise"):
        contact = getattr(data, field)
        if inputs.is_set(contact):
            changes.columns[field] = (
                {} if contact is None else {"phone": contact.phone.strip(), "note": contact.note.strip()}
            )
    if inputs.is_set(data.result_type):
        changes.columns["result_type"] = data.result_type.value if data.result_type else ""
    if inputs.is_set(data.workflow_steps):
        changes.columns["workflow_steps"] = [
            {"name": s.name.strip(), "roles": s.roles, "sla_working_days": s.sla_working_days}
            for s in data.workflow_steps or []
        ]
    parts = changes.parts
    if inputs.is_set(data.windows):
        parts["windows"] = [
            {
                "window_name": w.name,
                "address": w.address,
                "hours_text": w.hours,
                "phone": w.phone,
                "map_url": w.map_url.strip(),
                "traffic_info": w.traffic.strip(),
            }
            for w in data.windows or []
        ]
    if inputs.is_set(data.materials):
        parts["materials"] = [
            {
                "name": m.name,
                "necessity": m.necessity.value,
                "forms": [f.value for f in m.forms],
                "original_count": m.original_count,
                "copy_count": m.copy_count,
                "paper_spec": m.paper_spec.strip(),
                "source": m.source.value,
                "issuing_org_text": m.issuing_org.strip(),
                "issue_time_requirement": m.issue_time_requirement.strip(),
                "by_law": m.by_law.strip(),
                "accept_standard": m.accept_standard.strip(),
                "fill_guide": m.fill_guide.strip(),
                "blank_form_file_id": m.blank_form_file_id.strip(),
                "sample_file_id": m.sample_file_id.strip(),
                "signature_requirement": m.signature_requirement.strip(),
                "elicense_type_codes": [c.strip() for c in m.elicense_type_codes if c.strip()],
                "allow_commitment": m.allow_commitment,
            }
            for m in data.materials or []
        ]
    if inputs.is_set(data.situations):
        parts["situations"] = [
            {
                "question": s.question,
                "options": [
                    {"key": o.key, "label": o.label, "require": o.require_materials, "exclude": o.exclude_materials}
                    for o in s.options
                ],
            }
            for s in data.situations or []
        ]
    if inputs.is_set(data.special_procedures):
        parts["special_procedures"] = [
            {"kind": p.kind.strip(), "subtype": p.subtype, "max_days": p.max_days, "day_unit": p.day_unit.value}
            for p in data.special_procedures or []
        ]
    if inputs.is_set(data.fees):
        parts["fees"] = [
            {
                "name": f.name,
                "standard": f.standard,
                "amount_fen": _fen(f.amount_fen, i),
                "by_law": f.by_law.strip(),
                "reducible": f.reducible,
                "reduce_basis": f.reduce_basis.strip(),
            }
            for i, f in enumerate(data.fees or [])
        ]
    if inputs.is_set(data.faqs):
        parts["faqs"] = [{"question": f.question, "answer": f.answer} for f in data.faqs or []]
    return changes


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(
        permission_classes=[CatalogAdmin],
        description="Start a new service item, or a new draft version copying the current version of an existing one.",
    )
    async def create_service_item_draft(
        self, info: Info, input: inputs.CreateServiceItemDraftInput
    ) -> CreateServiceItemDraftResult:
        async def run() -> ServiceItemRow:
            return await service.create_draft(
                operator_id=_operator(info),
                service_code=input.service_code,
                handle_item_code=input.handle_item_code,
                name=input.name,
                task_type=input.task_type,
                region_code=input.region_code,
            )

        result: CreateServiceItemDraftResult = await _guard(run)
        return result

    @strawberry.mutation(permission_classes=[CatalogAdmin], description="Edit a DRAFT version, any element group.")
    async def update_service_item_draft(
        self, info: Info, input: inputs.UpdateServiceItemDraftInput
    ) -> UpdateServiceItemDraftResult:
        async def run() -> ServiceItemRow:
            item_id = _item_id(input.service_item_id)
            return await service.update_draft(operator_id=_operator(info), item_id=item_id, changes=_changes(input))

        result: UpdateServiceItemDraftResult = await _guard(run)
        return result

    @strawberry.mutation(permission_classes=[CatalogAdmin], description="DRAFT → IN_REVIEW.")
    async def submit_service_item_for_review(
        self, info: Info, input: inputs.SubmitServiceItemForReviewInput
    ) -> SubmitServiceItemForReviewResult:
        async def run() -> ServiceItemRow:
            return await service.submit_for_review(operator_id=_operator(info), item_id=_item_id(input.service_item_id))

        result: SubmitServiceItemForReviewResult = await _guard(run)
        return result

    @strawberry.mutation(
        permission_classes=[CatalogAdmin],
        description="IN_REVIEW → PUBLISHED after every rule Q01–Q15; the previous version is superseded.",
    )
    async def publish_service_item(self, info: Info, input: inputs.PublishServiceItemInput) -> PublishServiceItemResult:
        async def run() -> ServiceItemRow:
            return await service.publish(
                redis=info.context.identity.redis,
                operator_id=_operator(info),
                item_id=_item_id(input.service_item_id),
                clock=info.context.identity.clock,
            )

        result: PublishServiceItemResult = await _guard(run)
        return result

    @strawberry.mutation(permission_classes=[CatalogAdmin], description="PUBLISHED → SUSPENDED (暂停办理).")
    async def suspend_service_item(self, info: Info, input: inputs.SuspendServiceItemInput) -> SuspendServiceItemResult:
        async def run() -> ServiceItemRow:
            return await service.suspend(
                redis=info.context.identity.redis,
                operator_id=_operator(info),
                item_id=_item_id(input.service_item_id),
                reason=input.reason,
            )

        result: SuspendServiceItemResult = await _guard(run)
        return result

    @strawberry.mutation(permission_classes=[CatalogAdmin], description="SUSPENDED → PUBLISHED.")
    async def resume_service_item(self, info: Info, input: inputs.ResumeServiceItemInput) -> ResumeServiceItemResult:
        async def run() -> ServiceItemRow:
            return await service.resume(
                redis=info.context.identity.redis, operator_id=_operator(info), item_id=_item_id(input.service_item_id)
            )

        result: ResumeServiceItemResult = await _guard(run)
        return result

    @strawberry.mutation(permission_classes=[CatalogAdmin], description="PUBLISHED or SUSPENDED → CANCELLED (取消).")
    async def cancel_service_item(self, info: Info, input: inputs.CancelServiceItemInput) -> CancelServiceItemResult:
        async def run() -> ServiceItemRow:
            return await service.cancel(
                redis=info.context.identity.redis,
                operator_id=_operator(info),
                item_id=_item_id(input.service_item_id),
                reason=input.reason,
                clock=info.context.identity.clock,
            )

        result: CancelServiceItemResult = await _guard(run)
        return result
