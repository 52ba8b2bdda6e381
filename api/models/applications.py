"""办件 (domain.md §7, §11.4): the application row is a projection of its append-only event log."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from api.models.base import Entity


class ApplicationStatus(StrEnum):
    DRAFT = "DRAFT"  # a sync draft, never stored on an Application row
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


class ApplicationChannel(StrEnum):
    APP = "APP"
    WECHAT_MP = "WECHAT_MP"
    ALIPAY_MP = "ALIPAY_MP"
    H5 = "H5"
    PC = "PC"
    WINDOW = "WINDOW"


class TimerState(StrEnum):
    NORMAL = "NORMAL"
    NEAR_DUE = "NEAR_DUE"
    YELLOW = "YELLOW"
    RED = "RED"
    PAUSED = "PAUSED"


class DeliveryMethod(StrEnum):
    PICKUP = "PICKUP"
    EMS = "EMS"
    ELECTRONIC = "ELECTRONIC"


class DeliveryStatus(StrEnum):
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    SHIPPED = "SHIPPED"
    RECEIVED = "RECEIVED"
    E_DELIVERED = "E_DELIVERED"


class EvaluationStatus(StrEnum):
    PENDING = "PENDING"
    RATED = "RATED"
    RECTIFYING = "RECTIFYING"
    RECTIFIED = "RECTIFIED"
    EXPIRED_UNRATED = "EXPIRED_UNRATED"


class ProvidedVia(StrEnum):
    UPLOAD = "UPLOAD"
    ELICENSE = "ELICENSE"
    DATA_SHARING = "DATA_SHARING"
    COMMITMENT = "COMMITMENT"
    PAPER_AT_WINDOW = "PAPER_AT_WINDOW"
    REUSED = "REUSED"


class EventType(StrEnum):
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


class ActorType(StrEnum):
    APPLICANT = "APPLICANT"
    STAFF = "STAFF"
    SYSTEM = "SYSTEM"


class Application(Entity):
    project_no = fields.CharField(max_length=50, unique=True, null=True)
    draft_id = fields.UUIDField(unique=True, null=True)
    content_hash = fields.CharField(max_length=64, null=True)
    idempotency_key = fields.CharField(max_length=64, null=True)
    submitted_by_person_id = fields.UUIDField(db_index=True)
    service_item_id = fields.UUIDField(db_index=True)
    service_item_version = fields.IntField()
    task_code = fields.CharField(max_length=36)
    item_name = fields.CharField(max_length=200)
    bundle_application_id = fields.UUIDField(null=True, db_index=True)
    applicant_type = fields.CharField(max_length=1)
    applicant_person_id = fields.UUIDField(null=True, db_index=True)
    applicant_enterprise_id = fields.UUIDField(null=True, db_index=True)
    applicant_name = fields.CharField(max_length=200)
    applicant_id_type = fields.CharField(max_length=3)
    applicant_id_no_hash = fields.CharField(max_length=64, default="")
    agent_person_id = fields.UUIDField(null=True, db_index=True)
    legal_rep_name = fields.CharField(max_length=64, default="")
    contact_name = fields.CharField(max_length=64, default="")
    contact_mobile = fields.CharField(max_length=11, default="")
    address = fields.CharField(max_length=300, default="")
    postcode = fields.CharField(max_length=6, default="")
    investment_project_no = fields.CharField(max_length=50, null=True)
    channel = fields.CharEnumField(ApplicationChannel, max_length=10)
    region_code = fields.CharField(max_length=12)
    accepting_org_id = fields.UUIDField(db_index=True)
    status = fields.CharEnumField(ApplicationStatus, max_length=20, db_index=True)
    resume_status = fields.CharEnumField(ApplicationStatus, max_length=20, null=True)
    timer_state = fields.CharEnumField(TimerState, max_length=10, default=TimerState.NORMAL)
    project_type = fields.CharField(max_length=1)
    apply_time = fields.DatetimeField()
    accept_time = fields.DatetimeField(null=True)
    accept_doc_no = fields.CharField(max_length=64, null=True)
    promise_date = fields.DateField(null=True)
    legal_date = fields.DateField(null=True)
    current_step = fields.CharField(max_length=20, null=True)
    step_due_date = fields.DateField(null=True)
    paused_since = fields.DatetimeField(null=True)
    paused_minutes = fields.IntField(default=0)
    supplement_rounds = fields.SmallIntField(default=0)
    decision = fields.CharField(max_length=10, null=True)  # APPROVED | REJECTED once DECIDED
    result_time = fields.DatetimeField(null=True)
    result_code = fields.SmallIntField(null=True)
    result_reason = fields.TextField(default="")
    result_summary = fields.TextField(default="")
    result_licence_ids = fields.JSONField[list[str]](default=list)
    delivery_method = fields.CharEnumField(DeliveryMethod, max_length=10, null=True)
    delivery_status = fields.CharEnumField(DeliveryStatus, max_length=20, null=True)
    visits_count = fields.SmallIntField(default=0)
    evaluation_status = fields.CharEnumField(EvaluationStatus, max_length=20, null=True)
    rating_due_at = fields.DatetimeField(null=True)
    form_version = fields.CharField(max_length=64, default="")
    form_data = fields.JSONField[dict[str, Any]](default=dict)
    query_password_hash = fields.CharField(max_length=200, default="")
    last_seq = fields.IntField(default=0)
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "application"
        unique_together = (("submitted_by_person_id", "idempotency_key"),)
        indexes = (("applicant_person_id", "apply_time"), ("accepting_org_id", "status"))


class BundleApplication(Entity):
    bundle_id = fields.UUIDField(db_index=True)
    submitted_by_person_id = fields.UUIDField(db_index=True)
    idempotency_key = fields.CharField(max_length=64, null=True)
    applicant_person_id = fields.UUIDField(null=True)
    applicant_enterprise_id = fields.UUIDField(null=True)
    applicant_name = fields.CharField(max_length=200)
    form_data = fields.JSONField[dict[str, Any]](default=dict)
    submitted_at = fields.DatetimeField()
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "bundle_application"
        unique_together = (("submitted_by_person_id", "idempotency_key"),)


class ApplicationMaterial(Entity):
    application_id = fields.UUIDField(db_index=True)
    requirement_id = fields.UUIDField(null=True)
    name = fields.CharField(max_length=200)
    provided_via = fields.CharEnumField(ProvidedVia, max_length=16)
    trust_grade = fields.CharField(max_length=1)
    elicense_id = fields.UUIDField(null=True)
    file_id = fields.CharField(max_length=200, default="")
    received = fields.BooleanField(default=True)
    receive_mode = fields.CharField(max_length=16, default="ELECTRONIC")
    receive_count = fields.SmallIntField(default=1)
    receive_time = fields.DatetimeField(null=True)
    supplement_round = fields.SmallIntField(default=0)
    verified_by = fields.CharField(max_length=100, default="")
    verified_at = fields.DatetimeField(null=True)

    class Meta:
        table = "application_material"


class ApplicationEvent(Model):
    """Append-only, never updated or deleted. `seq` is the outbox state_version of its transition."""

    id = fields.UUIDField(primary_key=True)
    application_id = fields.UUIDField()
    seq = fields.IntField()
    event_type = fields.CharEnumField(EventType, max_length=24)
    from_status = fields.CharEnumField(ApplicationStatus, max_length=20, null=True)
    to_status = fields.CharEnumField(ApplicationStatus, max_length=20, null=True)
    step_name = fields.CharField(max_length=40, default="")
    actor_type = fields.CharEnumField(ActorType, max_length=10)
    actor_id = fields.UUIDField(null=True)
    actor_name = fields.CharField(max_length=100, default="")
    org_uscc = fields.CharField(max_length=18, default="")
    action_result = fields.CharField(max_length=6, default="OTHER")  # PASS | RETURN | OTHER
    opinion = fields.TextField(default="")
    detail = fields.JSONField[dict[str, Any]](default=dict)
    started_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)
    step_state = fields.CharField(max_length=4, default="DONE")  # TODO | DONE

    class Meta:
        table = "application_event"
        unique_together = (("application_id", "seq"),)


class SupplementRequest(Entity):
    application_id = fields.UUIDField(db_index=True)
    round = fields.SmallIntField()
    items = fields.JSONField[list[dict[str, Any]]](default=list)
    before_acceptance = fields.BooleanField(default=False)
    notified_at = fields.DatetimeField()
    due_at = fields.DatetimeField(db_index=True)
    fulfilled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "supplement_request"
        unique_together = (("application_id", "round"),)


class SpecialProcedure(Entity):
    application_id = fields.UUIDField(db_index=True)
    kind = fields.CharField(max_length=1)
    subtype = fields.CharField(max_length=20)
    reason_basis = fields.TextField(default="")
    requested_by = fields.CharField(max_length=100, default="")
    started_at = fields.DatetimeField()
    planned_days = fields.SmallIntField()
    ended_at = fields.DatetimeField(null=True)
    result = fields.TextField(default="")
    opinion = fields.TextField(default="")
    handler = fields.CharField(max_length=100, default="")

    class Meta:
        table = "special_procedure"


class ResultDelivery(Entity):
    application_id = fields.UUIDField(db_index=True)
    method = fields.CharEnumField(DeliveryMethod, max_length=10)
    carrier = fields.CharField(max_length=20, default="")
    waybill_no = fields.CharField(max_length=40, default="")
    sender_org_id = fields.UUIDField(null=True)
    sent_at = fields.DatetimeField(null=True)
    receiver_name = fields.CharField(max_length=64, default="")
    receiver_mobile = fields.CharField(max_length=11, default="")
    address = fields.CharField(max_length=300, default="")
    received_at = fields.DatetimeField(null=True)
    status = fields.CharEnumField(DeliveryStatus, max_length=20)

    class Meta:
        table = "result_delivery"


class DailySequence(Model):
    """The 办件编号 counter per (实施编码, Asia/Shanghai date), allocated by an atomic upsert."""

    id = fields.IntField(primary_key=True)
    task_code = fields.CharField(max_length=36)
    date = fields.DateField()
    last_value = fields.IntField(default=0)

    class Meta:
        table = "daily_sequence"
        unique_together = (("task_code", "date"),)
