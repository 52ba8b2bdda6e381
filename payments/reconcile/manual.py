"""What finance does by hand: run a day's reconciliation now, and close a difference that needed a person."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from api.kit.clock import shanghai_date
from api.kit.errors import Conflict, InvalidInput, NotFound
from api.models.payment import Channel, DiffResolution, ReconciliationDiff, ReconciliationRun
from payments.deps import PaymentsDeps
from payments.reconcile.run import reconcile

# Both channels keep their daily bills for about three months.
OLDEST_BILL = timedelta(days=90)


async def run_reconciliation(deps: PaymentsDeps, channel: Channel, bill_date: date) -> ReconciliationRun:
    """The run of that day, reconciled now (or the one already done: re-running a date is idempotent)."""
    today = shanghai_date(deps.clock.now())
    if bill_date >= today:
        raise InvalidInput(
            "a channel publishes a day's bill after that day ends (Beijing time)",
            path=["billDate"],
            code="BILL_NOT_YET",
        )
    if bill_date < today - OLDEST_BILL:
        raise InvalidInput("the channels keep daily bills for 90 days", path=["billDate"], code="BILL_TOO_OLD")
    return await reconcile(deps, channel, bill_date)


async def resolve_diff(diff_id: uuid.UUID, *, resolved_by: str) -> ReconciliationDiff:
    """A MANUAL difference a person has dealt with; one that was applied or resolved already is left as it is."""
    changed = await ReconciliationDiff.filter(id=diff_id, resolution=DiffResolution.MANUAL).update(
        resolution=DiffResolution.RESOLVED, resolved_by=resolved_by
    )
    diff = await ReconciliationDiff.get_or_none(id=diff_id)
    if diff is None:
        raise NotFound("no such reconciliation difference", path=["diffId"], code="DIFF_NOT_FOUND")
    if not changed:
        raise Conflict(f"this difference is already {diff.resolution.value}", path=["diffId"], code="DIFF_SETTLED")
    return diff
