"""Inputs of the catalog mutations. Omitted fields of `UpdateServiceItemDraftInput` stay as they are; a given
list replaces the whole list."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types.unset import UnsetType

from schema.catalog.types import ApprovalResultType, MaterialForm, MaterialNecessity, MaterialSource, TimeLimitUnit


@strawberry.input
class CreateServiceItemDraftInput:
    service_code: str = strawberry.field(
        description="实施编码: the department's USCC (18) + 行使层级 (1) + 基本编码 (12). An existing code gets a new "
        "draft version copying its current version; name, taskType and regionCode then are ignored."
    )
    handle_item_code: str | None = None
    name: str | None = strawberry.field(default=None, description="Required for a new item.")
    task_type: str | None = strawberry.field(default=None, description="事项类型; defaults to the 基本编码's TT.")
    region_code: str | None = strawberry.field(default=None, description="Defaults to the department's region.")


@strawberry.input
class ServiceItemRef:
    service_item_id: strawberry.ID


@strawberry.input
class SubmitServiceItemForReviewInput(ServiceItemRef):
    pass


@strawberry.input
class PublishServiceItemInput(ServiceItemRef):
    pass


@strawberry.input
class ResumeServiceItemInput(ServiceItemRef):
    pass


@strawberry.input
class SuspendServiceItemInput(ServiceItemRef):
    reason: str


@strawberry.input
class CancelServiceItemInput(ServiceItemRef):
    reason: str


@strawberry.input
class TimeLimitInput:
    value: int = strawberry.field(description="0 means 即办.")
    unit: TimeLimitUnit = TimeLimitUnit.WORKING_DAY
    note: str = ""


@strawberry.input
class ContactInput:
    phone: str = strawberry.field(description="With an area code, e.g. 0991-12345678.")
    note: str = ""


@strawberry.input
class WorkflowStepInput:
    name: str
    roles: list[str] = strawberry.field(default_factory=list)
    sla_working_days: int | None = None


@strawberry.input
class WindowInput:
    name: str
    address: str
    hours: str
    phone: str
    map_url: str = ""
    traffic: str = ""


@strawberry.input
class MaterialInput:
    name: str
    necessity: MaterialNecessity = MaterialNecessity.REQUIRED
    forms: list[MaterialForm] = strawberry.field(default_factory=list)
    original_count: int = 0
    copy_count: int = 0
    paper_spec: str = ""
    source: MaterialSource = MaterialSource.APPLICANT
    issuing_org: str = ""
    issue_time_requirement: str = ""
    by_law: str = ""
    accept_standard: str = ""
    fill_guide: str = ""
    blank_form_file_id: str = ""
    sample_file_id: str = ""
    signature_requirement: str = ""
    elicense_type_codes: list[str] = strawberry.field(default_factory=list)
    allow_commitment: bool = False


@strawberry.input
class SituationOptionInput:
    label: str
    key: str | None = None
    require_materials: list[int] = strawberry.field(
        default_factory=list, description="Material numbers (their position in `materials`, from 1)."
    )
    exclude_materials: list[int] = strawberry.field(default_factory=list)


@strawberry.input
class SituationInput:
    question: str
    options: list[SituationOptionInput]


@strawberry.input
class SpecialProcedureInput:
    kind: str = strawberry.field(description="1 延长审批; 2 other.")
    subtype: str = strawberry.field(description="HEARING, TEST, EXPERT_REVIEW, SITE_INSPECTION or OTHER.")
    max_days: int
    day_unit: TimeLimitUnit = TimeLimitUnit.WORKING_DAY


@strawberry.input
class FeeInput:
    name: str
    standard: str
    amount_fen: str | None = strawberry.field(default=None, description="A fixed fee in fen, decimal digits.")
    by_law: str = ""
    reducible: bool = False
    reduce_basis: str = ""


@strawberry.input
class FaqInput:
    question: str
    answer: str


_U: Any = strawberry.UNSET


@strawberry.input(description="Fields left out stay unchanged; a list given replaces the whole list.")
class UpdateServiceItemDraftInput:
    service_item_id: strawberry.ID
    name: str | None = _U
    task_type: str | None = _U
    by_law: str | None = _U
    power_source: str | None = _U
    dept_type: str | None = _U
    legal_limit: TimeLimitInput | None = _U
    promise_limit: TimeLimitInput | None = _U
    project_type: str | None = strawberry.field(default=_U, description="1 即办件, 2 承诺件, 9 其他.")
    server_types: list[str] | None = strawberry.field(default=_U, description="服务对象 codes 1–6, 9.")
    handle_forms: list[str] | None = strawberry.field(default=_U, description="办理形式 codes 1–4, 9.")
    online_depth_components: list[int] | None = strawberry.field(default=_U, description="Codes 1–7.")
    online_depth_level: int | None = strawberry.field(
        default=_U, description="网办深度 1–4; derived from the components when left out."
    )
    online_url: str | None = _U
    mobile_url: str | None = _U
    visits_required: int | None = strawberry.field(default=_U, description="到现场次数.")
    visits_reason: str | None = strawberry.field(default=_U, description="必须现场办理原因说明.")
    is_schedule: bool | None = _U
    is_pay_online: bool | None = _U
    is_express: bool | None = _U
    is_service_terminal: bool | None = _U
    is_entry_center: bool | None = _U
    handle_area: str | None = _U
    quantity_limit_text: str | None = _U
    intermediary_service: str | None = _U
    min_assurance_level: int | None = _U
    accept_condition: str | None = _U
    handle_flow: str | None = _U
    transact_time: str | None = _U
    consult: ContactInput | None = _U
    supervise: ContactInput | None = _U
    special_procedure_text: str | None = _U
    plain_guide: str | None = _U
    result_name: str | None = _U
    result_type: ApprovalResultType | None = _U
    result_sample_file_id: str | None = _U
    result_is_elicense: bool | None = _U
    elicense_type_code: str | None = _U
    is_fee: bool | None = _U
    fee_basis: str | None = _U
    person_topics: list[str] | None = _U
    corp_topics: list[str] | None = _U
    keywords: list[str] | None = _U
    region_code: str | None = _U
    workflow_steps: list[WorkflowStepInput] | None = _U
    form_version: str | None = _U
    form_schema: strawberry.scalars.JSON | None = _U
    windows: list[WindowInput] | None = strawberry.field(default=_U, description="At most 5.")
    materials: list[MaterialInput] | None = strawberry.field(default=_U, description="At most 15.")
    situations: list[SituationInput] | None = strawberry.field(default=_U, description="At most 3.")
    special_procedures: list[SpecialProcedureInput] | None = strawberry.field(default=_U, description="At most 3.")
    fees: list[FeeInput] | None = strawberry.field(default=_U, description="At most 5.")
    faqs: list[FaqInput] | None = strawberry.field(default=_U, description="At most 10.")


def is_set(value: object) -> bool:
    return not isinstance(value, UnsetType)
