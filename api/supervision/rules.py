"""The 监察规则 of domain.md §10.2: a stable code per rule, its level and the 督办内容 shown to people."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from api.models import AlertLevel


class Rule(StrEnum):
    PROMISE_NEAR_DUE = "PROMISE_NEAR_DUE"
    STEP_OVERDUE = "STEP_OVERDUE"
    CALLBACK_OVERDUE = "CALLBACK_OVERDUE"
    PROMISE_OVERDUE = "PROMISE_OVERDUE"
    INSTANT_OVERDUE = "INSTANT_OVERDUE"
    RECTIFICATION_OVERDUE = "RECTIFICATION_OVERDUE"
    RECTIFICATION_ESCALATED = "RECTIFICATION_ESCALATED"
    # recorded by a supervisor (recordViolation)
    VIOLATION_REFUSED_COMPLIANT = "VIOLATION_REFUSED_COMPLIANT"
    VIOLATION_REFUSAL_WITHOUT_REASON = "VIOLATION_REFUSAL_WITHOUT_REASON"
    VIOLATION_ILLEGAL_FEES = "VIOLATION_ILLEGAL_FEES"
    VIOLATION_NOT_ONLINE = "VIOLATION_NOT_ONLINE"


@dataclass(frozen=True)
class RuleInfo:
    level: AlertLevel
    title: str


RULES: dict[Rule, RuleInfo] = {
    Rule.PROMISE_NEAR_DUE: RuleInfo(AlertLevel.NOTICE, "距承诺办结时间仅剩一个工作日"),
    Rule.STEP_OVERDUE: RuleInfo(AlertLevel.YELLOW, "办理环节超过环节时限"),
    Rule.CALLBACK_OVERDUE: RuleInfo(AlertLevel.YELLOW, "实名差评回访超期"),
    Rule.PROMISE_OVERDUE: RuleInfo(AlertLevel.RED, "超过承诺办结时间未办结"),
    Rule.INSTANT_OVERDUE: RuleInfo(AlertLevel.RED, "即办件未当场办结"),
    Rule.RECTIFICATION_OVERDUE: RuleInfo(AlertLevel.RED, "差评整改超期"),
    Rule.RECTIFICATION_ESCALATED: RuleInfo(AlertLevel.RED, "差评整改经评价人两次不满意，提级督办"),
    Rule.VIOLATION_REFUSED_COMPLIANT: RuleInfo(AlertLevel.RED, "对符合法定条件的申请不予受理"),
    Rule.VIOLATION_REFUSAL_WITHOUT_REASON: RuleInfo(AlertLevel.RED, "不予受理或不予许可未说明理由"),
    Rule.VIOLATION_ILLEGAL_FEES: RuleInfo(AlertLevel.RED, "违规收费"),
    Rule.VIOLATION_NOT_ONLINE: RuleInfo(AlertLevel.RED, "具备网上办理条件的事项未网上办理"),
}

VIOLATIONS = frozenset(r for r in Rule if r.value.startswith("VIOLATION_"))
