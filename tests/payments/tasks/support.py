"""The payment jobs under test run with the live server's PaymentsDeps (real channels, the sandboxes of the live
process over loopback HTTP) and a clock of the test's own.

That clock starts a year ahead of the session's: the embedded worker's own crons run by the session clock, so
they never find this test's orders or refunds due, and the test alone decides when a job runs. The relays'
locks are held for the same reason (`quiet_relays`). The sandboxes keep real time, as real channels do.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from api.identity.tokens import AccessClaims
from api.models.payment import Bill, BillKind, Channel, PaymentOrder, Product
from api.outbox import runner
from api.payments_root import PaymentsHarness
from payments import service
from payments.deps import PaymentsDeps
from tests.support.client import LiveServer

AHEAD = timedelta(days=400)
_days = itertools.count(0)


class TestClock:
    """This test's own clock, a year ahead of the session's and a day after the previous test's (whose orders,
    expiring within 30 minutes, are then no longer polled but swept); moved only by the test."""

    __test__ = False

    def __init__(self, live: LiveServer) -> None:
        self.moment = live.clock.now() + AHEAD + timedelta(days=next(_days))

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@dataclass
class Jobs:
    live: LiveServer
    clock: TestClock

    @property
    def deps(self) -> PaymentsDeps:
        deps: PaymentsDeps = self.live.app.state.services.payments
        return deps

    @property
    def sandbox(self) -> PaymentsHarness:
        harness: PaymentsHarness | None = self.live.app.state.services.payments_sandbox
        assert harness is not None, "the test server runs with APP_SANDBOX on"
        return harness

    def ctx(self, **extra: Any) -> dict[str, Any]:
        return {"clock": self.clock, "payments": self.deps, **extra}

    def claims(self, person_id: uuid.UUID) -> AccessClaims:
        return AccessClaims(
            subject=person_id,
            kind="citizen",
            family_id=uuid.uuid4(),
            level=2,
            expires_at=self.clock.now() + timedelta(hours=1),
        )

    async def bill(self, amount_fen: int = 5000, *, due_at: datetime | None = None) -> Bill:
        return await service.create_bill(
            kind=BillKind.FINE,
            person_id=uuid.uuid4(),
            enterprise_id=None,
            issuer="市公安局交通警察支队",
            issuer_code="11330100002500000X",
            subject="交通违法罚款",
            amount_fen=amount_fen,
            lines=[{"name": "罚款", "amountFen": amount_fen}],
            due_at=due_at,
            now=self.clock.now(),
        )

    async def order(
        self, bill: Bill | None = None, *, channel: Channel = Channel.ALIPAY, product: Product = Product.NATIVE
    ) -> PaymentOrder:
        """A PAYING order for `bill` (a new 5000 fen bill by default), created through the service at this clock."""
        bill = bill or await self.bill()
        assert bill.person_id is not None
        deps = self.clocked()
        return await service.create_payment(
            deps,
            self.claims(bill.person_id),
            bill_id=bill.id,
            channel=channel,
            product=product,
            idempotency_key=str(uuid.uuid4()),
        )

    def clocked(self) -> PaymentsDeps:
        """The live deps on this test's clock (what the jobs build from ctx)."""
        import dataclasses

        return dataclasses.replace(self.deps, clock=self.clock)


def bill_date() -> date:
    """A Beijing date no other test reconciles (ReconciliationRun is unique per channel and date)."""
    return date(2101, 1, 1) + timedelta(days=uuid.uuid4().int % 2_500_000)


async def quiet_relays(live: LiveServer, consumers: tuple[str, ...]) -> AsyncIterator[None]:
    """Hold these consumers' relay locks as a running relay would: the embedded worker's crons leave them alone
    (a test's direct call takes no lock)."""
    redis = live.app.state.services.redis
    keys = [runner._keys(consumer) for consumer in consumers]
    for lock, _ in keys:
        await redis.set(lock, b"test", px=300_000)
    try:
        yield
    finally:
        for lock, again in keys:
            await redis.delete(lock, again)
