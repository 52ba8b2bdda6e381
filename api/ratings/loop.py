"""The 差评 rectification loop of domain.md §9.3 as a pure table: which step may happen in which status.

State model (the decision the domain leaves open, documented here and in the README):

    PENDING_CALLBACK --CALLBACK--> VERIFYING                     (real-name 差评; anonymous ones start at VERIFYING)
    VERIFYING --CLASSIFY IMMEDIATE | LEDGER_DEADLINE--> RECTIFYING
    VERIFYING --CLASSIFY NO_LEGAL_BASIS--> EXPLAINED             (the explanation is the feedback to the rater)
    VERIFYING --CLASSIFY MISJUDGED--> APPEALED                   (within the appeal window; one appeal per loop)
    RECTIFYING --COMPLETE--> CLOSED                              (rectification and feedback to the rater)
    APPEALED --APPEAL_UPHELD--> CLOSED                           (the evaluation leaves the statistics)
    APPEALED --APPEAL_REJECTED--> VERIFYING                      (due_at moves by the appeal's duration)
    EXPLAINED | CLOSED --VERDICT satisfied--> CLOSED
    EXPLAINED | CLOSED --VERDICT unsatisfied, first--> VERIFYING (from EXPLAINED) | RECTIFYING (from CLOSED)
    EXPLAINED | CLOSED --VERDICT unsatisfied, second--> CLOSED, escalated

"Feedback given" (EXPLAINED, CLOSED) is where the rater may give a verdict, once per round; the org acts in the
OPEN statuses, where supervision's scan watches `callback_due_at` and `due_at`; APPEALED waits on a supervisor
and its clock is suspended (a rejected appeal extends `due_at`).
"""

from __future__ import annotations

from enum import StrEnum

from api.kit.errors import Conflict
from api.models import RectificationCategory as C
from api.models import RectificationStatus as R


class Step(StrEnum):
    CALLBACK = "CALLBACK"
    CLASSIFY = "CLASSIFY"
    COMPLETE = "COMPLETE"
    APPEAL_UPHELD = "APPEAL_UPHELD"
    APPEAL_REJECTED = "APPEAL_REJECTED"
    VERDICT = "VERDICT"


class Verdict(StrEnum):
    SATISFIED = "SATISFIED"
    BASICALLY_SATISFIED = "BASICALLY_SATISFIED"
    UNSATISFIED = "UNSATISFIED"


OPEN = frozenset({R.PENDING_CALLBACK, R.VERIFYING, R.RECTIFYING})  # the responsible org must act
FEEDBACK_GIVEN = frozenset({R.EXPLAINED, R.CLOSED})  # the loop is closed for the case's evaluation_status
MAX_REOPENS = 1

_ALLOWED: dict[R, frozenset[Step]] = {
    R.PENDING_CALLBACK: frozenset({Step.CALLBACK}),
    R.VERIFYING: frozenset({Step.CLASSIFY}),
    R.RECTIFYING: frozenset({Step.COMPLETE}),
    R.APPEALED: frozenset({Step.APPEAL_UPHELD, Step.APPEAL_REJECTED}),
    R.EXPLAINED: frozenset({Step.VERDICT}),
    R.CLOSED: frozenset({Step.VERDICT}),
}

_CLASSIFIED: dict[C, R] = {
    C.IMMEDIATE: R.RECTIFYING,
    C.LEDGER_DEADLINE: R.RECTIFYING,
    C.NO_LEGAL_BASIS: R.EXPLAINED,
    C.MISJUDGED: R.APPEALED,
}


class IllegalRectificationStep(Conflict):
    code = "ILLEGAL_RECTIFICATION_STEP"

    def __init__(self, status: R, step: Step, reason: str | None = None) -> None:
        allowed = sorted(s.value for s in _ALLOWED.get(status, frozenset()))
        super().__init__(reason or f"{step.value} is not possible while the rectification is {status.value}")
        self.status = status
        self.step = step
        self.allowed = allowed


def allowed_steps(status: R) -> frozenset[Step]:
    return _ALLOWED.get(status, frozenset())


def check(status: R, step: Step) -> None:
    if step not in _ALLOWED.get(status, frozenset()):
        raise IllegalRectificationStep(status, step)


def after_classify(status: R, category: C) -> R:
    check(status, Step.CLASSIFY)
    return _CLASSIFIED[category]


def after_verdict(status: R, verdict: Verdict, reopen_count: int) -> tuple[R, bool, bool]:
    """(next status, reopened, escalated) for the rater's verdict on the feedback."""
    check(status, Step.VERDICT)
    if verdict is not Verdict.UNSATISFIED:
        return R.CLOSED, False, False
    if reopen_count < MAX_REOPENS:
        return (R.VERIFYING if status is R.EXPLAINED else R.RECTIFYING), True, False
    return R.CLOSED, False, True


def is_open(status: R) -> bool:
    """Open for the case's evaluation_status (RECTIFYING): everything before feedback, appeals included."""
    return status not in FEEDBACK_GIVEN
