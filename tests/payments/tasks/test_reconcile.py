"""reconcile and reconcile_yesterday (payments.md §13) against the sandboxes' bills of the live server.

Each test reconciles a Beijing date of its own (far ahead: nothing else happened on it) and stages the channel's
bill for it. Our side of the day is made as the channels would tell it: orders created through the service at
noon of that day, their payments applied as verified facts stamped that day.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime, time, timedelta

from api.kit.clock import SHANGHAI
from api.models import OutboxEvent
from api.models.payment import (
    Anomaly,
    Bill,
    BillStatus,
    Channel,
    DiffKind,
    DiffResolution,
    EventSource,
    OrderStatus,
    PaymentEvent,
    PaymentOrder,
    ReconciliationDiff,
    ReconciliationRun,
    ReconciliationStatus,
    Refund,
    RefundStatus,
)
from payments import service, tasks
from payments.channels.base import BillLine, Outcome, TradeFact, TradeState
from tests.payments.tasks.support import Jobs, TestClock, bill_date
from tests.support.client import LiveServer

BILL_URL = "alipay.data.dataservice.bill.downloadurl.query"


@dataclasses.dataclass
class Day:
    jobs: Jobs
    date: date

    def ctx(self, **extra: object) -> dict[str, object]:
        """The job runs the next morning, after the bill is published."""
        self.jobs.clock.moment = datetime.combine(self.date + timedelta(days=1), time(10, 30), tzinfo=SHANGHAI)
        return self.jobs.ctx(**extra)

    def at_noon(self) -> None:
        self.jobs.clock.moment = datetime.combine(self.date, time(12), tzinfo=SHANGHAI)

    async def order(self, bill: Bill | None = None) -> PaymentOrder:
        self.at_noon()
        return await self.jobs.order(bill)

    async def paid(self, order: PaymentOrder, *, at_channel: bool = True) -> PaymentOrder:
        """Paid on this day as a verified notify would say (`at_channel=False`: the channel never got the money)."""
        trade = self.jobs.sandbox.alipay.trade(order.out_trade_no)
        assert trade is not None
        if at_channel:
            await self.jobs.sandbox.alipay.pay(order.out_trade_no, notify=False)
        fact = TradeFact(
            Outcome.OK,
            order.out_trade_no,
            state=TradeState.PAID,
            channel_trade_no=trade.trade_no,
            amount_fen=order.amount_fen,
            paid_at=datetime.combine(self.date, time(12, 1), tzinfo=SHANGHAI),
        )
        applied = await service.apply_trade_fact(self.jobs.clocked(), fact, EventSource.NOTIFY)
        assert applied is not None and applied.status is OrderStatus.PAID
        return applied

    def line(self, order: PaymentOrder, amount_fen: int | None = None, **extra: object) -> BillLine:
        trade = self.jobs.sandbox.alipay.trade(order.out_trade_no)
        assert trade is not None
        at = datetime.combine(self.date, time(12, 1), tzinfo=SHANGHAI)
        return BillLine(
            str(extra.get("kind", "pay")),
            order.out_trade_no,
            trade.trade_no,
            amount_fen if amount_fen is not None else order.amount_fen,
            at,
            out_refund_no=extra.get("out_refund_no"),  # type: ignore[arg-type]
        )

    def stage(self, *lines: BillLine) -> None:
        self.jobs.sandbox.alipay.set_bill(self.date, lines)

    async def run(self, **extra: object) -> ReconciliationRun:
        await tasks.reconcile(self.ctx(**extra), Channel.ALIPAY, self.date)
        return await ReconciliationRun.get(channel=Channel.ALIPAY, bill_date=self.date)


def day(live: LiveServer) -> Day:
    return Day(Jobs(live, TestClock(live)), bill_date())


async def diffs(run: ReconciliationRun) -> list[ReconciliationDiff]:
    return list(await ReconciliationDiff.filter(run_id=run.id).order_by("diff_key"))


async def anomalies(key: str) -> list[OutboxEvent]:
    return list(await OutboxEvent.filter(topic="payments.anomaly", key=key))


class TestReconcile:
    async def test_a_bill_that_agrees_with_us_makes_no_diff(self, live: LiveServer) -> None:
        # given
        d = day(live)
        order = await d.paid(await d.order())
        d.stage(d.line(order))

        # when
        run = await d.run()

        # then
        assert (run.status, run.counts, run.error) == (
            ReconciliationStatus.DONE,
            {"pay_lines": 1, "matched": 1},
            "",
        )
        assert await diffs(run) == []

    async def test_they_paid_for_an_order_we_hold_unpaid_is_applied_once(self, live: LiveServer) -> None:
        # given: paid at the channel, every notify and query lost
        d = day(live)
        order = await d.order()
        await d.jobs.sandbox.alipay.pay(order.out_trade_no, notify=False)
        d.stage(d.line(order))

        # when: reconciled, and the date again
        run = await d.run()
        again = await d.run()

        # then: PAID through the normal transition, recorded as one applied diff
        row = await PaymentOrder.get(id=order.id)
        assert (row.status, row.paid_fen) == (OrderStatus.PAID, 5000)
        assert not row.anomaly
        assert (await Bill.get(id=order.bill_id)).status is BillStatus.PAID
        (diff,) = await diffs(run)
        assert (diff.kind, diff.diff_key, diff.resolution, diff.resolved_by, diff.critical) == (
            DiffKind.STATUS_MISMATCH_THEY_PAID,
            f"trade:{order.out_trade_no}",
            DiffResolution.APPLIED,
            "service:payments",
            False,
        )
        assert again.id == run.id and await diffs(again) == [diff]
        assert again.counts == {"pay_lines": 1, "matched": 1}
        paid = await PaymentEvent.filter(order_id=order.id, to_status="PAID")
        assert [e.source for e in paid] == [EventSource.RECONCILE]

    async def test_a_payment_we_never_made_is_critical_and_alerted_once(self, live: LiveServer) -> None:
        # given
        d = day(live)
        stray = f"X{uuid.uuid4().hex[:20]}"
        at = datetime.combine(d.date, time(9), tzinfo=SHANGHAI)
        d.stage(BillLine("pay", stray, "2088STRAY", 100, at))

        # when
        run = await d.run()
        await d.run()

        # then
        (diff,) = await diffs(run)
        assert (diff.kind, diff.critical, diff.resolution, diff.out_trade_no) == (
            DiffKind.LOCAL_MISSING,
            True,
            DiffResolution.MANUAL,
            stray,
        )
        (alert,) = await anomalies(f"ALIPAY:{stray}")
        detail = alert.payload["detail"]
        assert isinstance(detail, dict)
        assert (alert.payload["anomaly"], alert.payload["source"], detail["diffId"]) == (
            "LOCAL_MISSING",
            "RECONCILE",
            str(diff.id),
        )

    async def test_our_payment_missing_from_their_bill_is_checked_with_the_channel(self, live: LiveServer) -> None:
        # given: two payments of ours the bill does not list: one the channel holds (booked another day), one it
        # has never seen
        d = day(live)
        booked_elsewhere = await d.paid(await d.order())
        never_paid = await d.paid(await d.order(), at_channel=False)
        d.stage()

        # when
        run = await d.run()

        # then
        (diff,) = await diffs(run)
        assert (diff.kind, diff.out_trade_no, diff.critical, diff.theirs) == (
            DiffKind.WE_PAID_THEY_DIDNT,
            never_paid.out_trade_no,
            True,
            {"query": {"outcome": "OK", "state": "PENDING"}},
        )
        assert run.counts["booked_another_day"] == 1
        assert [a.payload["anomaly"] for a in await anomalies(str(never_paid.bill_id))] == ["WE_PAID_THEY_DIDNT"]
        assert await anomalies(str(booked_elsewhere.bill_id)) == []

    async def test_another_amount_waits_for_a_person(self, live: LiveServer) -> None:
        # given
        d = day(live)
        order = await d.paid(await d.order())
        d.stage(d.line(order, 4000))

        # when
        run = await d.run()

        # then: nothing moved, nothing refunded
        (diff,) = await diffs(run)
        assert (diff.kind, diff.resolution, diff.critical) == (DiffKind.AMOUNT_MISMATCH, DiffResolution.MANUAL, False)
        assert (diff.ours["paidFen"], diff.theirs["amountFen"]) == (5000, 4000)
        assert await Refund.filter(order_id=order.id).count() == 0

    async def test_a_refund_they_made_that_we_hold_unknown_is_queried_then_applied(self, live: LiveServer) -> None:
        # given: the refund happened at the channel; its answer and notify were lost
        d = day(live)
        order = await d.paid(await d.order())
        d.jobs.sandbox.alipay.drop_notifies(order.out_trade_no)
        d.jobs.sandbox.alipay.script("alipay.trade.refund", http_status=502, perform_anyway=True)
        refund = await service.request_refund(
            d.jobs.clocked(),
            requested_by="finance-test",
            order_id=order.id,
            amount_fen=2000,
            reason="部分退费",
            expected_available_fen=5000,
            idempotency_key=str(uuid.uuid4()),
        )
        assert refund.status is RefundStatus.UNKNOWN
        d.stage(d.line(order), d.line(order, 2000, kind="refund", out_refund_no=refund.out_refund_no))

        # when
        run = await d.run()

        # then
        (diff,) = await diffs(run)
        assert (diff.kind, diff.diff_key, diff.resolution) == (
            DiffKind.REFUND_MISMATCH,
            f"refund:{refund.out_refund_no}",
            DiffResolution.APPLIED,
        )
        assert (await Refund.get(id=refund.id)).status is RefundStatus.SUCCEEDED
        assert (await Bill.get(id=order.bill_id)).status is BillStatus.PARTIALLY_REFUNDED
        assert len(d.jobs.sandbox.alipay.requests("alipay.trade.refund", out_trade_no=order.out_trade_no)) == 1

    async def test_a_duplicate_payment_found_by_reconciliation_is_not_refunded_without_approval(
        self, live: LiveServer
    ) -> None:
        # given: a first attempt closed, the bill paid through a second; the bill says the first was paid too
        d = day(live)
        first = await d.order()
        closed = await service.close_order(d.jobs.clocked(), first, EventSource.CLIENT_CONFIRM)
        assert closed.status is OrderStatus.CLOSED
        second = await d.paid(await d.order(await Bill.get(id=first.bill_id)))
        d.stage(d.line(first), d.line(second))
        settings = d.jobs.deps.settings.model_copy(update={"auto_refund_duplicates": False})

        # when
        run = await d.run(payments=dataclasses.replace(d.jobs.deps, settings=settings))

        # then: the money that arrived wins, flagged, and nothing is refunded by reconciliation
        row = await PaymentOrder.get(id=first.id)
        assert (row.status, row.anomaly) == (OrderStatus.PAID, Anomaly.DUPLICATE_PAYMENT)
        assert await Refund.filter(order_id=first.id).count() == 0
        assert [d_.kind for d_ in await diffs(run)] == [DiffKind.STATUS_MISMATCH_THEY_PAID]
        assert (await Bill.get(id=first.bill_id)).paid_order_id == second.id

    async def test_an_unavailable_bill_fails_the_run_until_a_later_run_gets_it(self, live: LiveServer) -> None:
        # given: the bill URL query fails once
        d = day(live)
        d.stage()
        d.jobs.sandbox.alipay.script(BILL_URL, http_status=500)

        # when
        failed = await d.run()
        failed_state = (failed.status, failed.error != "", await diffs(failed))
        done = await d.run()

        # then
        assert failed_state == (ReconciliationStatus.FAILED, True, [])
        assert (done.id, done.status, done.error) == (failed.id, ReconciliationStatus.DONE, "")


class TestReconcileYesterday:
    async def test_reconciles_yesterdays_bill_of_each_channel_once(self, live: LiveServer) -> None:
        # given: empty bills of the date at both channels
        d = day(live)
        d.jobs.sandbox.alipay.set_bill(d.date, [])
        d.jobs.sandbox.wechat.set_bill(d.date, [])

        # when
        first = await tasks.reconcile_yesterday(d.ctx())
        second = await tasks.reconcile_yesterday(d.ctx())

        # then
        assert first == [
            {"channel": "ALIPAY", "billDate": d.date.isoformat(), "status": "DONE"},
            {"channel": "WECHAT", "billDate": d.date.isoformat(), "status": "DONE"},
        ]
        assert second == []
