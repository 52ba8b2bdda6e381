"""Application fees end to end (P01, P03, P20): a case in 待缴费, the Bill payments' relay makes from its
`application.fee_required`, and applications' relay moving the case on from `payments.bill_paid`.

Use with the `quiet_relays` fixture: both relays then run only when the test runs them, each "at" a moment of its
own (`World.ctx`), never on the session's clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.applications import payment_relay
from api.models import (
    Application,
    ApplicationEvent,
    ApplicationStatus,
    EventType,
    OutboxEvent,
    OutboxProgress,
    OutboxReceipt,
)
from api.models.payment import Bill, BillKind, BillStatus
from payments import tasks as payment_tasks
from payments import tasks_relay
from tests.applications.handling_support import done
from tests.applications.test_payment_requests import in_progress
from tests.payments.conformance.support import BILL_FEN, At, World

BILL_PAID = "payments.bill_paid"


@dataclass(frozen=True)
class FeeCase:
    application_id: str
    bill: Bill
    notice: OutboxEvent


async def fee_case(world: World) -> FeeCase:
    """A passport case of the world's resident in 待缴费 for a stated fee of 5000 fen, and its UNPAID Bill."""
    _, handler, case_id = await in_progress(world.api, world.resident)
    case = await done(world.api, handler, "requestApplicationPayment", applicationId=case_id, amountFen=str(BILL_FEN))
    assert case["status"] == "PENDING_PAYMENT", case
    notice = await OutboxEvent.get(topic=tasks_relay.FEE_REQUIRED, key=case_id)
    await payment_tasks.relay_payments(world.ctx(world.now()))
    assert await OutboxReceipt.exists(consumer=tasks_relay.CONSUMER, event_id=notice.id), "payments' relay is stuck"
    bill = await Bill.get(source_key=tasks_relay.source_key(notice))
    assert (bill.kind, bill.status, bill.amount_fen, bill.person_id, str(bill.application_id)) == (
        BillKind.APPLICATION_FEE,
        BillStatus.UNPAID,
        BILL_FEN,
        world.person_id,
        case_id,
    )
    assert await OutboxEvent.filter(topic="payments.bill_created", key=str(bill.id)).count() == 1
    return FeeCase(case_id, bill, notice)


async def run_applications_relay(world: World) -> int:
    """Applications' consumer of payments.bill_paid, run once now (no Redis lock: the test is the only runner)."""
    return await payment_relay.relay_applications({"clock": At(world.now())})


async def bill_paid_events(bill: Bill) -> list[OutboxEvent]:
    return list(await OutboxEvent.filter(topic=BILL_PAID, key=str(bill.id)).order_by("id"))


async def paid_steps(application_id: str) -> list[ApplicationEvent]:
    """The case's PAID journal entries: one per time it left 待缴费 on a payment."""
    return list(await ApplicationEvent.filter(application_id=application_id, event_type=EventType.PAID))


async def status_of(application_id: str) -> ApplicationStatus:
    return (await Application.get(id=application_id)).status


async def handled_by_applications(event: OutboxEvent) -> bool:
    return await OutboxReceipt.exists(consumer=payment_relay.CONSUMER, event_id=event.id)


async def applications_watermark() -> int:
    """How far applications' relay has settled the outbox (every event at or below it is handled)."""
    progress = await OutboxProgress.get_or_none(consumer=payment_relay.CONSUMER)
    return progress.last_event_id if progress is not None else 0
