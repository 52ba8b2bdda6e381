"""Seeded ratings, 差评 rectifications in every loop state, and the alerts the deadline scan would have raised."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from api.models import (
    Application,
    EfficiencyAlert,
    Evaluation,
    EvaluationStatus,
    Organization,
    Rectification,
    RectificationCategory,
    RectificationStatus,
    ServiceMoment,
)
from api.ratings import forms
from api.seed.cases import Applicant, enterprise, resident
from api.seed.context import SeedContext, seed_id
from api.supervision.raising import Candidate, app_key, raise_alerts, rect_key
from api.supervision.rules import Rule

# (case label, item, applicant) of the completed cases rated 差评; their rectification states follow in LOOPS.
BAD_CASES: tuple[tuple[str, str, Applicant], ...] = (
    ("bad-pending-callback", "社保卡申领", resident(2)),
    ("bad-verifying", "失业保险金申领", resident(9)),
    ("bad-rectifying", "出生登记", resident(11)),
    ("bad-explained", "户口迁移", resident(5)),
    ("bad-appealed", "高龄津贴", resident(3)),
    ("bad-closed", "最低生活保障", resident(1)),
    ("bad-escalated", "营业执照变更登记", enterprise("keji")),
)


def _opened(at: datetime, now_status: RectificationStatus) -> dict[str, Any]:
    """The first history entry, as ratings writes it; later steps are summarised by the seeded state."""
    return {
        "at": at.isoformat(),
        "action": "OPENED",
        "actorKind": "SYSTEM",
        "actorId": None,
        "actorName": "系统",
        "from": None,
        "to": RectificationStatus.PENDING_CALLBACK.value,
        "seededState": now_status.value,
    }


def _loop(status: RectificationStatus, assigned: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "status": status,
        "callback_due_at": assigned + timedelta(days=2),
        "due_at": assigned + timedelta(days=7),
        **extra,
    }


async def _rate(ctx: SeedContext, app: Application, code: int, reasons: list[str], text: str) -> Evaluation:
    org_uscc = await Organization.get(id=app.accepting_org_id, using_db=ctx.db).values_list("uscc", flat=True)
    assert app.result_time is not None
    rated = app.result_time + timedelta(hours=5)
    scores = {o.code: code for o in forms.INDICATORS[forms.FormKind.ONLINE]}
    return await Evaluation.create(
        using_db=ctx.db,
        id=seed_id("evaluation", app.id),
        application_id=app.id,
        service_moment=ServiceMoment.COMPLETE,
        channel="APP",
        rater_person_id=app.submitted_by_person_id,
        real_name=True,
        satisfaction_code=code,
        indicator_scores=scores,
        selected_reasons=reasons,
        text=text,
        form_version=forms.FORM_VERSION,
        evaluated_at=rated,
        target_org_id=app.accepting_org_id,
        target_org_uscc=org_uscc,
        service_item_id=app.service_item_id,
        is_synthetic=True,
    )


async def load(ctx: SeedContext, apps: dict[str, Application]) -> None:
    for label in ("completed-e-delivered", "completed-received"):
        app = await Application.get(id=apps[label].id, using_db=ctx.db)
        await _rate(ctx, app, 1, [], "手机上就办好了，很方便")
    states: dict[str, dict[str, Any]] = {}
    for label, _, _ in BAD_CASES:
        app = await Application.get(id=apps[label].id, using_db=ctx.db)
        evaluation = await _rate(
            ctx, app, 5 if "escalated" in label else 4, ["LOW_EFFICIENCY", "MULTIPLE_TRIPS"], "等了很久才办好"
        )
        assigned = evaluation.evaluated_at
        states[label] = {"evaluation": evaluation, "app": app, "assigned": assigned}
    await _loops(ctx, states)
    await _alerts(ctx, apps, states)


async def _loops(ctx: SeedContext, states: dict[str, dict[str, Any]]) -> None:
    def at(label: str, hours: float) -> datetime:
        assigned: datetime = states[label]["assigned"]
        return assigned + timedelta(hours=hours)

    loops: dict[str, dict[str, Any]] = {
        "bad-pending-callback": _loop(RectificationStatus.PENDING_CALLBACK, at("bad-pending-callback", 0)),
        "bad-verifying": _loop(
            RectificationStatus.VERIFYING,
            at("bad-verifying", 0),
            callback_at=at("bad-verifying", 20),
            callback_result="已电话回访，核实等候时间过长",
        ),
        "bad-rectifying": _loop(
            RectificationStatus.RECTIFYING,
            at("bad-rectifying", 0),
            callback_at=at("bad-rectifying", 10),
            callback_result="已回访，情况属实",
            category=RectificationCategory.LEDGER_DEADLINE,
        ),
        "bad-explained": _loop(
            RectificationStatus.EXPLAINED,
            at("bad-explained", 0),
            callback_at=at("bad-explained", 8),
            callback_result="已回访",
            category=RectificationCategory.NO_LEGAL_BASIS,
            feedback_text="该材料为法律规定必须提交的材料，已向申请人解释说明",
            feedback_at=at("bad-explained", 30),
        ),
        "bad-appealed": _loop(
            RectificationStatus.APPEALED,
            at("bad-appealed", 0),
            callback_at=at("bad-appealed", 6),
            callback_result="已回访，评价人反映的问题与事实不符",
            category=RectificationCategory.MISJUDGED,
            appeal={
                "reason": "办件在承诺时限内办结，评价与事实不符（演示）",
                "requestedAt": at("bad-appealed", 26).isoformat(),
            },
        ),
        "bad-closed": _loop(
            RectificationStatus.CLOSED,
            at("bad-closed", 0),
            callback_at=at("bad-closed", 4),
            callback_result="已回访，情况属实",
            category=RectificationCategory.IMMEDIATE,
            rectification_text="已优化窗口排队叫号，增设帮办代办岗",
            feedback_text="已整改：增设帮办代办岗",
            feedback_at=at("bad-closed", 48),
            rater_feedback_satisfaction="SATISFIED",
            closed_at=at("bad-closed", 60),
        ),
        "bad-escalated": _loop(
            RectificationStatus.CLOSED,
            at("bad-escalated", 0),
            callback_at=at("bad-escalated", 5),
            callback_result="已回访",
            category=RectificationCategory.LEDGER_DEADLINE,
            rectification_text="已调整审核流程",
            feedback_text="已整改",
            feedback_at=at("bad-escalated", 50),
            rater_feedback_satisfaction="UNSATISFIED",
            reopen_count=1,
            escalated=True,
            closed_at=at("bad-escalated", 120),
        ),
    }
    for label, fields in loops.items():
        state = states[label]
        app: Application = state["app"]
        closed = fields["status"] is RectificationStatus.CLOSED
        await Rectification.create(
            using_db=ctx.db,
            id=seed_id("rectification", label),
            evaluation_id=state["evaluation"].id,
            assigned_org_id=app.accepting_org_id,
            history=[_opened(state["assigned"], fields["status"])],
            is_synthetic=True,
            **fields,
        )
        status = EvaluationStatus.RECTIFIED if closed else EvaluationStatus.RECTIFYING
        await Application.filter(id=app.id).using_db(ctx.db).update(evaluation_status=status)


async def _alerts(ctx: SeedContext, apps: dict[str, Application], states: dict[str, dict[str, Any]]) -> None:
    """The alerts of the seeded timer states, raised as the deadline scan raises them (same keys, outbox rows),
    so the scan that runs after the seed finds them already raised."""

    def case(label: str, rule: Rule, reason: str, suffix: str = "") -> Candidate:
        app = apps[label]
        return Candidate(rule, app_key(app.id, rule, suffix), reason, app.accepting_org_id, application_id=app.id)

    def loop(label: str, rule: Rule, reason: str, suffix: str = "") -> Candidate:
        rect_id = seed_id("rectification", label)
        app: Application = states[label]["app"]
        extra = {"evaluationId": str(states[label]["evaluation"].id)}
        return Candidate(
            rule, rect_key(rect_id, rule, suffix), reason, app.accepting_org_id, rectification_id=rect_id, extra=extra
        )

    candidates = [
        case("in-progress-near-due", Rule.PROMISE_NEAR_DUE, "距承诺办结日期剩余不足一个工作日"),
        case("in-progress-yellow", Rule.STEP_OVERDUE, "承办环节超过环节时限", suffix="承办"),
        case("in-progress-red", Rule.PROMISE_OVERDUE, "超过承诺办结日期未办结"),
        loop("bad-pending-callback", Rule.CALLBACK_OVERDUE, "实名差评回访超期", suffix="0"),
        loop("bad-escalated", Rule.RECTIFICATION_ESCALATED, "评价人对差评整改结果两次不满意，提请上级主管部门督办"),
    ]
    raised = await raise_alerts(candidates, ctx.now - timedelta(hours=2), ctx.db)
    await EfficiencyAlert.filter(id__in=[a.id for a in raised]).using_db(ctx.db).update(is_synthetic=True)
