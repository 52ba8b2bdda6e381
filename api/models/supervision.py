"""效能监察 (domain.md §10, §11.6): the working-day calendar and the 提示 / 黄牌 / 红牌 alerts."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from api.models.base import Entity


class DayKind(StrEnum):
    HOLIDAY = "HOLIDAY"
    ADJUSTED_WORKDAY = "ADJUSTED_WORKDAY"
    WEEKEND = "WEEKEND"
    WORKDAY = "WORKDAY"


class AlertLevel(StrEnum):
    NOTICE = "NOTICE"
    YELLOW = "YELLOW"
    RED = "RED"


class WorkingCalendar(Model):
    """A day that differs from Monday–Friday. A regional row overrides the national one (region '')."""

    id = fields.IntField(primary_key=True)
    date = fields.DateField()
    region_code = fields.CharField(max_length=12, default="")
    is_working_day = fields.BooleanField()
    kind = fields.CharEnumField(DayKind, max_length=20)
    name = fields.CharField(max_length=40, default="")
    source = fields.CharField(max_length=20, default="NOTICE")  # NOTICE | PROVISIONAL

    class Meta:
        table = "working_calendar"
        unique_together = (("date", "region_code"),)


class EfficiencyAlert(Entity):
    application_id = fields.UUIDField(null=True, db_index=True)
    rectification_id = fields.UUIDField(null=True, db_index=True)
    rule_code = fields.CharField(max_length=32)
    level = fields.CharEnumField(AlertLevel, max_length=8)
    dedupe_key = fields.CharField(max_length=120, unique=True)
    raised_at = fields.DatetimeField()
    reason = fields.TextField()
    responsible_org_id = fields.UUIDField(db_index=True)
    acknowledged_at = fields.DatetimeField(null=True)
    acknowledged_by = fields.UUIDField(null=True)
    resolved_at = fields.DatetimeField(null=True)
    resolved_by = fields.UUIDField(null=True)
    resolution = fields.TextField(default="")
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "efficiency_alert"
