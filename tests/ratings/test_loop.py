"""The pure rectification table (api.ratings.loop): which step may happen in which status, and where it leads."""

from __future__ import annotations

import pytest

from api.models import RectificationCategory as C
from api.models import RectificationStatus as R
from api.ratings import forms, loop
from api.ratings.loop import IllegalRectificationStep, Step, Verdict


class TestAfterClassify:
    @pytest.mark.parametrize(
        ("category", "expected"),
        [
            (C.IMMEDIATE, R.RECTIFYING),
            (C.LEDGER_DEADLINE, R.RECTIFYING),
            (C.NO_LEGAL_BASIS, R.EXPLAINED),
            (C.MISJUDGED, R.APPEALED),
        ],
    )
    def test_each_category_leads_to_its_status(self, category: C, expected: R) -> None:
        assert loop.after_classify(R.VERIFYING, category) is expected

    @pytest.mark.parametrize("status", [s for s in R if s is not R.VERIFYING])
    def test_only_a_verified_rectification_is_classified(self, status: R) -> None:
        with pytest.raises(IllegalRectificationStep) as raised:
            loop.after_classify(status, C.IMMEDIATE)
        assert raised.value.status is status
        assert raised.value.code == "ILLEGAL_RECTIFICATION_STEP"


class TestAfterVerdict:
    def test_satisfied_closes_from_either_feedback_status(self) -> None:
        for status in (R.EXPLAINED, R.CLOSED):
            for verdict in (Verdict.SATISFIED, Verdict.BASICALLY_SATISFIED):
                assert loop.after_verdict(status, verdict, 0) == (R.CLOSED, False, False)

    def test_first_unsatisfied_reopens_where_the_org_acts_again(self) -> None:
        assert loop.after_verdict(R.CLOSED, Verdict.UNSATISFIED, 0) == (R.RECTIFYING, True, False)
        assert loop.after_verdict(R.EXPLAINED, Verdict.UNSATISFIED, 0) == (R.VERIFYING, True, False)

    def test_second_unsatisfied_closes_escalated(self) -> None:
        assert loop.after_verdict(R.CLOSED, Verdict.UNSATISFIED, 1) == (R.CLOSED, False, True)

    @pytest.mark.parametrize("status", [R.PENDING_CALLBACK, R.VERIFYING, R.RECTIFYING, R.APPEALED])
    def test_no_verdict_before_feedback(self, status: R) -> None:
        with pytest.raises(IllegalRectificationStep):
            loop.after_verdict(status, Verdict.SATISFIED, 0)


class TestAllowedSteps:
    def test_the_table(self) -> None:
        assert {s: loop.allowed_steps(s) for s in R} == {
            R.PENDING_CALLBACK: {Step.CALLBACK},
            R.VERIFYING: {Step.CLASSIFY},
            R.RECTIFYING: {Step.COMPLETE},
            R.APPEALED: {Step.APPEAL_UPHELD, Step.APPEAL_REJECTED},
            R.EXPLAINED: {Step.VERDICT},
            R.CLOSED: {Step.VERDICT},
        }

    def test_open_means_before_feedback(self) -> None:
        assert {s for s in R if loop.is_open(s)} == {R.PENDING_CALLBACK, R.VERIFYING, R.RECTIFYING, R.APPEALED}


class TestForms:
    def test_stars_mirror_the_codes_and_bad_means_four_or_five(self) -> None:
        assert [forms.stars(c) for c in range(1, 6)] == [5, 4, 3, 2, 1]
        assert [c for c in range(1, 6) if forms.is_bad(c)] == [4, 5]
