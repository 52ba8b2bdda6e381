"""The lifecycle table of domain.md §7.2 and `replay`, as pure functions: every status against every event."""

from __future__ import annotations

import pytest

from api.applications import transitions
from api.applications.transitions import IllegalTransition, allowed_events, next_status, replay
from api.models import ApplicationStatus as S
from api.models import EventType as E

ANYWHERE_OPEN = {E.URGE, E.VISIT, E.TERMINATE}
# Every status-moving edge of domain.md §7.2 (besides WITHDRAW, TERMINATE and the RESUME events).
EDGES = {
    (S.SUBMITTED, E.PRECHECK_PASS): S.PENDING_ACCEPTANCE,
    (S.SUBMITTED, E.PRECHECK_RETURN): S.PRECHECK_RETURNED,
    (S.SUBMITTED, E.ACCEPT): S.IN_PROGRESS,
    (S.PRECHECK_RETURNED, E.SUBMIT): S.SUBMITTED,
    (S.PENDING_ACCEPTANCE, E.ACCEPT): S.IN_PROGRESS,
    (S.PENDING_ACCEPTANCE, E.NOT_ACCEPT): S.NOT_ACCEPTED,
    (S.PENDING_ACCEPTANCE, E.SUPPLEMENT_NOTICE): S.SUPPLEMENT_REQUIRED,
    (S.SUPPLEMENT_REQUIRED, E.COMPLETE): S.COMPLETED,
    (S.IN_PROGRESS, E.SUPPLEMENT_NOTICE): S.SUPPLEMENT_REQUIRED,
    (S.IN_PROGRESS, E.SPECIAL_START): S.SPECIAL_PROCEDURE,
    (S.IN_PROGRESS, E.FEE_NOTICE): S.PENDING_PAYMENT,
    (S.IN_PROGRESS, E.DECIDE): S.DECIDED,
    (S.IN_PROGRESS, E.COMPLETE): S.COMPLETED,
    (S.SPECIAL_PROCEDURE, E.SPECIAL_END): S.IN_PROGRESS,
    (S.DECIDED, E.FEE_NOTICE): S.PENDING_PAYMENT,
    (S.DECIDED, E.COMPLETE): S.COMPLETED,
}
# Timeline entries that leave the status where it is.
SAME = {
    (S.PENDING_ACCEPTANCE, E.RECEIVE),
    (S.IN_PROGRESS, E.STEP),
    (S.IN_PROGRESS, E.ISSUE_LICENCE),
    (S.DECIDED, E.ISSUE_LICENCE),
    *((S.COMPLETED, e) for e in (E.DELIVERY_READY, E.DELIVERY_SHIPPED, E.DELIVERY_RECEIVED, E.DELIVERY_ELECTRONIC)),
}
RESUMING = {(S.SUPPLEMENT_REQUIRED, E.SUPPLEMENT_DONE), (S.PENDING_PAYMENT, E.PAID)}
STATUSES = [s for s in S if s is not S.DRAFT]


def _resume_for(status: S) -> S | None:
    return S.IN_PROGRESS if status in transitions.PAUSING else None


def expected(status: S, event: E, resume: S | None) -> S | None:
    """The table written out from domain.md §7.2, independently of the code under test."""
    if status in transitions.TERMINAL:
        return status if (status, event) in SAME else None
    if event is E.TERMINATE:
        return S.TERMINATED
    if event is E.WITHDRAW:
        before_decision = status is not S.DECIDED and not (status is S.PENDING_PAYMENT and resume is S.DECIDED)
        return S.WITHDRAWN if before_decision else None
    if event in (E.URGE, E.VISIT) or (status, event) in SAME:
        return status
    if (status, event) in RESUMING:
        return resume
    return EDGES.get((status, event))


class TestNextStatus:
    @pytest.mark.parametrize("status", STATUSES, ids=lambda s: s.value)
    @pytest.mark.parametrize("event", list(E), ids=lambda e: e.value)
    def test_every_status_and_event_follows_the_table(self, status: S, event: E) -> None:
        # given a case in `status` (paused ones came from IN_PROGRESS)
        resume = _resume_for(status)
        want = expected(status, event, resume)
        # when / then
        if want is None:
            with pytest.raises(IllegalTransition) as refused:
                next_status(status, event, resume_status=resume)
            assert refused.value.code == "ILLEGAL_TRANSITION"
            assert refused.value.status is status
            assert refused.value.event is event
            assert refused.value.allowed == sorted(e.value for e in allowed_events(status, resume_status=resume))
            assert event not in allowed_events(status, resume_status=resume)
        else:
            assert next_status(status, event, resume_status=resume) is want
            assert event in allowed_events(status, resume_status=resume)

    @pytest.mark.parametrize("status", sorted(transitions.TERMINAL), ids=str)
    def test_a_terminal_status_allows_only_delivery_after_completion(self, status: S) -> None:
        allowed = allowed_events(status)
        if status is S.COMPLETED:
            assert allowed == {E.DELIVERY_READY, E.DELIVERY_SHIPPED, E.DELIVERY_RECEIVED, E.DELIVERY_ELECTRONIC}
        else:
            assert allowed == set()

    @pytest.mark.parametrize("status", sorted(transitions.NON_TERMINAL), ids=str)
    def test_every_open_status_can_be_terminated_urged_and_visited(self, status: S) -> None:
        assert allowed_events(status, resume_status=_resume_for(status)) >= ANYWHERE_OPEN

    def test_payment_awaited_after_the_decision_cannot_be_withdrawn(self) -> None:
        with pytest.raises(IllegalTransition):
            next_status(S.PENDING_PAYMENT, E.WITHDRAW, resume_status=S.DECIDED)
        assert next_status(S.PENDING_PAYMENT, E.WITHDRAW, resume_status=S.IN_PROGRESS) is S.WITHDRAWN

    def test_paid_returns_to_where_the_payment_was_asked(self) -> None:
        assert next_status(S.PENDING_PAYMENT, E.PAID, resume_status=S.DECIDED) is S.DECIDED
        assert next_status(S.PENDING_PAYMENT, E.PAID, resume_status=S.IN_PROGRESS) is S.IN_PROGRESS

    def test_supplement_done_returns_to_before_or_after_acceptance(self) -> None:
        assert (
            next_status(S.SUPPLEMENT_REQUIRED, E.SUPPLEMENT_DONE, resume_status=S.PENDING_ACCEPTANCE)
            is S.PENDING_ACCEPTANCE
        )
        assert next_status(S.SUPPLEMENT_REQUIRED, E.SUPPLEMENT_DONE, resume_status=S.IN_PROGRESS) is S.IN_PROGRESS

    def test_a_resume_without_a_recorded_status_is_refused(self) -> None:
        with pytest.raises(IllegalTransition):
            next_status(S.SUPPLEMENT_REQUIRED, E.SUPPLEMENT_DONE, resume_status=None)


def _timeline(*events: tuple[E, S | None]) -> list[tuple[E, S | None]]:
    return [(E.SUBMIT, S.SUBMITTED), *events]


class TestReplay:
    def test_the_full_commitment_path_ends_completed(self) -> None:
        # given a case accepted, supplemented after acceptance, stepped, paused for a special procedure, decided,
        # paid after the decision, issued and delivered
        timeline = _timeline(
            (E.PRECHECK_PASS, S.PENDING_ACCEPTANCE),
            (E.RECEIVE, S.PENDING_ACCEPTANCE),
            (E.ACCEPT, S.IN_PROGRESS),
            (E.SUPPLEMENT_NOTICE, S.SUPPLEMENT_REQUIRED),
            (E.SUPPLEMENT_DONE, S.IN_PROGRESS),
            (E.STEP, S.IN_PROGRESS),
            (E.SPECIAL_START, S.SPECIAL_PROCEDURE),
            (E.SPECIAL_END, S.IN_PROGRESS),
            (E.STEP, S.IN_PROGRESS),
            (E.STEP, S.IN_PROGRESS),
            (E.DECIDE, S.DECIDED),
            (E.FEE_NOTICE, S.PENDING_PAYMENT),
            (E.PAID, S.DECIDED),
            (E.ISSUE_LICENCE, S.DECIDED),
            (E.COMPLETE, S.COMPLETED),
            (E.DELIVERY_ELECTRONIC, S.COMPLETED),
            (E.DELIVERY_SHIPPED, S.COMPLETED),
            (E.DELIVERY_RECEIVED, S.COMPLETED),
        )
        # when / then
        assert replay(timeline) is S.COMPLETED

    def test_a_supplement_before_acceptance_resumes_to_pending_acceptance(self) -> None:
        timeline = _timeline((E.PRECHECK_PASS, None), (E.SUPPLEMENT_NOTICE, None), (E.SUPPLEMENT_DONE, None))
        assert replay(timeline) is S.PENDING_ACCEPTANCE

    def test_recorded_targets_are_optional(self) -> None:
        timeline = [(E.SUBMIT, None), (E.PRECHECK_RETURN, None), (E.SUBMIT, None), (E.PRECHECK_PASS, None)]
        assert replay(timeline) is S.PENDING_ACCEPTANCE

    @pytest.mark.parametrize(
        ("timeline", "status"),
        [
            (_timeline((E.PRECHECK_PASS, None), (E.NOT_ACCEPT, None)), S.NOT_ACCEPTED),
            (_timeline((E.WITHDRAW, None)), S.WITHDRAWN),
            (_timeline((E.ACCEPT, None), (E.ISSUE_LICENCE, None), (E.COMPLETE, None)), S.COMPLETED),
            (_timeline((E.PRECHECK_PASS, None), (E.SUPPLEMENT_NOTICE, None), (E.COMPLETE, None)), S.COMPLETED),
            (_timeline((E.PRECHECK_PASS, None), (E.ACCEPT, None), (E.TERMINATE, None)), S.TERMINATED),
        ],
        ids=["not-accepted", "withdrawn", "instant", "supplement-timeout", "terminated"],
    )
    def test_each_terminal_path(self, timeline: list[tuple[E, S | None]], status: S) -> None:
        assert replay(timeline) is status

    def test_a_recorded_target_that_contradicts_the_table_is_refused(self) -> None:
        with pytest.raises(IllegalTransition):
            replay(_timeline((E.PRECHECK_PASS, S.IN_PROGRESS)))

    def test_an_event_after_a_terminal_status_is_refused(self) -> None:
        with pytest.raises(IllegalTransition):
            replay(_timeline((E.WITHDRAW, None), (E.ACCEPT, None)))

    def test_withdrawing_after_the_decision_is_refused(self) -> None:
        with pytest.raises(IllegalTransition):
            replay(_timeline((E.ACCEPT, None), (E.DECIDE, None), (E.WITHDRAW, None)))

    def test_a_timeline_starts_with_submit(self) -> None:
        with pytest.raises(IllegalTransition):
            replay([(E.ACCEPT, None)])
        with pytest.raises(ValueError, match="starts with SUBMIT"):
            replay([])


class TestCitizenLabel:
    @pytest.mark.parametrize(
        ("status", "label"),
        [
            (S.DRAFT, "待提交"),
            (S.SUBMITTED, "待预审"),
            (S.PRECHECK_RETURNED, "预审退回"),
            (S.PENDING_ACCEPTANCE, "待预审"),
            (S.SUPPLEMENT_REQUIRED, "待补正"),
            (S.NOT_ACCEPTED, "已办结"),
            (S.IN_PROGRESS, "审批中"),
            (S.SPECIAL_PROCEDURE, "审批中"),
            (S.PENDING_PAYMENT, "审批中"),
            (S.DECIDED, "审批中"),
            (S.COMPLETED, "已办结"),
            (S.WITHDRAWN, "已办结"),
            (S.TERMINATED, "已办结"),
        ],
    )
    def test_statuses_collapse_to_the_citizen_labels(self, status: S, label: str) -> None:
        assert transitions.citizen_label(status) == label
