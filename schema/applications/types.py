"""GraphQL types of 办件 (applications), shared by the applicant and the operator side.

How to return an application from any resolver (applicant queries, H2's operator mutations alike):

    from api.applications import reading
    from schema.applications.types import Application

    view = await reading.view_by_id(app_id, reading.Viewer.OPERATOR)   # or reading.view_of(row, viewer, db)
    return Application.from_view(view)

`from_view` takes the plain `reading.ApplicationView` and nothing else, so that the type never loads data itself
(no N+1, no ORM in schema/). `allowedActions` depends on the view's `viewer`. Lists use `ApplicationSummary`
(`ApplicationSummary.from_row`), which carries no timeline or materials. `IllegalTransitionError` (GraphQL name
`ApplicationTransitionError`: the catalog owns `IllegalTransitionError`) is the typed error of a transition the
lifecycle table refuses; `illegal_transition(exc)` builds it.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import cast

import strawberry
from strawberry.scalars import JSON

from api.applications import reading, transitions
from api.kit.pii import mask_phone
from api.models import Application as ApplicationRow
from api.models import ResultDelivery, SpecialProcedure
from schema.errors import Error


@strawberry.enum(description="办件状态: the 13 statuses of domain.md §7.2 (DRAFT never appears on an application).")
class ApplicationStatus(Enum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    PRECHECK_RETURNED = "PRECHECK_RETURNED"
    PENDING_ACCEPTANCE = "PENDING_ACCEPTANCE"
    SUPPLEMENT_REQUIRED = "SUPPLEMENT_REQUIRED"
    NOT_ACCEPTED = "NOT_ACCEPTED"
    IN_PROGRESS = "IN_PROGRESS"
    SPECIAL_PROCEDURE = "SPECIAL_PROCEDURE"
    PENDING_PAYMENT = "PENDING_PAYMENT"
    DECIDED = "DECIDED"
    COMPLETED = "COMPLETED"
    WITHDRAWN = "WITHDRAWN"
    TERMINATED = "TERMINATED"


@strawberry.enum(description="申报来源: where the application was made. PC and WINDOW are recorded by other systems.")
class ApplicationChannel(Enum):
    APP = "APP"
    WECHAT_MP = "WECHAT_MP"
    ALIPAY_MP = "ALIPAY_MP"
    H5 = "H5"
    PC = "PC"
    WINDOW = "WINDOW"


@strawberry.enum(description="Deadline state: 正常, 临期 (提示), 黄牌, 红牌 (超期), 暂停 (clock paused).")
class ApplicationTimerState(Enum):
    NORMAL = "NORMAL"
    NEAR_DUE = "NEAR_DUE"
    YELLOW = "YELLOW"
    RED = "RED"
    PAUSED = "PAUSED"


@strawberry.enum(description="Result delivery: 待领取, 已寄出 (EMS), 已签收, 已电子送达 (to the licence wallet).")
class ResultDeliveryStatus(Enum):
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    SHIPPED = "SHIPPED"
    RECEIVED = "RECEIVED"
    E_DELIVERED = "E_DELIVERED"


@strawberry.enum(description="How the result reaches the applicant: window pickup, EMS, or electronically.")
class ResultDeliveryMethod(Enum):
    PICKUP = "PICKUP"
    EMS = "EMS"
    ELECTRONIC = "ELECTRONIC"


@strawberry.enum(description="好差评 state: 待评价, 已评价, 差评整改中, 已整改, 逾期未评价 (never counted as good).")
class ApplicationEvaluationStatus(Enum):
    PENDING = "PENDING"
    RATED = "RATED"
    RECTIFYING = "RECTIFYING"
    RECTIFIED = "RECTIFIED"
    EXPIRED_UNRATED = "EXPIRED_UNRATED"


@strawberry.enum(
    description="How a material was provided: upload, wallet licence (grade A), data sharing (A), 告知承诺 (D), "
    "paper at the window, or a previously verified material (B)."
)
class MaterialProvidedVia(Enum):
    UPLOAD = "UPLOAD"
    ELICENSE = "ELICENSE"
    DATA_SHARING = "DATA_SHARING"
    COMMITMENT = "COMMITMENT"
    PAPER_AT_WINDOW = "PAPER_AT_WINDOW"
    REUSED = "REUSED"


@strawberry.enum(description="Timeline entry types of an application (domain.md §7.5).")
class ApplicationEventType(Enum):
    SUBMIT = "SUBMIT"
    PRECHECK_PASS = "PRECHECK_PASS"  # noqa: S105 (an event name, not a password)
    PRECHECK_RETURN = "PRECHECK_RETURN"
    RECEIVE = "RECEIVE"
    ACCEPT = "ACCEPT"
    NOT_ACCEPT = "NOT_ACCEPT"
    SUPPLEMENT_NOTICE = "SUPPLEMENT_NOTICE"
    SUPPLEMENT_DONE = "SUPPLEMENT_DONE"
    STEP = "STEP"
    SPECIAL_START = "SPECIAL_START"
    SPECIAL_END = "SPECIAL_END"
    FEE_NOTICE = "FEE_NOTICE"
    PAID = "PAID"
    DECIDE = "DECIDE"
    ISSUE_LICENCE = "ISSUE_LICENCE"
    COMPLETE = "COMPLETE"
    WITHDRAW = "WITHDRAW"
    TERMINATE = "TERMINATE"
    DELIVERY_READY = "DELIVERY_READY"
    DELIVERY_SHIPPED = "DELIVERY_SHIPPED"
    DELIVERY_RECEIVED = "DELIVERY_RECEIVED"
    DELIVERY_ELECTRONIC = "DELIVERY_ELECTRONIC"
    URGE = "URGE"
    VISIT = "VISIT"


@strawberry.enum(description="Who recorded a timeline entry.")
class ApplicationActorType(Enum):
    APPLICANT = "APPLICANT"
    STAFF = "STAFF"
    SYSTEM = "SYSTEM"


@strawberry.type(
    name="ApplicationTransitionError",
    description="The lifecycle table does not allow this in the application's current status (code "
    "ILLEGAL_TRANSITION). Nothing changed.",
)
class IllegalTransitionError(Error):
    status: ApplicationStatus
    allowed_events: list[str] = strawberry.field(description="Events allowed in the current status")


def illegal_transition(exc: transitions.IllegalTransition) -> IllegalTransitionError:
    return IllegalTransitionError(
        code=exc.code,
        message=exc.message,
        path=exc.path,
        status=ApplicationStatus(exc.status.value),
        allowed_events=list(exc.allowed),
    )


@strawberry.type(description="服务对象: who the application is for (masked contact data).")
class ApplicantSummary:
    type: str = strawberry.field(description="申请人类型: 1 自然人, 2 企业法人 …")
    name: str
    person_id: strawberry.ID | None
    enterprise_id: strawberry.ID | None
    agent_person_id: strawberry.ID | None = strawberry.field(description="The agent who submitted it, if not self")
    contact_name: str
    contact_mobile: str = strawberry.field(description="Masked: 199****0001")


@strawberry.type(description="One material of the application and how it was provided.")
class ApplicationMaterial:
    id: strawberry.ID
    requirement_id: strawberry.ID | None
    name: str
    provided_via: MaterialProvidedVia
    trust_grade: str = strawberry.field(description="A, B, C or D (domain.md §8.2)")
    license_id: strawberry.ID | None = strawberry.field(description="The wallet licence used (ELICENSE)")
    license_name: str | None
    license_identifier: str | None = strawberry.field(description="电子证照标识 of that licence")
    file_id: str | None
    supplement_round: int = strawberry.field(description="0 at submission, else the 补正 round it answered")


@strawberry.type(description="One item of a 一次性告知: what is missing and why.")
class SupplementItem:
    requirement_id: strawberry.ID | None
    name: str
    reason: str


@strawberry.type(description="A 补正 round (一次性告知), open until answered or until `dueAt`.")
class SupplementRequest:
    id: strawberry.ID
    round: int
    items: list[SupplementItem] = strawberry.field(description="At most 30")
    before_acceptance: bool
    notified_at: datetime
    due_at: datetime
    fulfilled_at: datetime | None


@strawberry.type(description="特别程序 (clock suspended while open).")
class ApplicationSpecialProcedure:
    id: strawberry.ID
    kind: str = strawberry.field(description="1 延长审批, 2 其他 (GB/T 39046 A.7)")
    subtype: str
    reason_basis: str
    started_at: datetime
    planned_days: int
    ended_at: datetime | None
    result: str
    opinion: str


@strawberry.type(description="How the result was delivered (物流送达).")
class ResultDeliveryRecord:
    id: strawberry.ID
    method: ResultDeliveryMethod
    status: ResultDeliveryStatus
    carrier: str
    waybill_no: str
    sent_at: datetime | None
    receiver_name: str
    address: str
    received_at: datetime | None


@strawberry.type(description="One entry of the append-only timeline.")
class ApplicationEvent:
    seq: int
    type: ApplicationEventType
    from_status: ApplicationStatus | None
    to_status: ApplicationStatus | None
    step_name: str
    actor_type: ApplicationActorType
    actor_name: str
    action_result: str = strawberry.field(description="PASS, RETURN or OTHER")
    opinion: str
    at: datetime


def _status(value: object) -> ApplicationStatus:
    return ApplicationStatus(str(getattr(value, "value", value)))


def _optional_status(value: object | None) -> ApplicationStatus | None:
    return None if value is None else _status(value)


def _id(value: object | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


def _applicant(app: ApplicationRow) -> ApplicantSummary:
    return ApplicantSummary(
        type=app.applicant_type,
        name=app.applicant_name,
        person_id=_id(app.applicant_person_id),
        enterprise_id=_id(app.applicant_enterprise_id),
        agent_person_id=_id(app.agent_person_id),
        contact_name=app.contact_name,
        contact_mobile=mask_phone(app.contact_mobile) if app.contact_mobile else "",
    )


def _special(row: SpecialProcedure) -> ApplicationSpecialProcedure:
    return ApplicationSpecialProcedure(
        id=strawberry.ID(str(row.id)),
        kind=row.kind,
        subtype=row.subtype,
        reason_basis=row.reason_basis,
        started_at=row.started_at,
        planned_days=row.planned_days,
        ended_at=row.ended_at,
        result=row.result,
        opinion=row.opinion,
    )


def _delivery(row: ResultDelivery) -> ResultDeliveryRecord:
    return ResultDeliveryRecord(
        id=strawberry.ID(str(row.id)),
        method=ResultDeliveryMethod(row.method.value),
        status=ResultDeliveryStatus(row.status.value),
        carrier=row.carrier,
        waybill_no=row.waybill_no,
        sent_at=row.sent_at,
        receiver_name=row.receiver_name,
        address=row.address,
        received_at=row.received_at,
    )


def _supplement(view: reading.SupplementView) -> SupplementRequest:
    return SupplementRequest(
        id=strawberry.ID(str(view.id)),
        round=view.round,
        items=[
            SupplementItem(requirement_id=_id(i.requirement_id), name=i.name, reason=i.reason) for i in view.items[:30]
        ],
        before_acceptance=view.before_acceptance,
        notified_at=view.notified_at,
        due_at=view.due_at,
        fulfilled_at=view.fulfilled_at,
    )


def _material(view: reading.MaterialView) -> ApplicationMaterial:
    return ApplicationMaterial(
        id=strawberry.ID(str(view.id)),
        requirement_id=_id(view.requirement_id),
        name=view.name,
        provided_via=MaterialProvidedVia(view.provided_via),
        trust_grade=view.trust_grade,
        license_id=_id(view.elicense_id),
        license_name=view.licence_name,
        license_identifier=view.licence_identifier,
        file_id=view.file_id or None,
        supplement_round=view.supplement_round,
    )


def _event(view: reading.EventView) -> ApplicationEvent:
    return ApplicationEvent(
        seq=view.seq,
        type=ApplicationEventType(view.type.value),
        from_status=_optional_status(view.from_status),
        to_status=_optional_status(view.to_status),
        step_name=view.step_name,
        actor_type=ApplicationActorType(view.actor_type),
        actor_name=view.actor_name,
        action_result=view.action_result,
        opinion=view.opinion,
        at=view.at,
    )


@strawberry.type(description="办件: one application with its materials, 补正 rounds and full timeline.")
class Application:
    id: strawberry.ID
    project_no: str | None = strawberry.field(description="办件编号: 实施编码 + yyyyMMdd + 4-digit sequence")
    service_code: str = strawberry.field(description="实施编码 of the item applied for")
    item_name: str
    version: int = strawberry.field(description="The item version the application started on")
    status: ApplicationStatus
    status_label: str = strawberry.field(description="Citizen-facing label: 待预审, 预审退回, 待补正, 审批中, 已办结")
    project_type: str = strawberry.field(description="办件类型: 1 即办件, 2 承诺件")
    timer_state: ApplicationTimerState
    delivery_status: ResultDeliveryStatus | None
    delivery_method: ResultDeliveryMethod | None
    evaluation_status: ApplicationEvaluationStatus | None
    channel: ApplicationChannel
    applicant: ApplicantSummary
    apply_time: datetime
    accept_time: datetime | None
    accept_doc_no: str | None = strawberry.field(description="受理文书编号")
    promise_date: date | None = strawberry.field(description="承诺办结日期 (moves while the clock is paused)")
    legal_date: date | None
    current_step: str | None
    supplement_rounds: int
    decision: str | None = strawberry.field(description="APPROVED or REJECTED once decided")
    result_code: int | None = strawberry.field(description="办结结果 0–6 (domain.md §7.4)")
    result_reason: str
    result_time: datetime | None
    result_license_ids: list[strawberry.ID] = strawberry.field(description="Licences issued as the result, at most 10")
    materials: list[ApplicationMaterial] = strawberry.field(description="At most 20")
    open_supplement: SupplementRequest | None = strawberry.field(description="The 补正 round awaiting an answer")
    supplements: list[SupplementRequest] = strawberry.field(description="Every 补正 round, oldest first, at most 10")
    special_procedures: list[ApplicationSpecialProcedure] = strawberry.field(description="At most 10")
    deliveries: list[ResultDeliveryRecord] = strawberry.field(description="At most 5")
    form_data: JSON
    form_version: str
    timeline: list[ApplicationEvent] = strawberry.field(
        description="The timeline in `seq` order: every entry, or the latest ones when there are more, at most 60"
    )
    timeline_total: int = strawberry.field(description="Entries in the whole timeline (`seq` of the latest)")
    allowed_actions: list[str] = strawberry.field(
        description="For an applicant: WITHDRAW, RESUBMIT, SUPPLEMENT; for an operator: the events allowed now; "
        "at most 30"
    )

    @classmethod
    def from_view(cls, view: reading.ApplicationView) -> Application:
        app = view.app
        open_round = view.open_supplement
        return cls(
            id=strawberry.ID(str(app.id)),
            project_no=app.project_no,
            service_code=app.task_code,
            item_name=app.item_name,
            version=app.service_item_version,
            status=_status(app.status),
            status_label=transitions.citizen_label(app.status),
            project_type=app.project_type,
            timer_state=ApplicationTimerState(app.timer_state.value),
            delivery_status=ResultDeliveryStatus(app.delivery_status.value) if app.delivery_status else None,
            delivery_method=ResultDeliveryMethod(app.delivery_method.value) if app.delivery_method else None,
            evaluation_status=(
                ApplicationEvaluationStatus(app.evaluation_status.value) if app.evaluation_status else None
            ),
            channel=ApplicationChannel(app.channel.value),
            applicant=_applicant(app),
            apply_time=app.apply_time,
            accept_time=app.accept_time,
            accept_doc_no=app.accept_doc_no,
            promise_date=app.promise_date,
            legal_date=app.legal_date,
            current_step=app.current_step,
            supplement_rounds=app.supplement_rounds,
            decision=app.decision,
            result_code=app.result_code,
            result_reason=app.result_reason,
            result_time=app.result_time,
            result_license_ids=[strawberry.ID(i) for i in app.result_licence_ids[:10]],
            materials=[_material(m) for m in view.materials[:20]],
            open_supplement=_supplement(open_round) if open_round else None,
            supplements=[_supplement(s) for s in view.supplements[-10:]],
            special_procedures=[_special(s) for s in view.specials[-10:]],
            deliveries=[_delivery(d) for d in view.deliveries[-5:]],
            form_data=cast(JSON, app.form_data),
            form_version=app.form_version,
            timeline=[_event(e) for e in view.timeline],
            timeline_total=app.last_seq,
            allowed_actions=view.allowed_actions,
        )


@strawberry.type(description="办件 in a list: status and key dates, without materials or timeline.")
class ApplicationSummary:
    id: strawberry.ID
    project_no: str | None
    service_code: str
    item_name: str
    status: ApplicationStatus
    status_label: str
    timer_state: ApplicationTimerState
    evaluation_status: ApplicationEvaluationStatus | None
    delivery_status: ResultDeliveryStatus | None
    channel: ApplicationChannel
    applicant_name: str
    apply_time: datetime
    promise_date: date | None
    result_code: int | None
    result_time: datetime | None

    @classmethod
    def from_row(cls, app: ApplicationRow) -> ApplicationSummary:
        return cls(
            id=strawberry.ID(str(app.id)),
            project_no=app.project_no,
            service_code=app.task_code,
            item_name=app.item_name,
            status=_status(app.status),
            status_label=transitions.citizen_label(app.status),
            timer_state=ApplicationTimerState(app.timer_state.value),
            evaluation_status=(
                ApplicationEvaluationStatus(app.evaluation_status.value) if app.evaluation_status else None
            ),
            delivery_status=ResultDeliveryStatus(app.delivery_status.value) if app.delivery_status else None,
            channel=ApplicationChannel(app.channel.value),
            applicant_name=app.applicant_name,
            apply_time=app.apply_time,
            promise_date=app.promise_date,
            result_code=app.result_code,
            result_time=app.result_time,
        )
