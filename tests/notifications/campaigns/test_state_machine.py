"""The pure transition table of §C4, checked exhaustively: every (status, operation) pair."""

from __future__ import annotations

import pytest

from api.models.notifications import CampaignStatus as S
from notifications.campaigns import Op, allowed, next_status, operations_from

EXPECTED: dict[tuple[S, Op], S] = {
    (S.DRAFT, Op.EDIT): S.DRAFT,
    (S.PENDING_APPROVAL, Op.EDIT): S.DRAFT,
    (S.APPROVED, Op.EDIT): S.DRAFT,
    (S.SCHEDULED, Op.EDIT): S.DRAFT,
    (S.DRAFT, Op.SUBMIT): S.PENDING_APPROVAL,
    (S.PENDING_APPROVAL, Op.APPROVE): S.APPROVED,
    (S.PENDING_APPROVAL, Op.REJECT): S.DRAFT,
    (S.APPROVED, Op.SCHEDULE): S.SCHEDULED,
    (S.SCHEDULED, Op.MATERIALIZE): S.MATERIALIZING,
    (S.MATERIALIZING, Op.MATERIALIZED): S.SENDING,
    (S.MATERIALIZING, Op.FAIL): S.FAILED,
    (S.SENDING, Op.PAUSE): S.PAUSED,
    (S.PAUSED, Op.RESUME): S.SENDING,
    (S.SENDING, Op.NEXT_RUN): S.SCHEDULED,
    (S.SENDING, Op.COMPLETE): S.COMPLETED,
    **{
        (status, Op.CANCEL): S.CANCELLED
        for status in (
            S.DRAFT,
            S.PENDING_APPROVAL,
            S.APPROVED,
            S.SCHEDULED,
            S.MATERIALIZING,
            S.SENDING,
            S.PAUSED,
        )
    },
}


class TestNextStatus:
    @pytest.mark.parametrize(("status", "op"), [(s, o) for s in S for o in Op])
    def test_every_pair(self, status: S, op: Op) -> None:
        # given any status and operation; then the table answers exactly the specified target or None
        assert next_status(status, op) == EXPECTED.get((status, op))
        assert allowed(status, op) is ((status, op) in EXPECTED)

    @pytest.mark.parametrize("status", [S.COMPLETED, S.CANCELLED, S.FAILED])
    def test_final_states_allow_nothing(self, status: S) -> None:
        assert operations_from(status) == []


class TestOperationsFrom:
    def test_a_sending_campaign(self) -> None:
        assert operations_from(S.SENDING) == [Op.PAUSE, Op.NEXT_RUN, Op.COMPLETE, Op.CANCEL]
