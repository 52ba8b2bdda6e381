"""Bills (缴款单): created by payments' relay from `application.fee_required` or for a standalone debt, and
cancelled when what they charge for is gone (an application withdrawn)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from api.kit.errors import InvalidInput
from api.models.payment import LIVE_ORDER_STATUSES, Bill, BillKind, BillStatus, EventSource, PaymentOrder
from payments.deps import PaymentsDeps
from payments.errors import PaymentsError, PaymentsErrorCode
from payments.service import closing, locks, records

log = logging.getLogger("zsb.payments")

MAX_BILL_FEN = 10**16  # GB/T 39046 n..16,2 元 stays within int64 fen


def _check_bill(
    person_id: uuid.UUID | None, enterprise_id: uuid.UUID | None, amount_fen: int, subject: str, issuer: str
) -> None:
    if (person_id is None) == (enterprise_id is None):
        raise ValueError("a bill has exactly one holder: a person or an enterprise")
    if type(amount_fen) is not int or not 0 < amount_fen <= MAX_BILL_FEN:
        raise PaymentsError(PaymentsErrorCode.INVALID_AMOUNT, "a bill's amount is a positive number of fen")
    if not subject.strip() or len(subject) > 128:
        raise InvalidInput("the subject is 1 to 128 characters", path=["subject"], code="INVALID_SUBJECT")
    if not issuer.strip() or len(issuer) > 100:
        raise InvalidInput("the issuer is 1 to 100 characters", path=["issuer"], code="INVALID_ISSUER")


async def create_bill(
    *,
    kind: BillKind,
    person_id: uuid.UUID | None,
    enterprise_id: uuid.UUID | None,
    issuer: str,
    issuer_code: str,
    subject: str,
    amount_fen: int,
    lines: list[dict[str, Any]],
    due_at: datetime | None,
    now: datetime,
    application_id: uuid.UUID | None = None,
    source_key: str | None = None,
    min_assurance: int = 2,
    bill_no: str | None = None,
    db: BaseDBAsyncClient | None = None,
) -> Bill:
    """A new UNPAID bill and its `payments.bill_created` outbox row, in one transaction (the caller's when `db`
    is given). A replay with the same `source_key` returns the bill made the first time."""
    _check_bill(person_id, enterprise_id, amount_fen, subject, issuer)
    if source_key is not None:
        existing = await Bill.get_or_none(source_key=source_key, using_db=db)
        if existing is not None:
            return existing
    for attempt in range(5):
        number = bill_no or records.new_bill_no(now)
        try:
            async with db._in_transaction() if db is not None else in_transaction() as tx:
                bill = await Bill.create(
                    using_db=tx,
                    bill_no=number,
                    kind=kind,
                    application_id=application_id,
                    source_key=source_key,
                    person_id=person_id,
                    enterprise_id=enterprise_id,
                    issuer=issuer,
                    issuer_code=issuer_code[:18],
                    subject=subject,
                    lines=lines,
                    amount_fen=amount_fen,
                    min_assurance=min_assurance,
                    due_at=due_at,
                    status=BillStatus.UNPAID,
                    created_at=now,
                )
                await records.add_outbox(
                    tx,
                    topic=records.TOPIC_BILL_CREATED,
                    key=bill.id,
                    state_version=bill.version,
                    payload=bill_payload(bill),
                    now=now,
                )
            return bill
        except IntegrityError:
            if source_key is not None:
                existing = await Bill.get_or_none(source_key=source_key, using_db=db)
                if existing is not None:
                    return existing
            if bill_no is not None or attempt == 4:
                raise  # an explicit number that is taken, or five random ones in a row: not ours to hide
    raise AssertionError("unreachable")


def bill_payload(bill: Bill) -> dict[str, object]:
    """What notices about a bill carry (payments.bill_created, .bill_due_soon)."""
    return {
        "billId": str(bill.id),
        "billNo": bill.bill_no,
        "kind": bill.kind.value,
        "applicationId": str(bill.application_id) if bill.application_id else None,
        "personId": str(bill.person_id) if bill.person_id else None,
        "enterpriseId": str(bill.enterprise_id) if bill.enterprise_id else None,
        "issuer": bill.issuer,
        "subject": bill.subject,
        "amountFen": bill.amount_fen,
        "dueAt": bill.due_at.isoformat() if bill.due_at else None,
    }


async def cancel_bill(
    deps: PaymentsDeps,
    bill_id: uuid.UUID,
    *,
    reason: str,
    db: BaseDBAsyncClient | None = None,
    source: EventSource = EventSource.ADMIN,
) -> Bill:
    """UNPAID → CANCELLED once no attempt can still take money: each live order is closed at its channel first.
    A close that reveals a payment leaves the bill PAID (returned as such; refunding it is the caller's policy).
    A bill already PAID, refunded or cancelled is returned unchanged. When a channel does not answer the close,
    PAYMENT_IN_PROGRESS (retryable) and nothing changes.

    Channels are called before any transaction: `db` (a caller's transaction) is only joined for the final
    compare-and-set, so call this outside a transaction when the bill may have a live order."""
    for _ in range(3):
        bill = await Bill.get_or_none(id=bill_id, using_db=db)
        if bill is None:
            raise PaymentsError(PaymentsErrorCode.BILL_NOT_FOUND, "no such bill")
        if bill.status is not BillStatus.UNPAID:
            return bill
        for order in await PaymentOrder.filter(bill_id=bill_id, status__in=LIVE_ORDER_STATUSES).using_db(db):
            closed = await closing.close_order(deps, order, source)
            if closed.status in LIVE_ORDER_STATUSES:
                raise PaymentsError(
                    PaymentsErrorCode.PAYMENT_IN_PROGRESS, "a payment of this bill is still open", retryable=True
                )
        now = deps.clock.now()
        async with locks.bill_guard(bill_id), db._in_transaction() if db is not None else in_transaction() as tx:
            bill = await locks.locked_bill(bill_id, tx)
            if bill.status is not BillStatus.UNPAID:
                return bill
            live = await PaymentOrder.filter(bill_id=bill_id, status__in=LIVE_ORDER_STATUSES).using_db(tx).exists()
            if not live:
                await (
                    Bill.filter(id=bill_id, version=bill.version)
                    .using_db(tx)
                    .update(status=BillStatus.CANCELLED, cancelled_at=now, version=F("version") + 1)
                )
                log.info("payments: bill %s cancelled: %s", bill.bill_no, reason)
                return await Bill.get(id=bill_id, using_db=tx)
        # a new attempt started meanwhile: close it too
    raise PaymentsError(PaymentsErrorCode.PAYMENT_IN_PROGRESS, "payments of this bill keep starting", retryable=True)
