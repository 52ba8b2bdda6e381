"""好差评 (domain.md §9, §11.6): one immutable rating per (application, service moment), and the 差评 loop."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields

from api.models.base import Entity


class ServiceMoment(StrEnum):
    CONSULT = "CONSULT"
    APPLY = "APPLY"
    SUPPLEMENT = "SUPPLEMENT"
    PAY = "PAY"
    SIGN = "SIGN"
    COMPLETE = "COMPLETE"


class RectificationStatus(StrEnum):
    PENDING_CALLBACK = "PENDING_CALLBACK"
    VERIFYING = "VERIFYING"
    RECTIFYING = "RECTIFYING"
    EXPLAINED = "EXPLAINED"
    APPEALED = "APPEALED"
    CLOSED = "CLOSED"


class RectificationCategory(StrEnum):
    IMMEDIATE = "IMMEDIATE"
    LEDGER_DEADLINE = "LEDGER_DEADLINE"
    NO_LEGAL_BASIS = "NO_LEGAL_BASIS"
    MISJUDGED = "MISJUDGED"


class Evaluation(Entity):
    application_id = fields.UUIDField(null=True)
    service_moment = fields.CharEnumField(ServiceMoment, max_length=12)
    channel = fields.CharField(max_length=16)
    rater_person_id = fields.UUIDField(null=True, db_index=True)
    real_name = fields.BooleanField(default=True)
    satisfaction_code = fields.SmallIntField()
    indicator_scores = fields.JSONField[dict[str, int]](default=dict)
    selected_reasons = fields.JSONField[list[str]](default=list)
    text = fields.TextField(default="")
    form_version = fields.CharField(max_length=16)
    evaluated_at = fields.DatetimeField()
    target_org_id = fields.UUIDField(db_index=True)
    target_org_uscc = fields.CharField(max_length=18)
    target_staff_id = fields.UUIDField(null=True)
    service_item_id = fields.UUIDField(null=True, db_index=True)
    excluded_from_stats = fields.BooleanField(default=False)
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "evaluation"
        unique_together = (("application_id", "service_moment"),)


class Rectification(Entity):
    evaluation_id = fields.UUIDField(unique=True)
    assigned_org_id = fields.UUIDField(db_index=True)
    status = fields.CharEnumField(RectificationStatus, max_length=20, db_index=True)
    callback_due_at = fields.DatetimeField(null=True)
    callback_at = fields.DatetimeField(null=True)
    callback_result = fields.TextField(default="")
    category = fields.CharEnumField(RectificationCategory, max_length=20, null=True)
    due_at = fields.DatetimeField()
    rectification_text = fields.TextField(default="")
    feedback_text = fields.TextField(default="")
    feedback_at = fields.DatetimeField(null=True)
    rater_feedback_satisfaction = fields.CharField(max_length=24, null=True)
    reopen_count = fields.SmallIntField(default=0)
    escalated = fields.BooleanField(default=False)
    appeal = fields.JSONField[dict[str, Any]](null=True)
    closed_at = fields.DatetimeField(null=True)
    history = fields.JSONField[list[dict[str, Any]]](default=list)
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "rectification"
