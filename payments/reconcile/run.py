"""Daily reconciliation of one channel's bill (payments.md §13).

One `ReconciliationRun` per (channel, bill date): running a date again reuses it and adds only the diffs it does
not have yet (one per key), so a re-run never alerts, applies or refunds twice. Corrections go through the normal
transitions (`apply_trade_fact` / `apply_refund_fact`, source RECONCILE); reconciliation never refunds by itself:
only `apply_trade_fact`'s DUPLICATE_PAYMENT path may, and only with `auto_refund_duplicates`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from api.kit.clock import SHANGHAI
from api.models.payment import (
    Channel,
    DiffKind,
    DiffResolution,
    EventSource,
    OrderStatus,
    PaymentOrder,
    ReconciliationDiff,
    ReconciliationRun,
    ReconciliationStatus,
    Refund,
    RefundStatus,
)
from payments.channels.base import BillDownload, BillLine, Outcome, RefundState, TradeFact, TradeState
from payments.deps import PaymentsDeps
from payments.reconcile.diff import Diff, OurOrder, OurRefund, Unmatched, compare
from payments.service import calls, facts, records, refunds

log = logging.getLogger("zsb.payments")

RESOLVER = "service:payments"
# A run left RUNNING this long was cut short (a crash, a worker restart): the next run takes it over.
STALE_RUN = timedelta(minutes=30)
_CHUNK = 500


def day_bounds(bill_date: date) -> tuple[datetime, datetime]:
    """The Beijing-time day as aware UTC instants [start, end)."""
    start = datetime.combine(bill_date, time(0), tzinfo=SHANGHAI).astimezone(UTC)
    return start, start + timedelta(days=1)


async def reconcile(deps: PaymentsDeps, channel: Channel, bill_date: date) -> ReconciliationRun:
    """Download the channel's bill of `bill_date`, diff it against our PAID orders and SUCCEEDED refunds of that
    Beijing-time date, record one diff per key and act on it. A bill that cannot be had leaves the run FAILED
    (the next run of the date tries again); nothing else changes."""
    now = deps.clock.now()
    run, ours = await _claim_run(channel, bill_date, now)
    if not ours:
        return run
    adapter = deps.channel(channel)
    download = await _download(adapter, bill_date) if adapter else BillDownload(Outcome.UNKNOWN, reason="no channel")
    if download.outcome is not Outcome.OK:
        log.error("payments alert: %s bill of %s unavailable: %s", channel.value, bill_date, download.reason)
        await ReconciliationRun.filter(id=run.id).update(
            status=ReconciliationStatus.FAILED, finished_at=now, error=download.reason[:300]
        )
        return await ReconciliationRun.get(id=run.id)
    counts = await _reconcile_lines(deps, run, channel, bill_date, download.lines, now)
    await ReconciliationRun.filter(id=run.id).update(
        status=ReconciliationStatus.DONE, counts=dict(counts), finished_at=deps.clock.now(), error=""
    )
    log.info("payments: reconciled %s %s", channel.value, bill_date, extra={"counts": dict(counts)})
    return await ReconciliationRun.get(id=run.id)


async def _claim_run(channel: Channel, bill_date: date, now: datetime) -> tuple[ReconciliationRun, bool]:
    """The date's run and whether it is ours now (RUNNING); not ours while another run of the date is under way."""
    try:
        run = await ReconciliationRun.create(
            channel=channel, bill_date=bill_date, status=ReconciliationStatus.RUNNING, created_at=now
        )
        return run, True
    except IntegrityError:
        run = await ReconciliationRun.get(channel=channel, bill_date=bill_date)
    takeover = Q(status__in=(ReconciliationStatus.DONE, ReconciliationStatus.FAILED)) | Q(
        status=ReconciliationStatus.RUNNING, updated_at__lt=now - STALE_RUN
    )
    claimed = await ReconciliationRun.filter(Q(id=run.id) & takeover).update(
        status=ReconciliationStatus.RUNNING, finished_at=None, error=""
    )
    if claimed != 1:
        log.info("payments: reconciliation of %s %s already under way", channel.value, bill_date)
        return run, False
    return await ReconciliationRun.get(id=run.id), True


async def _download(adapter: Any, bill_date: date) -> BillDownload:
    try:
        result: BillDownload = await adapter.download_bill(bill_date)
    except Exception as exc:  # adapters never raise; a bug that does is an unavailable bill like any other
        log.exception("payments: bill download raised")
        return BillDownload(Outcome.UNKNOWN, reason=f"adapter error: {type(exc).__name__}")
    return result


async def _reconcile_lines(
    deps: PaymentsDeps,
    run: ReconciliationRun,
    channel: Channel,
    bill_date: date,
    lines: Sequence[BillLine],
    now: datetime,
) -> Counter[str]:
    trade_nos = {line.out_trade_no for line in lines}
    refund_nos = {line.out_refund_no for line in lines if line.kind == "refund" and line.out_refund_no}
    orders = {o.out_trade_no: o for o in await _our_orders(channel, trade_nos)}
    our_refunds = {r.out_refund_no: r for r in await _our_refunds(channel, refund_nos=refund_nos)}
    start, end = day_bounds(bill_date)
    paid_rows = await PaymentOrder.filter(channel=channel, status=OrderStatus.PAID, paid_at__gte=start, paid_at__lt=end)
    paid_that_day = [_our_order(o) for o in paid_rows]
    refunded_that_day = await _our_refunds(channel, succeeded_between=(start, end))
    comparison = compare(lines, orders, our_refunds, paid_that_day, refunded_that_day)
    counts = comparison.counts
    diffs = list(comparison.diffs)
    for candidate in comparison.unmatched:
        confirmed = await _confirm_unmatched(deps, channel, candidate)
        if confirmed is None:
            counts["booked_another_day"] += 1
        else:
            diffs.append(confirmed)
    existing = {d.diff_key for d in await ReconciliationDiff.filter(run_id=run.id).only("id", "diff_key")}
    for found in diffs:
        counts[found.kind.value] += 1
        if found.key[:80] in existing:
            counts["known"] += 1  # recorded (and acted on) by an earlier run of this date
            continue
        resolution = await _record_and_act(deps, run, channel, bill_date, found, now)
        counts[resolution.value] += 1
    return counts


async def _our_orders(channel: Channel, trade_nos: Iterable[str]) -> list[OurOrder]:
    numbers = sorted(trade_nos)
    rows: list[PaymentOrder] = []
    for at in range(0, len(numbers), _CHUNK):
        rows += await PaymentOrder.filter(channel=channel, out_trade_no__in=numbers[at : at + _CHUNK])
    return [_our_order(o) for o in rows]


def _our_order(order: PaymentOrder) -> OurOrder:
    return OurOrder(
        order_id=order.id,
        bill_id=order.bill_id,
        out_trade_no=order.out_trade_no,
        status=order.status,
        amount_fen=order.amount_fen,
        paid_fen=order.paid_fen,
        channel_trade_no=order.channel_trade_no,
        paid_at=order.paid_at,
    )


async def _our_refunds(
    channel: Channel,
    *,
    refund_nos: Iterable[str] = (),
    succeeded_between: tuple[datetime, datetime] | None = None,
) -> list[OurRefund]:
    if succeeded_between is not None:
        start, end = succeeded_between
        rows = list(await Refund.filter(status=RefundStatus.SUCCEEDED, succeeded_at__gte=start, succeeded_at__lt=end))
    else:
        numbers = sorted(refund_nos)
        rows = []
        for at in range(0, len(numbers), _CHUNK):
            rows += await Refund.filter(out_refund_no__in=numbers[at : at + _CHUNK])
    order_ids = sorted({r.order_id for r in rows})
    trades: dict[Any, str] = {}
    for at in range(0, len(order_ids), _CHUNK):
        for order in await PaymentOrder.filter(id__in=order_ids[at : at + _CHUNK], channel=channel):
            trades[order.id] = order.out_trade_no
    return [
        OurRefund(
            refund_id=r.id,
            bill_id=r.bill_id,
            out_trade_no=trades[r.order_id],
            out_refund_no=r.out_refund_no,
            status=r.status,
            amount_fen=r.amount_fen,
            succeeded_at=r.succeeded_at,
        )
        for r in rows
        if r.order_id in trades  # another channel's refund is that channel's bill's business
    ]


async def _confirm_unmatched(deps: PaymentsDeps, channel: Channel, candidate: Unmatched) -> Diff | None:
    """Ours, not in their bill: ask the channel. Paid (or refunded) there means it is booked on another day's bill
    (our stamp and theirs straddle midnight); anything else, an unanswered query included, is a diff for a
    person: a false alarm costs a look, a missed one costs money."""
    adapter = deps.channel(channel)
    if candidate.order is not None:
        order = candidate.order
        fact = await calls.query(adapter, order.out_trade_no) if adapter else None
        if fact is not None and fact.outcome is Outcome.OK and fact.state in (TradeState.PAID, TradeState.REFUNDED):
            return None
        theirs = {"query": _fact_view(fact.outcome.value if fact else "UNKNOWN", fact.state if fact else None)}
        return Diff(DiffKind.WE_PAID_THEY_DIDNT, order.out_trade_no, ours=order.view(), theirs=theirs, order=order)
    refund = candidate.refund
    assert refund is not None
    answer = await calls.query_refund(adapter, refund.out_trade_no, refund.out_refund_no) if adapter else None
    if answer is not None and answer.outcome is Outcome.OK and answer.state is RefundState.SUCCEEDED:
        return None
    theirs = {"query": _fact_view(answer.outcome.value if answer else "UNKNOWN", answer.state if answer else None)}
    return Diff(
        DiffKind.REFUND_MISMATCH,
        refund.out_trade_no,
        refund.out_refund_no,
        ours=refund.view(),
        theirs=theirs,
        refund=refund,
    )


def _fact_view(outcome: str, state: object) -> dict[str, Any]:
    return {"outcome": outcome, "state": getattr(state, "value", None)}


async def _record_and_act(
    deps: PaymentsDeps,
    run: ReconciliationRun,
    channel: Channel,
    bill_date: date,
    found: Diff,
    now: datetime,
) -> DiffResolution:
    """The diff row first (with its alert row when critical), then the correction, then its resolution: a crash in
    between leaves a MANUAL diff, never a correction applied twice (a re-run finds the key and moves on)."""
    try:
        async with in_transaction() as db:
            row = await ReconciliationDiff.create(
                using_db=db,
                run_id=run.id,
                kind=found.kind,
                diff_key=found.key[:80],
                out_trade_no=found.out_trade_no[:32],
                out_refund_no=found.out_refund_no[:64] if found.out_refund_no else None,
                ours=dict(found.ours),
                theirs=dict(found.theirs),
                critical=found.critical,
                resolution=DiffResolution.MANUAL,
                created_at=now,
            )
            if found.critical:
                await _raise_anomaly(db, row, channel, bill_date, found, now)
    except IntegrityError:  # a concurrent run of the date recorded it first
        return DiffResolution.MANUAL
    if found.critical:
        log.error(
            "payments alert: reconciliation %s %s: %s for %s",
            channel.value,
            bill_date,
            found.kind.value,
            found.key,
            extra={"ours": dict(found.ours), "theirs": dict(found.theirs)},
        )
    resolution = await _act(deps, channel, found)
    if resolution is not DiffResolution.MANUAL:
        await ReconciliationDiff.filter(id=row.id).update(resolution=resolution, resolved_by=RESOLVER)
    elif found.kind is DiffKind.AMOUNT_MISMATCH:
        log.error("payments alert: reconciliation amount mismatch on %s", found.key, extra={"theirs": found.theirs})
    return resolution


async def _raise_anomaly(
    db: Any, row: ReconciliationDiff, channel: Channel, bill_date: date, found: Diff, now: datetime
) -> None:
    """`payments.anomaly` for a critical diff, shaped like the service's order anomalies; its state_version is
    the id of the audit event that records the finding (as for the service's), so it never collides."""
    order = found.order
    bill_id = order.bill_id if order else (found.refund.bill_id if found.refund else None)
    detail = {
        "runId": str(row.run_id),
        "diffId": str(row.id),
        "billDate": bill_date.isoformat(),
        "outRefundNo": found.out_refund_no,
        "ours": dict(found.ours),
        "theirs": dict(found.theirs),
    }
    event = await records.add_event(
        db,
        channel=channel,
        source=EventSource.RECONCILE,
        now=now,
        order_id=order.order_id if order else None,
        refund_id=found.refund.refund_id if found.refund else None,
        verified=True,
        payload={"diff": found.kind.value, **detail},
    )
    await records.add_outbox(
        db,
        topic=records.TOPIC_ANOMALY,
        key=bill_id or f"{channel.value}:{found.out_trade_no}",
        state_version=event.id,
        payload={
            "billId": str(bill_id) if bill_id else None,
            "orderId": str(order.order_id) if order else None,
            "outTradeNo": found.out_trade_no,
            "channel": channel.value,
            "anomaly": found.kind.value,
            "source": EventSource.RECONCILE.value,
            "detail": detail,
        },
        now=now,
    )


async def _act(deps: PaymentsDeps, channel: Channel, found: Diff) -> DiffResolution:
    if found.kind is DiffKind.STATUS_MISMATCH_THEY_PAID and found.line is not None:
        line = found.line
        fact = TradeFact(
            outcome=Outcome.OK,
            out_trade_no=line.out_trade_no,
            state=TradeState.PAID,
            channel_trade_no=line.channel_trade_no,
            amount_fen=line.amount_fen,
            paid_at=line.at,
            # The bill is downloaded with our own credentials: it names no other merchant or app.
            payload_redacted={"source": "bill", "at": line.at.isoformat(), "amountFen": line.amount_fen},
        )
        order = await facts.apply_trade_fact(deps, fact, EventSource.RECONCILE)
        applied = order is not None and order.status is OrderStatus.PAID
        return DiffResolution.APPLIED if applied else DiffResolution.MANUAL
    if found.kind is DiffKind.REFUND_MISMATCH and found.refund is not None and found.line is not None:
        ours = found.refund
        adapter = deps.channel(channel)
        if adapter is None:
            return DiffResolution.MANUAL
        answer = await calls.query_refund(adapter, ours.out_trade_no, ours.out_refund_no)
        refund = await refunds.apply_refund_fact(deps, answer, EventSource.RECONCILE)
        if refund is None or refund.status is not RefundStatus.SUCCEEDED or refund.amount_fen != found.line.amount_fen:
            return DiffResolution.MANUAL
        return DiffResolution.APPLIED
    return DiffResolution.MANUAL
