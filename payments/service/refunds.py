"""Refunds (payments.md §9.2, §13): requested in one transaction that reserves the money, submitted to the
channel after commit with the refund's own out_refund_no, resolved by the channel's answer, a refund query or a
refund notify. An UNKNOWN refund is never replaced by a new one: only the same out_refund_no is ever sent again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from api.models.payment import EventSource, OrderStatus, PaymentOrder, Refund, RefundStatus
from payments.channels.base import Outcome, RefundFact, RefundSpec, RefundState
from payments.deps import PaymentsDeps
from payments.errors import PaymentsError, PaymentsErrorCode
from payments.service import calls, effects, ledger, locks, records, rules, schedule

log = logging.getLogger("zsb.payments")

MAX_REQUESTER = 64


def _order_not_found() -> PaymentsError:
    return PaymentsError(PaymentsErrorCode.ORDER_NOT_FOUND, "no such payment order")


def _replay(existing: Refund, digest: str) -> Refund:
    if existing.request_hash != digest:
        raise PaymentsError(
            PaymentsErrorCode.IDEMPOTENCY_KEY_REUSED,
            "this idempotency key was used for another refund request",
        )
    return existing


async def request_refund(
    deps: PaymentsDeps,
    *,
    requested_by: str,
    order_id: uuid.UUID,
    amount_fen: int,
    reason: str,
    expected_available_fen: int,
    idempotency_key: str,
) -> Refund:
    """Reserve and submit a refund of `amount_fen` of a paid order. The caller states what it believes is still
    refundable, so that a blind retry of a refund that already happened is refused (AVAILABLE_MISMATCH). The same
    (requester, key) and request returns the same refund. Role checks are the caller's."""
    records.check_idempotency_key(idempotency_key)
    if type(amount_fen) is not int or amount_fen <= 0:
        raise PaymentsError(PaymentsErrorCode.INVALID_AMOUNT, "the refund amount is a positive number of fen")
    if type(expected_available_fen) is not int or expected_available_fen < 0:
        raise PaymentsError(PaymentsErrorCode.INVALID_AMOUNT, "the expected available amount is a number of fen")
    if not requested_by or len(requested_by) > MAX_REQUESTER:
        raise ValueError("requested_by names an operator or a service, in at most 64 characters")
    digest = records.request_hash(orderId=order_id, amountFen=amount_fen)
    found = await PaymentOrder.get_or_none(id=order_id)
    if found is None:
        raise _order_not_found()
    existing = await Refund.get_or_none(requested_by=requested_by, idempotency_key=idempotency_key)
    if existing is not None:
        return _replay(existing, digest)
    now = deps.clock.now()
    try:
        async with locks.bill_transaction(found.bill_id) as db:
            await locks.locked_bill(found.bill_id, db)
            order = await PaymentOrder.filter(id=found.id).using_db(db).select_for_update().get()
            # Again under the lock: a concurrent twin of this request may have committed meanwhile.
            twin = await Refund.get_or_none(requested_by=requested_by, idempotency_key=idempotency_key, using_db=db)
            if twin is not None:
                return _replay(twin, digest)
            if order.status is not OrderStatus.PAID:
                raise PaymentsError(PaymentsErrorCode.ORDER_NOT_REFUNDABLE, "only a paid order can be refunded")
            rows = await Refund.filter(order_id=order.id).using_db(db).select_for_update()
            available = order.paid_fen - ledger.reserved_fen(list(rows))
            if expected_available_fen != available:
                raise PaymentsError(
                    PaymentsErrorCode.AVAILABLE_MISMATCH,
                    f"{available} fen are available to refund, not {expected_available_fen}",
                    available_fen=available,
                )
            if amount_fen > available:
                raise PaymentsError(
                    PaymentsErrorCode.EXCEEDS_AVAILABLE,
                    f"only {available} fen are available to refund",
                    available_fen=available,
                )
            refund = await ledger.new_refund(
                db,
                order=order,
                amount_fen=amount_fen,
                reason=reason,
                requested_by=requested_by,
                idempotency_key=idempotency_key,
                request_hash=digest,
                now=now,
            )
    except IntegrityError:
        # Another process inserted the same (requester, key) first (the row locks make this PostgreSQL's
        # unique index speaking): answer with the winner.
        twin = await Refund.get_or_none(requested_by=requested_by, idempotency_key=idempotency_key)
        if twin is None:
            raise
        return _replay(twin, digest)
    return await submit_refund(deps, refund)


async def submit_refund(deps: PaymentsDeps, refund: Refund) -> Refund:
    """Send a CREATED refund to its channel and record the answer (§9.2). Anything but a CREATED refund is
    returned as it stands: an UNKNOWN one is resolved by a query, never by a new request."""
    refund = await Refund.get(id=refund.id)
    if refund.status is not RefundStatus.CREATED:
        return refund
    order = await PaymentOrder.get(id=refund.order_id)
    adapter = deps.channel(order.channel)
    if adapter is None:
        log.error("payments: refund %s waits: channel %s is not configured", refund.out_refund_no, order.channel)
        return refund
    spec = RefundSpec(
        out_trade_no=order.out_trade_no,
        out_refund_no=refund.out_refund_no,
        amount_fen=refund.amount_fen,
        total_fen=order.paid_fen,
        reason=refund.reason,
    )
    answer = await calls.refund(adapter, spec)
    if answer.outcome is Outcome.OK:
        target = rules.refund_target(answer.state, fresh_request=True) or RefundStatus.UNKNOWN
    elif answer.outcome is Outcome.REJECTED:
        target = RefundStatus.FAILED
    else:
        target = RefundStatus.UNKNOWN
    applied = await _apply(deps, refund, answer, target, EventSource.QUERY, only_from=RefundStatus.CREATED)
    return applied.refund or refund


@dataclass(frozen=True)
class RefundApplied:
    refund: Refund | None  # None: no refund has that out_refund_no
    duplicate: bool = False


async def apply_refund_fact(
    deps: PaymentsDeps,
    fact: RefundFact,
    source: EventSource,
    *,
    dedupe_key: str | None = None,
    channel_event_id: str | None = None,
) -> Refund | None:
    """A refund query's answer or a refund notify: the only way an UNKNOWN refund resolves."""
    return (await apply_refund(deps, fact, source, dedupe_key=dedupe_key, channel_event_id=channel_event_id)).refund


async def apply_refund(
    deps: PaymentsDeps,
    fact: RefundFact,
    source: EventSource,
    *,
    dedupe_key: str | None = None,
    channel_event_id: str | None = None,
) -> RefundApplied:
    refund = await Refund.get_or_none(out_refund_no=fact.out_refund_no)
    if refund is None:
        log.error("payments alert: %s refund fact for unknown out_refund_no %r", source.value, fact.out_refund_no)
        return RefundApplied(None)
    if fact.outcome is not Outcome.OK:
        return RefundApplied(refund)
    target = rules.refund_target(fact.state, fresh_request=False)
    return await _apply(deps, refund, fact, target, source, dedupe_key=dedupe_key, channel_event_id=channel_event_id)


async def _apply(
    deps: PaymentsDeps,
    found: Refund,
    fact: RefundFact,
    target: RefundStatus | None,
    source: EventSource,
    *,
    only_from: RefundStatus | None = None,
    dedupe_key: str | None = None,
    channel_event_id: str | None = None,
) -> RefundApplied:
    now = deps.clock.now()
    moved = False
    payload = dict(fact.payload_redacted) | {"state": fact.state.value if fact.state else None}
    payload |= {"outcome": fact.outcome.value, "amountFen": fact.amount_fen}
    try:
        async with locks.bill_transaction(found.bill_id) as db:
            bill = await locks.locked_bill(found.bill_id, db)
            order = await PaymentOrder.filter(id=found.order_id).using_db(db).select_for_update().get()
            refund = await Refund.filter(id=found.id).using_db(db).select_for_update().get()
            foreign = fact.out_trade_no is not None and fact.out_trade_no != order.out_trade_no
            if foreign:
                log.error(
                    "payments alert: refund fact for %s names trade %s, not %s",
                    refund.out_refund_no,
                    fact.out_trade_no,
                    order.out_trade_no,
                )
            if fact.amount_fen is not None and fact.amount_fen != refund.amount_fen and not foreign:
                # Alipay's refund notify states the trade's refunded total, not this refund's amount.
                log.warning(
                    "payments: refund %s reported %s fen, requested %s",
                    refund.out_refund_no,
                    fact.amount_fen,
                    refund.amount_fen,
                )
            applicable = not foreign and target is not None and (only_from is None or refund.status is only_from)
            moved = await ledger.move_refund(
                db,
                bill=bill,
                order=order,
                refund=refund,
                target=target if applicable and target is not None else refund.status,
                source=source,
                now=now,
                channel_refund_id=fact.channel_refund_id,
                payload=payload,
                dedupe_key=dedupe_key,
                channel_event_id=channel_event_id,
            )
    except records.Duplicate:
        return RefundApplied(await Refund.get(id=found.id), duplicate=True)
    if moved and target is RefundStatus.SUCCEEDED:
        await effects.kick(deps)
    return RefundApplied(await Refund.get(id=found.id))


async def refresh_refund(deps: PaymentsDeps, refund: Refund, *, force: bool = False) -> Refund:
    """The refund poller's unit of work for one due refund: claim it by moving `next_query_at` on (so that two
    pollers never both ask), then submit a CREATED refund that was never sent, or query an UNKNOWN/SUBMITTED one.
    An UNKNOWN refund the channel has never heard of is sent again with the same out_refund_no; its answer is not
    taken as the result (only the next query's is)."""
    refund = await Refund.get(id=refund.id)
    if refund.status not in (RefundStatus.CREATED, RefundStatus.SUBMITTED, RefundStatus.UNKNOWN):
        return refund
    now = deps.clock.now()
    if not force and refund.next_query_at is not None and refund.next_query_at > now:
        return refund
    later = max(
        schedule.next_refund_query_after(refund.created_at, refund.query_attempts + 1),
        now + schedule.REFUND_FIRST_QUERY,
    )
    claimed = await Refund.filter(id=refund.id, status=refund.status, query_attempts=refund.query_attempts).update(
        query_attempts=F("query_attempts") + 1, next_query_at=later
    )
    if claimed != 1:
        return await Refund.get(id=refund.id)
    if refund.status is RefundStatus.CREATED:
        return await submit_refund(deps, refund)
    order = await PaymentOrder.get(id=refund.order_id)
    adapter = deps.channel(order.channel)
    if adapter is None:
        return refund
    fact = await calls.query_refund(adapter, order.out_trade_no, refund.out_refund_no)
    if fact.outcome is Outcome.OK and fact.state is RefundState.NOT_FOUND and refund.status is RefundStatus.UNKNOWN:
        log.warning("payments: refund %s unknown at %s; sent again, same number", refund.out_refund_no, order.channel)
        spec = RefundSpec(order.out_trade_no, refund.out_refund_no, refund.amount_fen, order.paid_fen, refund.reason)
        await calls.refund(adapter, spec)
        return await Refund.get(id=refund.id)
    return await apply_refund_fact(deps, fact, EventSource.QUERY) or refund
