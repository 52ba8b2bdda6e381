"""createPayment, confirmPayment and cancelPayment (payments.md §10).

create_payment: the caller's checks, then idempotency by (payer, key) with the request's hash, then the per-bill
guard (one live attempt per bill: returned when it is the same channel and product, closed at the channel first
otherwise), then the write-ahead CREATED row committed before the channel hears of it, then the channel, then
CREATED → PAYING by compare-and-set.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from api.identity.tokens import AccessClaims
from api.models.payment import (
    LIVE_ORDER_STATUSES,
    BillStatus,
    Channel,
    EventSource,
    OrderStatus,
    PaymentOrder,
    Product,
)
from payments.channels.base import Outcome
from payments.deps import PaymentsDeps
from payments.errors import PaymentsError, PaymentsErrorCode
from payments.service import access, calls, closing, facts, locks, prepay, records, schedule

PAYLOAD_WAIT_S = 2.0  # how long a repeated request waits for the first one's payload (§10 step 2)
CONFIRM_EVERY = timedelta(seconds=2)  # confirmPayment asks the channel at most once per order per 2 s
# A live attempt is handed out again only if the payer still has this long to pay it; otherwise a fresh one.
REUSE_MARGIN = timedelta(minutes=1)
_POLL_S = 0.05


def _in_progress() -> PaymentsError:
    return PaymentsError(
        PaymentsErrorCode.PAYMENT_IN_PROGRESS,
        "a payment for this bill is being set up; try again in a moment",
        retryable=True,
    )


def _not_payable(status: BillStatus) -> PaymentsError:
    message = f"this bill is {status.value.lower()}"
    return PaymentsError(PaymentsErrorCode.BILL_NOT_PAYABLE, message, status=status.value)


class _Step(Enum):
    REPLAY = "REPLAY"  # this (payer, key) has an order already
    REUSE = "REUSE"  # the bill's live attempt fits this request
    SWITCH = "SWITCH"  # the bill's live attempt is on another channel or product: close it first
    BUSY = "BUSY"  # the bill's live attempt is still being created at its channel
    STALE = "STALE"  # the bill's fitting live attempt never got its channel's answer: ask again, same number
    CREATED = "CREATED"  # a new CREATED row, committed
    RETRY = "RETRY"  # a unique index said no: look again


@dataclass(frozen=True)
class _Claim:
    step: _Step
    order: PaymentOrder | None = None


async def create_payment(
    deps: PaymentsDeps,
    claims: AccessClaims,
    *,
    bill_id: uuid.UUID,
    channel: Channel,
    product: Product,
    idempotency_key: str,
    client_ip: str | None = None,
) -> PaymentOrder:
    """The order (and payload) the payer's app opens to pay `bill_id`. Repeating a request with the same key
    returns the same order and payload; nothing is created for a request that is refused."""
    records.check_idempotency_key(idempotency_key)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PAYLOAD_WAIT_S
    now = deps.clock.now()
    adapter = deps.channel(channel)
    if adapter is None:
        raise PaymentsError(PaymentsErrorCode.CHANNEL_UNAVAILABLE, f"{channel.value} is not available")
    if product not in adapter.products:
        raise PaymentsError(
            PaymentsErrorCode.PRODUCT_NOT_SUPPORTED, f"{channel.value} does not offer {product.value} here"
        )
    bill = await access.visible_bill(claims, bill_id, now)
    access.require_assurance(deps.settings, claims, bill)
    digest = records.request_hash(
        billId=bill.id, channel=channel.value, product=product.value, amountFen=bill.amount_fen
    )
    mine = await PaymentOrder.get_or_none(payer_id=claims.subject, idempotency_key=idempotency_key)
    if mine is not None:
        return await _replay(deps, mine, digest, deadline)
    if bill.status is not BillStatus.UNPAID:
        raise _not_payable(bill.status)
    await access.payer_channel_id(claims.subject, channel, product)  # CHANNEL_BINDING_MISSING before any row
    async with locks.click_gate(deps.redis, bill.id, wait_s=PAYLOAD_WAIT_S):
        for _ in range(4):
            claim = await _claim(deps, claims.subject, bill.id, channel, product, idempotency_key, digest)
            if claim.step is _Step.RETRY:
                continue
            assert claim.order is not None
            if claim.step is _Step.REPLAY:
                return await _replay(deps, claim.order, digest, deadline)
            if claim.step is _Step.REUSE:
                return await _await_payload(claim.order, deadline)
            if claim.step is _Step.BUSY:
                raise _in_progress()
            if claim.step is _Step.STALE:
                return await _retry_prepay(deps, claim.order)
            if claim.step is _Step.SWITCH:
                closed = await closing.close_order(deps, claim.order, EventSource.CLIENT_CONFIRM)
                if closed.status is OrderStatus.PAID:
                    return closed  # the close revealed a payment: that is the answer, no second order
                if closed.status in LIVE_ORDER_STATUSES:
                    raise _in_progress()  # the channel did not answer the close: nothing new until it does
                continue
            order, outcome = await prepay.prepay(deps, adapter, claim.order, bill, client_ip)
            if outcome is Outcome.UNKNOWN and order.status is OrderStatus.CREATED:
                raise _in_progress()
            return order
    raise _in_progress()


async def _claim(
    deps: PaymentsDeps,
    payer_id: uuid.UUID,
    bill_id: uuid.UUID,
    channel: Channel,
    product: Product,
    key: str,
    digest: str,
) -> _Claim:
    now = deps.clock.now()
    async with locks.bill_transaction(bill_id) as db:
        bill = await locks.locked_bill(bill_id, db)
        mine = await PaymentOrder.get_or_none(payer_id=payer_id, idempotency_key=key, using_db=db)
        if mine is not None:
            return _Claim(_Step.REPLAY, mine)
        if bill.status is not BillStatus.UNPAID:
            raise _not_payable(bill.status)
        live = await PaymentOrder.filter(bill_id=bill_id, status__in=LIVE_ORDER_STATUSES).using_db(db).first()
        if live is not None:
            same = live.channel is channel and live.product is product
            # A mini-program order is bound to its payer's channel identity; other payloads anyone can open.
            fits = same and (product is not Product.JSAPI or live.payer_id == payer_id)
            in_flight = live.status is OrderStatus.CREATED and now - live.created_at < _prepay_grace(deps)
            if fits and live.expires_at - now > REUSE_MARGIN:
                stale = live.status is OrderStatus.CREATED and not in_flight
                return _Claim(_Step.STALE if stale else _Step.REUSE, live)
            if in_flight:
                return _Claim(_Step.BUSY, live)
            return _Claim(_Step.SWITCH, live)
        expires_at = now + timedelta(seconds=deps.settings.order_ttl_seconds)
        try:
            async with in_transaction():  # a savepoint: a unique index saying no leaves the transaction usable
                order = await PaymentOrder.create(
                    using_db=db,
                    bill_id=bill_id,
                    payer_id=payer_id,
                    channel=channel,
                    product=product,
                    out_trade_no=records.new_out_trade_no(now),
                    amount_fen=bill.amount_fen,
                    currency="CNY",
                    status=OrderStatus.CREATED,
                    expires_at=expires_at,
                    next_query_at=schedule.next_query_after(now, 0, expires_at),
                    idempotency_key=key,
                    request_hash=digest,
                    created_at=now,
                )
        except IntegrityError:
            return _Claim(_Step.RETRY)
    return _Claim(_Step.CREATED, order)


def _prepay_grace(deps: PaymentsDeps) -> timedelta:
    """How long a CREATED order may be waiting for its channel's answer (connect plus read timeout, and slack)."""
    s = deps.settings
    return timedelta(seconds=s.channel_connect_timeout + s.channel_read_timeout + 2)


async def _replay(deps: PaymentsDeps, order: PaymentOrder, digest: str, deadline: float) -> PaymentOrder:
    if order.request_hash != digest:
        raise PaymentsError(
            PaymentsErrorCode.IDEMPOTENCY_KEY_REUSED, "this idempotency key was used for another payment request"
        )
    if order.status is OrderStatus.CREATED and deps.clock.now() - order.created_at >= _prepay_grace(deps):
        return await _retry_prepay(deps, order)
    return await _await_payload(order, deadline)


async def _retry_prepay(deps: PaymentsDeps, order: PaymentOrder) -> PaymentOrder:
    """A CREATED order whose channel never answered, asked about by a retry: query, then ask for it again with
    the same out_trade_no (the poller's own unit of work; its claim keeps concurrent retries to one call)."""
    retried = await closing.refresh_order(deps, order, force=True)
    if retried.status is OrderStatus.CREATED:
        raise _in_progress()
    return retried


async def _await_payload(order: PaymentOrder, deadline: float) -> PaymentOrder:
    """The order once its channel has answered, waiting for a concurrent first request up to the deadline."""
    loop = asyncio.get_running_loop()
    while order.status is OrderStatus.CREATED:
        if loop.time() >= deadline:
            raise _in_progress()
        await asyncio.sleep(_POLL_S)
        order = await PaymentOrder.get(id=order.id)
    return order


async def confirm_payment(deps: PaymentsDeps, claims: AccessClaims, order_id: uuid.UUID) -> PaymentOrder:
    """The app is back from the channel: ask the channel once (at most once per order per 2 s of the clock) and
    return what is known. The app's own result is only a hint to ask."""
    now = deps.clock.now()
    order = await access.visible_order(claims, order_id, now)
    adapter = deps.channel(order.channel)
    if order.status not in LIVE_ORDER_STATUSES or adapter is None:
        return order
    claimed = await PaymentOrder.filter(
        Q(confirm_queried_at__isnull=True) | Q(confirm_queried_at__lte=now - CONFIRM_EVERY), id=order.id
    ).update(confirm_queried_at=now)
    if claimed != 1:
        return await PaymentOrder.get(id=order.id)
    fact = await calls.query(adapter, order.out_trade_no)
    return await facts.apply_trade_fact(deps, fact, EventSource.CLIENT_CONFIRM) or order


async def cancel_payment(deps: PaymentsDeps, claims: AccessClaims, order_id: uuid.UUID) -> PaymentOrder:
    """The payer gives up this attempt: closed at the channel first; PAID instead if the money arrived."""
    order = await access.visible_order(claims, order_id, deps.clock.now())
    if order.status not in LIVE_ORDER_STATUSES:
        return order
    return await closing.close_order(deps, order, EventSource.CLIENT_CONFIRM)
