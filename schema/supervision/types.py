"""GraphQL types of supervision: efficiency alerts (提示 / 黄牌 / 红牌) and the service metrics."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry

from api.models import AlertLevel
from api.supervision import alerts, metrics
from api.supervision.rules import Rule
from schema.errors import Error


@strawberry.enum(description="监察预警类型: NOTICE 提示, YELLOW 黄牌 (预警), RED 红牌 (问责).")
class EfficiencyAlertLevel(Enum):
    NOTICE = "NOTICE"
    YELLOW = "YELLOW"
    RED = "RED"

    def to_row(self) -> AlertLevel:
        return AlertLevel(self.value)


@strawberry.enum(description="OPEN → ACKNOWLEDGED → RESOLVED (an open alert may be resolved directly).")
class EfficiencyAlertStatus(Enum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"

    def to_service(self) -> alerts.AlertStatus:
        return alerts.AlertStatus(self.value)


@strawberry.enum(description="A violation a supervisor records on a case (domain.md §10.2); each is a 红牌.")
class ViolationRule(Enum):
    REFUSED_COMPLIANT = "REFUSED_COMPLIANT"
    REFUSAL_WITHOUT_REASON = "REFUSAL_WITHOUT_REASON"
    ILLEGAL_FEES = "ILLEGAL_FEES"
    NOT_ONLINE = "NOT_ONLINE"

    def to_rule(self) -> Rule:
        return Rule(f"VIOLATION_{self.value}")


@strawberry.type(description="An efficiency alert on a case or a 差评 rectification.")
class EfficiencyAlert:
    id: strawberry.ID
    level: EfficiencyAlertLevel
    rule_code: str = strawberry.field(description="监察规则编号, e.g. PROMISE_OVERDUE.")
    rule_title: str = strawberry.field(description="The rule in words (督办内容 heading).")
    status: EfficiencyAlertStatus
    reason: str = strawberry.field(description="督办内容: what happened, naming the case or the rectification.")
    raised_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None = strawberry.field(description="监察结果描述, once resolved.")
    application_id: strawberry.ID | None
    project_no: str | None = strawberry.field(description="办件编号 of the case, when the alert is on a case.")
    item_name: str | None
    rectification_id: strawberry.ID | None
    responsible_org_id: strawberry.ID = strawberry.field(description="责任部门.")
    responsible_org_name: str

    @classmethod
    def from_view(cls, view: alerts.AlertView) -> EfficiencyAlert:
        row = view.alert
        return cls(
            id=strawberry.ID(str(row.id)),
            level=EfficiencyAlertLevel(row.level.value),
            rule_code=row.rule_code,
            rule_title=view.rule_title,
            status=EfficiencyAlertStatus(view.status.value),
            reason=row.reason,
            raised_at=row.raised_at,
            acknowledged_at=row.acknowledged_at,
            resolved_at=row.resolved_at,
            resolution=row.resolution or None,
            application_id=strawberry.ID(str(row.application_id)) if row.application_id else None,
            project_no=view.project_no,
            item_name=view.item_name,
            rectification_id=strawberry.ID(str(row.rectification_id)) if row.rectification_id else None,
            responsible_org_id=strawberry.ID(str(row.responsible_org_id)),
            responsible_org_name=view.org_name,
        )


@strawberry.type(description="The alert's status does not allow this step; nothing changed.")
class IllegalAlertStepError(Error):
    status: EfficiencyAlertStatus


@strawberry.type(description="The alert after the step.")
class AlertChanged:
    alert: EfficiencyAlert


@strawberry.type(description="The violation, recorded as a 红牌 alert on the case.")
class ViolationRecorded:
    alert: EfficiencyAlert


@strawberry.type(description="A share: numerator / denominator; `percent` is null when the denominator is 0.")
class MetricRatio:
    numerator: int
    denominator: int
    percent: float | None = strawberry.field(description="Rounded to 2 decimals.")

    @classmethod
    def of(cls, ratio: metrics.Ratio) -> MetricRatio:
        return cls(numerator=ratio.numerator, denominator=ratio.denominator, percent=ratio.percent)


@strawberry.type(description="A configurable target (APP_SUPERVISION__TARGET_…) and whether the scope meets it.")
class MetricTarget:
    name: str = strawberry.field(description="ONLINE_ITEMS_MAX_ONE_VISIT or ONLINE_ITEMS_ZERO_VISIT.")
    target_percent: float
    actual: MetricRatio
    met: bool | None = strawberry.field(description="Null when there is nothing to measure.")


@strawberry.type(description="三率一数 and the A4 indicators of a department, item and period (domain.md §10.3).")
class ServiceMetrics:
    org_id: strawberry.ID | None
    item_id: strawberry.ID | None
    start: date = strawberry.field(name="from")
    end: date = strawberry.field(name="to", description="Inclusive.")
    full_online_items: MetricRatio = strawberry.field(
        description="网上全流程办理率: published items with 网办深度 Ⅳ / published items."
    )
    online_applications: MetricRatio = strawberry.field(
        description="上网办理率: cases applied in the period through an online channel / all applied."
    )
    online_completions: MetricRatio = strawberry.field(
        description="网上办结率: cases completed in the period with the result fed back online / completed."
    )
    mean_item_visits: float | None = strawberry.field(description="到现场次数 per item: mean limit_scene_num.")
    mean_case_visits: float | None = strawberry.field(
        description="到现场次数 per case, A4 减跑动: Σ visits / cases completed in the period."
    )
    zero_visit_cases: MetricRatio = strawberry.field(description="A4 零跑动: completed cases with no visit / N.")
    time_reduction_percent: float | None = strawberry.field(
        description="A4 减时间: mean of (legal − promised) / legal × 100 over items with a legal limit."
    )
    time_reduction_items: int = strawberry.field(description="Items the 减时间 mean is taken over.")
    instant_items: MetricRatio = strawberry.field(description="A4 即办程度: 即办件 items / items.")
    online_items_max_one_visit: MetricRatio = strawberry.field(
        description="Online items (网办深度 Ⅱ or deeper) needing at most one visit."
    )
    online_items_zero_visit: MetricRatio = strawberry.field(description="Online items needing no visit.")
    targets: list[MetricTarget] = strawberry.field(description="At most 2.")

    @classmethod
    def of(cls, m: metrics.ServiceMetrics) -> ServiceMetrics:
        return cls(
            org_id=strawberry.ID(str(m.org_id)) if m.org_id else None,
            item_id=strawberry.ID(str(m.item_id)) if m.item_id else None,
            start=m.start,
            end=m.end,
            full_online_items=MetricRatio.of(m.full_online_items),
            online_applications=MetricRatio.of(m.online_applications),
            online_completions=MetricRatio.of(m.online_completions),
            mean_item_visits=m.mean_item_visits,
            mean_case_visits=m.mean_case_visits,
            zero_visit_cases=MetricRatio.of(m.zero_visit_cases),
            time_reduction_percent=m.time_reduction_percent,
            time_reduction_items=m.time_reduction_items,
            instant_items=MetricRatio.of(m.instant_items),
            online_items_max_one_visit=MetricRatio.of(m.online_items_max_one_visit),
            online_items_zero_visit=MetricRatio.of(m.online_items_zero_visit),
            targets=[
                MetricTarget(name=t.name, target_percent=t.target_percent, actual=MetricRatio.of(t.actual), met=t.met)
                for t in m.targets
            ],
        )
