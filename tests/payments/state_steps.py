"""Part of the payments state machine (test_state_machine): its state and helpers, and the steps that break
things — channel answers lost, the process dying between a state change and its side effect, then restarting."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from api.applications import handling, payment_relay
from api.models.payment import BillStatus, Channel, OrderStatus, PaymentOrder, Refund, RefundStatus
from payments.errors import PaymentsError, PaymentsErrorCode
from payments.service import facts, ledger, refunds
from tests.payments.state_model import BillRef, Channels, Model, Snapshot
from tests.payments.state_world import (
    FINANCE,
    At,
    InjectedCrash,
    Notice,
    World,
    crash_after,
    crash_instead,
    patched,
)

TROUBLE = {
    Channel.ALIPAY: ("precreate", "query", "close", "refund", "fastpay.refund.query"),
    Channel.WECHAT: ("pay", "query", "close", "refund", "query_refund"),
}
picks = st.integers(min_value=0, max_value=10_000)


def nth(items: list[Any], pick: int) -> Any:
    return items[pick % len(items)]


def code_of(result: object) -> PaymentsErrorCode | None:
    return PaymentsErrorCode(result.code) if isinstance(result, PaymentsError) else None


class Moments:
    """The moments the machine runs jobs at: ahead of the shared clock (which the test never moves), each kind
    moving forward on its own so that a job always finds due rows."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.confirm = self.sweep = self.refunds = world.now()

    def for_confirm(self) -> datetime:
        self.confirm = max(self.confirm + timedelta(seconds=3), self.world.now())
        return self.confirm

    def for_poll(self) -> datetime:
        return self.world.now() + timedelta(minutes=25)  # every slot of a fresh order is due, none has expired

    def for_sweep(self) -> datetime:
        ttl = timedelta(seconds=self.world.deps.settings.order_ttl_seconds)
        self.sweep = max(self.sweep + timedelta(hours=1), self.world.now() + ttl + timedelta(minutes=2))
        return self.sweep

    def for_refunds(self) -> datetime:
        self.refunds = max(self.refunds + timedelta(hours=1), self.world.now() + timedelta(hours=1))
        return self.refunds

    def for_relay(self) -> datetime:
        return self.world.now() + timedelta(minutes=2)  # past the relay's grace period


class MachineBase(RuleBasedStateMachine):
    """The machine's state and helpers, and the steps that break things: channel trouble and crashes."""

    def __init__(self, world: World, moments: Moments, case_bill: Callable[[], Awaitable[BillRef]]) -> None:
        super().__init__()
        self.world = world
        self.moments = moments
        self.case_bill = case_bill
        self.model = Model()
        self.last: Snapshot | None = None
        self.settled = False

    # -- helpers --

    def snap(self) -> Snapshot:
        return self.world.run(Snapshot.take(self.model))

    def channels(self) -> Channels:
        return Channels(self.world.sandbox_paid, self.world.sandbox_refunds)

    def quiet(self) -> bool:
        """No channel trouble scripted: every channel answer arrives."""
        return not (self.world.harness.alipay.scripts() or self.world.harness.wechat.op_scripts())

    def orders(self) -> list[PaymentOrder]:
        # In the order the machine met them: ids and numbers are random, a replayed example must pick the same.
        return list(self.model.orders.values())

    def live_orders(self) -> list[PaymentOrder]:
        last = self.last
        live = (OrderStatus.CREATED, OrderStatus.PAYING)
        return [o for o in self.orders() if last is not None and last.orders[o.id].status in live]

    def payable_elsewhere(self) -> list[PaymentOrder]:
        live = self.live_orders()
        return [o for o in self.orders() if o not in live and self.world.payable(o)]

    def pending(self) -> list[Notice]:
        """Notifies the channel made that have not reached us yet."""
        return [n for n in self.model.notices if (n.channel, n.delivery_id) not in self.model.delivered]

    def in_flight(self, order: PaymentOrder) -> bool:
        settled = (RefundStatus.SUCCEEDED, RefundStatus.FAILED)
        return self.last is not None and any(r.status not in settled for r in self.last.refunds_of(order.id))

    def refunded(self) -> bool:
        return self.last is not None and bool(self.last.refunds)

    def paid_orders(self) -> list[PaymentOrder]:
        last = self.last
        return [o for o in self.orders() if last is not None and last.orders[o.id].status is OrderStatus.PAID]

    def acknowledge(self, notice: Notice) -> None:
        self.model.delivered.add((notice.channel, notice.delivery_id))
        if notice.kind == "pay":
            order = self.model.order_by_trade(notice.out_trade_no)
            said = notice.amount_fen if notice.amount_fen is not None else self.world.sandbox_paid(order)
            assert said is not None, f"a pay notify of {order.out_trade_no}, unpaid at the channel"
            self.model.acknowledged[notice.out_trade_no] = said

    def deliver_once(self, notice: Notice) -> None:
        posted = self.world.run(self.world.deliver(notice, 1))
        assert all(p.acknowledged(notice.channel) for p in posted), (notice, posted)
        self.acknowledge(notice)

    # -- channel trouble and crashes --

    @precondition(lambda self: self.model.orders and self.quiet())
    @rule(channel=st.sampled_from(tuple(Channel)), op=picks)
    def channel_trouble(self, channel: Channel, op: int) -> None:
        """The channel's answer to its next call of one operation is lost (HTTP 500), the action done anyway."""
        self.world.script_failure(channel, nth(list(TROUBLE[channel]), op))

    @precondition(lambda self: self.model.notices or self.paid_orders())
    @rule(pick=picks, where=st.sampled_from(("refund_call", "notify_transaction", "notify_ack", "relay")))
    def crash_and_restart(self, pick: int, where: str) -> None:
        """The process dies between a state change and its side effect, then runs again."""
        if where == "refund_call" and self.paid_orders():
            self.crash_before_refund_call(nth(self.paid_orders(), pick))
        elif where.startswith("notify") and self.model.notices:
            notice = nth(self.pending() or self.model.notices, pick)
            self.crash_while_notified(notice, inside=where == "notify_transaction")
        elif where == "relay" and any(b.case_id for b in self.model.bills.values()):
            self.relay_to_applications(crash=True)

    def crash_before_refund_call(self, order: PaymentOrder) -> None:
        """After the refund row commits, before the channel hears of it; the refund poller (the restarted
        worker) sends it, under the same out_refund_no, exactly once."""
        available = self.snap().available(order.id)
        if available == 0:
            return
        idem = f"sm-{uuid.uuid4().hex}"
        with patched(refunds, "submit_refund", crash_instead), pytest.raises(InjectedCrash):
            self.world.run(self.world.refund(order.id, available, available, idem))
        row = self.world.run(Refund.get(requested_by=FINANCE, idempotency_key=idem))
        self.model.refund_keys[idem] = (order.id, available, row.id)
        assert row.status is RefundStatus.CREATED and row.out_refund_no not in self.world.sandbox_refunds(order)
        quiet = self.quiet()
        self.world.run(self.world.poll_refunds(self.moments.for_refunds()))
        self.world.run(self.world.quiesce())
        row = self.world.run(Refund.get(id=row.id))
        if quiet:
            assert row.status in (RefundStatus.SUCCEEDED, RefundStatus.SUBMITTED), row
            assert self.world.sandbox_refunds(order).get(row.out_refund_no, available) == available

    def crash_while_notified(self, notice: Notice, *, inside: bool) -> None:
        """Inside the notify's transaction (nothing may be kept), or after its commit, before the acknowledgement
        and what follows it (refunds to send, relays to wake). The channel delivers again."""
        fired: list[bool] = []
        before = self.snap()
        owner, name = (ledger, "pay_bill") if inside else (facts, "run_after_commit")
        with patched(owner, name, counting(crash_instead, fired)):
            posted = self.world.run(self.world.deliver(notice, 1))
        if fired:
            assert not any(p.acknowledged(notice.channel) for p in posted), posted
            if inside:
                assert self.snap().fingerprint() == before.fingerprint(), "a crashed transaction left something"
        else:
            assert all(p.acknowledged(notice.channel) for p in posted), posted
            self.acknowledge(notice)
        self.deliver_once(notice)

    @precondition(lambda self: any(b.case_id for b in self.model.bills.values()))
    @rule()
    def relay_to_applications_clean(self) -> None:
        self.relay_to_applications(crash=False)

    def relay_to_applications(self, *, crash: bool) -> None:
        """Applications' relay of payments.bill_paid, crashing after it moved the case on (before its receipt).
        A clean run moves every case whose bill is paid on, exactly once whatever crashed before."""
        paid = {
            b.case_id
            for b in self.model.bills.values()
            if b.case_id and self.snap().bills[b.id].status is not BillStatus.UNPAID
        }
        fired: list[bool] = []
        ctx = {"clock": At(self.moments.for_relay())}
        if crash:
            with patched(handling, "record_payment", counting(crash_after, fired)):
                self.world.run(payment_relay.relay_applications(ctx))
        else:
            self.world.run(payment_relay.relay_applications(ctx))
        if not fired:
            self.model.relayed |= {case for case in paid if case is not None}


def counting(
    wrap: Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]], fired: list[bool]
) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
    def make(original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        crashing = wrap(original)

        async def run(*args: Any, **kwargs: Any) -> Any:
            fired.append(True)
            return await crashing(*args, **kwargs)

        return run

    return make


# -- the test --
