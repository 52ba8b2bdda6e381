"""GraphQL types of 好差评: the rating form, ratings, the rectification loop (rater's and department's views) and
statistics."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry

from api.models import Evaluation
from api.models import Rectification as RectificationRow
from api.models import RectificationCategory as CategoryRow
from api.models import RectificationStatus as StatusRow
from api.models import ServiceMoment as MomentRow
from api.ratings import forms, loop, read, rectify, stats
from schema.errors import Error


@strawberry.enum(description="Service moment rated (一事一评, domain.md §9.2): 咨询, 申报, 补正, 缴费, 签收, 办结.")
class RatingMoment(Enum):
    CONSULT = "CONSULT"
    APPLY = "APPLY"
    SUPPLEMENT = "SUPPLEMENT"
    PAY = "PAY"
    SIGN = "SIGN"
    COMPLETE = "COMPLETE"

    def to_row(self) -> MomentRow:
        return MomentRow(self.value)


@strawberry.enum(description="评价渠道 of an online rating.")
class RatingChannel(Enum):
    APP = "APP"
    WECHAT_MP = "WECHAT_MP"
    ALIPAY_MP = "ALIPAY_MP"
    H5 = "H5"
    PC = "PC"


@strawberry.enum(description="Online form (一事一评) or window form (一次一评).")
class RatingFormKind(Enum):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"


@strawberry.enum(description="Where a 差评 rectification stands (domain.md §9.3).")
class RectificationStatus(Enum):
    PENDING_CALLBACK = "PENDING_CALLBACK"
    VERIFYING = "VERIFYING"
    RECTIFYING = "RECTIFYING"
    EXPLAINED = "EXPLAINED"
    APPEALED = "APPEALED"
    CLOSED = "CLOSED"

    def to_row(self) -> StatusRow:
        return StatusRow(self.value)


@strawberry.enum(description="立行立改, 台账限期整改, 无法律依据（解释说明）, 误评恶评（申诉）.")
class RectificationCategory(Enum):
    IMMEDIATE = "IMMEDIATE"
    LEDGER_DEADLINE = "LEDGER_DEADLINE"
    NO_LEGAL_BASIS = "NO_LEGAL_BASIS"
    MISJUDGED = "MISJUDGED"

    def to_row(self) -> CategoryRow:
        return CategoryRow(self.value)


@strawberry.enum(description="The rater's verdict on a rectification: 满意, 基本满意, 不满意.")
class RectificationVerdict(Enum):
    SATISFIED = "SATISFIED"
    BASICALLY_SATISFIED = "BASICALLY_SATISFIED"
    UNSATISFIED = "UNSATISFIED"

    def to_row(self) -> loop.Verdict:
        return loop.Verdict(self.value)


@strawberry.enum(description="A step of the rectification loop.")
class RectificationStep(Enum):
    CALLBACK = "CALLBACK"
    CLASSIFY = "CLASSIFY"
    COMPLETE = "COMPLETE"
    APPEAL_UPHELD = "APPEAL_UPHELD"
    APPEAL_REJECTED = "APPEAL_REJECTED"
    VERDICT = "VERDICT"


@strawberry.type(description="The step is not possible in the rectification's current status.")
class RectificationStepRefusedError(Error):
    status: RectificationStatus
    allowed_steps: list[RectificationStep] = strawberry.field(description="at most 6")

    @classmethod
    def of(cls, exc: loop.IllegalRectificationStep) -> RectificationStepRefusedError:
        return cls(
            code=exc.code,
            message=exc.message,
            path=exc.path,
            status=RectificationStatus(exc.status.value),
            allowed_steps=[RectificationStep(s) for s in exc.allowed],
        )


@strawberry.type(description="One option of the form: an indicator or a 差评 reason.")
class RatingOption:
    code: str
    label: str


@strawberry.type(description="A satisfaction level: the GB/T 39046 A.8 code and the stars shown (6 − code).")
class RatingLevel:
    code: int
    stars: int
    label: str


@strawberry.type(description="The platform-level rating form, versioned as a whole; local orgs cannot change it.")
class RatingForm:
    version: str
    kind: RatingFormKind
    levels: list[RatingLevel] = strawberry.field(description="From 1 非常满意 to 5 非常不满意, at most 5")
    indicators: list[RatingOption] = strawberry.field(
        description="Scored 1–5 on the same scale as the level, at most 10"
    )
    bad_reasons: list[RatingOption] = strawberry.field(description="差评 reasons; a 差评 needs one, at most 20")
    text_max_chars: int

    @classmethod
    def build(cls, form: forms.RatingForm) -> RatingForm:
        return cls(
            version=form.version,
            kind=RatingFormKind(form.kind.value),
            levels=[RatingLevel(code=c, stars=forms.stars(c), label=label) for c, label in form.levels.items()],
            indicators=[RatingOption(code=o.code, label=o.label) for o in form.indicators],
            bad_reasons=[RatingOption(code=o.code, label=o.label) for o in form.bad_reasons],
            text_max_chars=forms.TEXT_MAX_CHARS,
        )


_INDICATOR_LABELS = {o.code: o.label for options in forms.INDICATORS.values() for o in options}
_REASON_LABELS = {o.code: o.label for o in forms.BAD_REASONS}


@strawberry.type
class IndicatorScore:
    indicator: str
    label: str
    code: int
    stars: int


def _scores(row: Evaluation) -> list[IndicatorScore]:
    return [
        IndicatorScore(indicator=k, label=_INDICATOR_LABELS.get(k, k), code=v, stars=forms.stars(v))
        for k, v in row.indicator_scores.items()
    ]


def _reasons(row: Evaluation) -> list[RatingOption]:
    return [RatingOption(code=r, label=_REASON_LABELS.get(r, r)) for r in row.selected_reasons]


@strawberry.type(description="How the rater's 差评 is being handled, as the rater sees it.")
class RaterRectification:
    id: strawberry.ID
    status: RectificationStatus
    due_at: datetime
    called_back: bool
    feedback: str = strawberry.field(description="解释说明 or the rectification feedback; empty until given")
    feedback_at: datetime | None
    awaiting_verdict: bool = strawberry.field(description="True while you can rate the feedback")
    verdict: RectificationVerdict | None
    reopen_count: int
    escalated: bool
    closed_at: datetime | None

    @classmethod
    def build(cls, row: RectificationRow) -> RaterRectification:
        return cls(
            id=strawberry.ID(str(row.id)),
            status=RectificationStatus(row.status.value),
            due_at=row.due_at,
            called_back=row.callback_at is not None,
            feedback=row.feedback_text,
            feedback_at=row.feedback_at,
            awaiting_verdict=rectify.awaiting_verdict(row),
            verdict=RectificationVerdict(row.rater_feedback_satisfaction) if row.rater_feedback_satisfaction else None,
            reopen_count=row.reopen_count,
            escalated=row.escalated,
            closed_at=row.closed_at,
        )


@strawberry.type(description="One rating (评价), immutable once given.")
class Rating:
    id: strawberry.ID
    application_id: strawberry.ID | None
    project_no: str = strawberry.field(description="办件编号")
    item_name: str
    moment: RatingMoment
    channel: str
    satisfaction_code: int = strawberry.field(description="GB/T 39046 A.8: 1 非常满意 … 5 非常不满意")
    stars: int = strawberry.field(description="6 − satisfactionCode")
    level_label: str
    is_bad: bool = strawberry.field(description="差评: code 4 or 5")
    indicator_scores: list[IndicatorScore] = strawberry.field(description="at most 4")
    reasons: list[RatingOption] = strawberry.field(description="at most 7")
    text: str
    anonymous: bool
    form_version: str
    rated_at: datetime
    target_org_name: str
    rectification: RaterRectification | None

    @classmethod
    def build(cls, view: read.RatingView) -> Rating:
        row = view.evaluation
        return cls(
            id=strawberry.ID(str(row.id)),
            application_id=strawberry.ID(str(row.application_id)) if row.application_id else None,
            project_no=view.case.project_no if view.case else "",
            item_name=view.case.item_name if view.case else "",
            moment=RatingMoment(row.service_moment.value),
            channel=row.channel,
            satisfaction_code=row.satisfaction_code,
            stars=forms.stars(row.satisfaction_code),
            level_label=forms.LEVELS.get(row.satisfaction_code, ""),
            is_bad=forms.is_bad(row.satisfaction_code),
            indicator_scores=_scores(row),
            reasons=_reasons(row),
            text=row.text,
            anonymous=not row.real_name,
            form_version=row.form_version,
            rated_at=row.evaluated_at,
            target_org_name=view.org_name,
            rectification=RaterRectification.build(view.rectification) if view.rectification else None,
        )


@strawberry.type(description="One transition of a rectification: who did what, when.")
class RectificationHistoryEntry:
    at: datetime
    action: str
    actor_kind: str = strawberry.field(description="RATER, ORG, SUPERVISOR or SYSTEM")
    actor_id: strawberry.ID | None
    from_status: RectificationStatus | None
    to_status: RectificationStatus
    note: str
    category: RectificationCategory | None
    verdict: RectificationVerdict | None

    @classmethod
    def build(cls, entry: dict[str, Any]) -> RectificationHistoryEntry:
        return cls(
            at=datetime.fromisoformat(entry["at"]),
            action=entry["action"],
            actor_kind=entry["actorKind"],
            actor_id=strawberry.ID(entry["actorId"]) if entry.get("actorId") else None,
            from_status=RectificationStatus(entry["from"]) if entry.get("from") else None,
            to_status=RectificationStatus(entry["to"]),
            note=entry.get("note", ""),
            category=RectificationCategory(entry["category"]) if entry.get("category") else None,
            verdict=RectificationVerdict(entry["verdict"]) if entry.get("verdict") else None,
        )


@strawberry.type(description="申诉复核: the org's appeal against a mistaken or malicious 差评 and its decision.")
class RectificationAppeal:
    reason: str
    filed_at: datetime
    decision: str | None = strawberry.field(description="UPHELD or REJECTED once decided")
    decided_at: datetime | None
    comment: str


@strawberry.type(description="The rated case and the rating, as the responsible department sees them.")
class RatedCase:
    application_id: strawberry.ID | None
    project_no: str
    item_name: str
    moment: RatingMoment
    satisfaction_code: int
    stars: int
    reasons: list[RatingOption] = strawberry.field(description="at most 7")
    text: str
    anonymous: bool
    rated_at: datetime
    rater_name: str | None = strawberry.field(description="For the callback; null for an anonymous rating")
    rater_mobile: str | None = strawberry.field(description="For the callback; null for an anonymous rating")


@strawberry.type(description="A 差评 rectification ticket (整改工单) of the responsible department.")
class Rectification:
    id: strawberry.ID
    status: RectificationStatus
    category: RectificationCategory | None
    assigned_org_id: strawberry.ID
    assigned_org_name: str
    due_at: datetime
    callback_due_at: datetime | None = strawberry.field(description="Null for an anonymous 差评 (no callback)")
    callback_at: datetime | None
    callback_result: str
    rectification_text: str
    feedback: str
    feedback_at: datetime | None
    awaiting_verdict: bool
    verdict: RectificationVerdict | None
    reopen_count: int
    escalated: bool
    closed_at: datetime | None
    appeal: RectificationAppeal | None
    allowed_steps: list[RectificationStep] = strawberry.field(description="at most 6")
    rating: RatedCase
    history: list[RectificationHistoryEntry] = strawberry.field(description="Oldest first, at most 20")

    @classmethod
    def build(cls, view: read.RectificationView) -> Rectification:
        row, evaluation, case = view.row, view.evaluation, view.case
        appeal = row.appeal
        return cls(
            id=strawberry.ID(str(row.id)),
            status=RectificationStatus(row.status.value),
            category=RectificationCategory(row.category.value) if row.category else None,
            assigned_org_id=strawberry.ID(str(row.assigned_org_id)),
            assigned_org_name=view.org_name,
            due_at=row.due_at,
            callback_due_at=row.callback_due_at,
            callback_at=row.callback_at,
            callback_result=row.callback_result,
            rectification_text=row.rectification_text,
            feedback=row.feedback_text,
            feedback_at=row.feedback_at,
            awaiting_verdict=rectify.awaiting_verdict(row),
            verdict=RectificationVerdict(row.rater_feedback_satisfaction) if row.rater_feedback_satisfaction else None,
            reopen_count=row.reopen_count,
            escalated=row.escalated,
            closed_at=row.closed_at,
            appeal=RectificationAppeal(
                reason=appeal["reason"],
                filed_at=datetime.fromisoformat(appeal["filedAt"]),
                decision=appeal.get("decision"),
                decided_at=datetime.fromisoformat(appeal["decidedAt"]) if appeal.get("decidedAt") else None,
                comment=appeal.get("comment", ""),
            )
            if appeal
            else None,
            allowed_steps=[RectificationStep(s.value) for s in sorted(loop.allowed_steps(row.status))],
            rating=RatedCase(
                application_id=strawberry.ID(str(evaluation.application_id)) if evaluation.application_id else None,
                project_no=case.project_no if case else "",
                item_name=case.item_name if case else "",
                moment=RatingMoment(evaluation.service_moment.value),
                satisfaction_code=evaluation.satisfaction_code,
                stars=forms.stars(evaluation.satisfaction_code),
                reasons=_reasons(evaluation),
                text=evaluation.text,
                anonymous=not evaluation.real_name,
                rated_at=evaluation.evaluated_at,
                # Who rated is shown only when the rater chose to rate by real name: the callback needs it.
                rater_name=case.contact_name if case and evaluation.real_name else None,
                rater_mobile=case.contact_mobile if case and evaluation.real_name else None,
            ),
            history=[RectificationHistoryEntry.build(e) for e in row.history[-20:]],
        )


@strawberry.type(description="A rate with its exact parts; `rate` is null when the denominator is 0.")
class RatingRatio:
    numerator: int
    denominator: int
    rate: float | None

    @classmethod
    def of(cls, ratio: stats.Ratio) -> RatingRatio:
        return cls(numerator=ratio.numerator, denominator=ratio.denominator, rate=ratio.rate)


@strawberry.type(description="好差评 figures of an org and/or item over a period; unrated cases never count as good.")
class RatingStatistics:
    org_id: strawberry.ID | None
    item_id: strawberry.ID | None
    from_date: date
    to_date: date
    completed_cases: int = strawberry.field(description="Cases 办结 in the period")
    ratings: int = strawberry.field(description="Ratings given in the period (every moment), appeals upheld excluded")
    count_by_code: list[int] = strawberry.field(description="Ratings with codes 1 … 5, at most 5")
    weighted_score: float | None = strawberry.field(description="Mean of the score weights (default 10/8/6/3/0)")
    participation: RatingRatio = strawberry.field(description="参评率: completed cases rated at 办结")
    good_rate: RatingRatio = strawberry.field(description="好评率: codes 1–3")
    bad_rate: RatingRatio = strawberry.field(description="差评率: codes 4–5")
    rectified_rate: RatingRatio = strawberry.field(description="差评整改率: loops closed with feedback, not escalated")
    callback_rate: RatingRatio = strawberry.field(description="实名差评回访率")
    callback_on_time_rate: RatingRatio = strawberry.field(
        description="按时回访率: callbacks by their deadline / callbacks recorded or due"
    )

    @classmethod
    def build(cls, s: stats.Statistics) -> RatingStatistics:
        return cls(
            org_id=strawberry.ID(str(s.org_id)) if s.org_id else None,
            item_id=strawberry.ID(str(s.item_id)) if s.item_id else None,
            from_date=s.start,
            to_date=s.end,
            completed_cases=s.completed_cases,
            ratings=s.ratings,
            count_by_code=list(s.by_code),
            weighted_score=s.weighted_score,
            participation=RatingRatio.of(s.participation),
            good_rate=RatingRatio.of(s.good),
            bad_rate=RatingRatio.of(s.bad),
            rectified_rate=RatingRatio.of(s.rectified),
            callback_rate=RatingRatio.of(s.callback),
            callback_on_time_rate=RatingRatio.of(s.callback_on_time),
        )


def status_rows(values: list[RectificationStatus] | None) -> list[StatusRow] | None:
    return [v.to_row() for v in values] if values else None


def category_row(value: RectificationCategory) -> CategoryRow:
    return value.to_row()
