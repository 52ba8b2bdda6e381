"""The lifecycle table of domain.md §7.2, pure: which event may happen in which status, and where it leads.

The `ApplicationEvent` log is the source of truth; `replay` derives the status from it with the same table that
guards every write, so the stored `status` column is only a projection that a test re-derives.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from api.kit.errors import Conflict
from api.models import ApplicationStatus as S
from api.models import EventType as E


class Target(Enum):
    SAME = "SAME"  # a timeline event that does not move the status (接件, 承办 step, visit, delivery …)
    RESUME = "RESUME"  # back to the status recorded when the clock was paused (补正 done, paid)


TERMINAL = frozenset({S.NOT_ACCEPTED, S.COMPLETED, S.WITHDRAWN, S.TERMINATED})
NON_TERMINAL = frozenset(s for s in S if s not in TERMINAL and s is not S.DRAFT)
BEFORE_DECISION = frozenset(NON_TERMINAL - {S.DECIDED})
# Statuses in which the promised deadline does not run (D11); SUPPLEMENT_REQUIRED only after acceptance.
PAUSING = frozenset({S.SUPPLEMENT_REQUIRED, S.SPECIAL_PROCEDURE, S.PENDING_PAYMENT})

_TABLE: dict[S, dict[E, S | Target]] = {
    S.SUBMITTED: {
        E.PRECHECK_PASS: S.PENDING_ACCEPTANCE,
        E.PRECHECK_RETURN: S.PRECHECK_RETURNED,
        E.ACCEPT: S.IN_PROGRESS,  # 即办件 only (checked by the service, which knows the project type)
    },
    S.PRECHECK_RETURNED: {E.SUBMIT: S.SUBMITTED},
    S.PENDING_ACCEPTANCE: {
        E.RECEIVE: Target.SAME,
        E.ACCEPT: S.IN_PROGRESS,
        E.NOT_ACCEPT: S.NOT_ACCEPTED,
        E.SUPPLEMENT_NOTICE: S.SUPPLEMENT_REQUIRED,
    },
    S.SUPPLEMENT_REQUIRED: {
        E.SUPPLEMENT_DONE: Target.RESUME,
        E.COMPLETE: S.COMPLETED,  # the applicant's deadline passed: result 5 退件
    },
    S.IN_PROGRESS: {
        E.STEP: Target.SAME,
        E.SUPPLEMENT_NOTICE: S.SUPPLEMENT_REQUIRED,
        E.SPECIAL_START: S.SPECIAL_PROCEDURE,
        E.FEE_NOTICE: S.PENDING_PAYMENT,
        E.DECIDE: S.DECIDED,
        E.ISSUE_LICENCE: Target.SAME,  # 即办件 only: the result is issued on the acceptance day
        E.COMPLETE: S.COMPLETED,  # 即办件 only
    },
    S.SPECIAL_PROCEDURE: {E.SPECIAL_END: S.IN_PROGRESS},
    S.PENDING_PAYMENT: {E.PAID: Target.RESUME},
    S.DECIDED: {
        E.ISSUE_LICENCE: Target.SAME,
        E.FEE_NOTICE: S.PENDING_PAYMENT,
        E.COMPLETE: S.COMPLETED,
    },
    S.COMPLETED: {
        E.DELIVERY_READY: Target.SAME,
        E.DELIVERY_SHIPPED: Target.SAME,
        E.DELIVERY_RECEIVED: Target.SAME,
        E.DELIVERY_ELECTRONIC: Target.SAME,
    },
}
# Allowed in every non-terminal status: urging (督办) and recording an on-site visit do not move the case.
_ANYWHERE_OPEN: dict[E, Target] = {E.URGE: Target.SAME, E.VISIT: Target.SAME}


class IllegalTransition(Conflict):
    code = "ILLEGAL_TRANSITION"

    def __init__(self, status: S, event: E, *, resume_status: S | None = None) -> None:
        allowed = sorted(e.value for e in allowed_events(status, resume_status=resume_status))
        super().__init__(
            f"{event.value} is not allowed while the application is {status.value}; allowed: {', '.join(allowed)}"
        )
        self.status = status
        self.event = event
        self.allowed = allowed


def _withdrawable(status: S, resume_status: S | None) -> bool:
    # Never after a decision: a payment awaited after DECIDED is still after the decision.
    if status is S.PENDING_PAYMENT:
        return resume_status is not S.DECIDED
    return status in BEFORE_DECISION


def allowed_events(status: S, *, resume_status: S | None = None) -> set[E]:
    events = set(_TABLE.get(status, {}))
    if status in NON_TERMINAL:
        events |= set(_ANYWHERE_OPEN) | {E.TERMINATE}
        if _withdrawable(status, resume_status):
            events.add(E.WITHDRAW)
    return events


def next_status(status: S, event: E, *, resume_status: S | None = None) -> S:
    """The status after `event`; raises IllegalTransition when the table does not allow it."""
    if status in NON_TERMINAL and event is E.TERMINATE:
        return S.TERMINATED
    if event is E.WITHDRAW:
        if status in NON_TERMINAL and _withdrawable(status, resume_status):
            return S.WITHDRAWN
        raise IllegalTransition(status, event, resume_status=resume_status)
    target = _TABLE.get(status, {}).get(event)
    if target is None and status in NON_TERMINAL:
        target = _ANYWHERE_OPEN.get(event)
    if target is None:
        raise IllegalTransition(status, event, resume_status=resume_status)
    if target is Target.SAME:
        return status
    if target is Target.RESUME:
        if resume_status is None:
            raise IllegalTransition(status, event, resume_status=resume_status)
        return resume_status
    return target


def replay(events: Iterable[tuple[E, S | None]]) -> S:
    """The status derived from a timeline of (event type, recorded target); each step is re-checked.

    The first event must be SUBMIT (the row is created by submission). A recorded target lets RESUME steps
    replay without the pause bookkeeping, and is checked against the table."""
    status: S | None = None
    resume: S | None = None
    for event, recorded in events:
        if status is None:
            if event is not E.SUBMIT:
                raise IllegalTransition(S.DRAFT, event)
            status = S.SUBMITTED
            continue
        if status not in PAUSING:
            resume = status
        target = next_status(status, event, resume_status=resume)
        if recorded is not None and recorded is not target:
            raise IllegalTransition(status, event, resume_status=resume)
        status = target
    if status is None:
        raise ValueError("an application's timeline starts with SUBMIT")
    return status


def citizen_label(status: S) -> str:
    """The collapsed labels shown to applicants (domain.md §7.2)."""
    if status is S.DRAFT:
        return "待提交"
    if status is S.PRECHECK_RETURNED:
        return "预审退回"
    if status is S.SUPPLEMENT_REQUIRED:
        return "待补正"
    if status in (S.SUBMITTED, S.PENDING_ACCEPTANCE):
        return "待预审"
    if status in (S.IN_PROGRESS, S.SPECIAL_PROCEDURE, S.PENDING_PAYMENT, S.DECIDED):
        return "审批中"
    return "已办结"
