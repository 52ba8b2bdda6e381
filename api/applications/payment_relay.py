"""Applications' consumer of `payments.bill_paid` (architecture §3a): a paid fee moves the 待缴费 case on.

Applications sits below payments and never imports it: all it reads is the outbox payload (billId,
applicationId, paidAt). `handling.record_payment` is idempotent per bill and the relay's receipt, inserted in
the same transaction, makes each event count once: the case advances exactly once however often the event is
delivered (payments.md §15.2 P20).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from api.applications import handling
from api.applications.transitions import IllegalTransition
from api.kit.clock import Clock, SystemClock
from api.kit.errors import InvalidInput
from api.kit.ids import parse_uuid
from api.models import Application, OutboxEvent
from api.outbox import runner
from api.outbox.relay import Handler

log = logging.getLogger("zsb.applications")

CONSUMER = "applications"
TOPICS = ("payments.bill_paid",)


def handler(clock: Clock) -> Handler:
    async def handle(event: OutboxEvent) -> None:
        await record_bill_paid(event, clock.now())

    return handle


async def record_bill_paid(event: OutboxEvent, now: datetime) -> None:
    payload = event.payload
    application_id = parse_uuid(payload.get("applicationId"))
    bill_id = payload.get("billId")
    if application_id is None:
        return  # a standalone bill (a fine, a utility): no application waits on it
    if not isinstance(bill_id, str) or not bill_id:
        log.error("bill_paid without a billId", extra={"event_id": event.id})
        return
    app = await Application.get_or_none(id=application_id)
    if app is None:
        log.error("bill_paid for an unknown application", extra={"event_id": event.id, "bill_id": bill_id})
        return
    try:
        await handling.record_payment(application_id, bill_id, _paid_moment(payload.get("paidAt"), app, now))
    except (IllegalTransition, InvalidInput) as exc:
        # Withdrawn or terminated while the payment was under way: nothing waits for it any more. Retrying cannot
        # change that, and a raise would stop this consumer; payments' own withdrawal relay settles the money.
        log.warning(
            "paid bill for an application that no longer waits for payment",
            extra={"event_id": event.id, "bill_id": bill_id, "status": app.status.value, "reason": exc.message},
        )


def _paid_moment(paid_at: object, app: Application, now: datetime) -> datetime:
    """The promised deadline resumes from the payment, not from when this relay got to it; a stamp outside the
    pause (another clock, a malformed payload) falls back to the relay's now."""
    if not isinstance(paid_at, str):
        return now
    try:
        moment = datetime.fromisoformat(paid_at)
    except ValueError:
        return now
    if moment.tzinfo is None or moment > now or (app.paused_since is not None and moment < app.paused_since):
        return now
    return moment


async def relay_applications(ctx: dict[str, Any]) -> int:
    """arq job: handle pending `payments.bill_paid` events; returns how many were handled."""
    clock: Clock = ctx.get("clock") or SystemClock()
    return await runner.relay_job(ctx, CONSUMER, TOPICS, handler(clock))
