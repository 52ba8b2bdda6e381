"""The campaign state machine (notifications.md §C4) as a pure table: which operation moves which status where.

draft → pending_approval → approved → scheduled → materializing → sending ⇄ paused → completed, plus
cancelled from any state before completed and failed from materializing. A recurring campaign goes back from
sending to scheduled between its runs (the next run is materialised at its own time, approved once).
Applying a transition (compare-and-set, audit row) is campaign_service's and campaign_runs' job.
"""

from __future__ import annotations

from enum import StrEnum

from api.models.notifications import CampaignStatus as S


class Op(StrEnum):
    EDIT = "edit"  # any change of content: back to draft, the approval cleared
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    SCHEDULE = "schedule"  # right after approve, by the system
    MATERIALIZE = "materialize"  # schedule_at (or the next run) reached
    MATERIALIZED = "materialized"  # the snapshot is complete
    FAIL = "fail"  # the materialiser gave up
    PAUSE = "pause"
    RESUME = "resume"
    NEXT_RUN = "next_run"  # a recurring campaign's run is over; the next one waits
    COMPLETE = "complete"
    CANCEL = "cancel"


FINAL: frozenset[S] = frozenset({S.COMPLETED, S.CANCELLED, S.FAILED})
EDITABLE: frozenset[S] = frozenset({S.DRAFT, S.PENDING_APPROVAL, S.APPROVED, S.SCHEDULED})
CANCELLABLE: frozenset[S] = frozenset(set(S) - FINAL)

TRANSITIONS: dict[tuple[S, Op], S] = {
    **{(status, Op.EDIT): S.DRAFT for status in EDITABLE},
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
    **{(status, Op.CANCEL): S.CANCELLED for status in CANCELLABLE},
}


def next_status(status: S, op: Op) -> S | None:
    """Where `op` takes a campaign in `status`, or None when the status does not allow it."""
    return TRANSITIONS.get((status, op))


def allowed(status: S, op: Op) -> bool:
    return (status, op) in TRANSITIONS


def operations_from(status: S) -> list[Op]:
    """What an operator's screen may offer for a campaign in `status`."""
    return [op for op in Op if allowed(status, op)]
