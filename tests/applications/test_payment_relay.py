"""Applications' consumer of `payments.bill_paid` (`relay_applications`): a paid fee moves the 待缴费 case on
exactly once, however often the event is read, and even when the relay crashes after the case moved (P20).

The events here are written as payments writes them (topic, key = bill id, payload billId/applicationId/paidAt);
the conformance suite drives the same relay from a real payment. While a test runs, the embedded worker's own
relay of this consumer is held off by its lock, so that only the test decides when the relay runs.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from api.applications import handling, payment_relay
from api.models import Application, ApplicationEvent, ApplicationStatus, EventType, OutboxEvent, OutboxReceipt
from api.outbox import runner
from tests.applications.test_payment_requests import awaiting_payment, withdraw
from tests.support.client import Api, LiveServer


class _At:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


@pytest.fixture
async def quiet(live: LiveServer) -> AsyncIterator[None]:
    """Hold the consumer's relay lock, as a running relay would: the embedded worker's cron leaves it alone."""
    redis = live.app.state.services.redis
    lock, again = runner._keys(payment_relay.CONSUMER)
    await redis.set(lock, b"test", px=120_000)
    try:
        yield
    finally:
        await redis.delete(lock, again)


async def bill_paid(application_id: str | None, paid_at: datetime, *, bill_id: str | None = None) -> OutboxEvent:
    bill = bill_id or str(uuid.uuid4())
    return await OutboxEvent.create(
        topic="payments.bill_paid",
        key=bill,
        state_version=1,
        payload={
            "billId": bill,
            "applicationId": application_id,
            "orderId": str(uuid.uuid4()),
            "amountFen": 14000,
            "paidAt": paid_at.isoformat(),
        },
        created_at=paid_at,
    )


async def paid_events(case_id: str) -> list[ApplicationEvent]:
    return list(await ApplicationEvent.filter(application_id=case_id, event_type=EventType.PAID))


async def handled(event: OutboxEvent) -> bool:
    return await OutboxReceipt.exists(consumer=payment_relay.CONSUMER, event_id=event.id)


@pytest.mark.usefixtures("quiet")
class TestRelayApplications:
    async def test_a_paid_bill_moves_the_case_on_once_from_the_moment_of_payment(self, api: Api) -> None:
        # given: a case awaiting payment, paid a minute later
        _, _, case_id = await awaiting_payment(api, 9)
        paused = await Application.get(id=case_id)
        assert paused.paused_since is not None
        paid_at = paused.paused_since + timedelta(minutes=1)
        event = await bill_paid(case_id, paid_at)
        ctx = {"clock": _At(paid_at + timedelta(minutes=5))}

        # when: the relay runs, twice
        await payment_relay.relay_applications(ctx)
        await payment_relay.relay_applications(ctx)

        # then: back to work once, the pause ending at the payment (not when the relay got to it)
        row = await Application.get(id=case_id)
        assert (row.status, row.paused_since, row.paused_minutes) == (
            ApplicationStatus.IN_PROGRESS,
            None,
            paused.paused_minutes + 1,
        )
        events = await paid_events(case_id)
        assert [(e.detail, e.started_at) for e in events] == [({"billId": event.payload["billId"]}, paid_at)]
        assert await handled(event)

    async def test_a_standalone_bill_and_a_withdrawn_case_are_passed_over_without_stopping_the_relay(
        self, api: Api
    ) -> None:
        # given: a fine's bill (no application), a case withdrawn while its payment was under way, then a case that
        # does wait for its payment
        token, _, withdrawn_id = await awaiting_payment(api, 11)
        assert (await withdraw(api, token, withdrawn_id))["__typename"] == "ApplicationWithdrawn"
        _, _, waiting_id = await awaiting_payment(api, 12)
        now = api.live.clock.now()
        fine = await bill_paid(None, now)
        late = await bill_paid(withdrawn_id, now)
        good = await bill_paid(waiting_id, now)

        # when
        await payment_relay.relay_applications({"clock": _At(now + timedelta(seconds=1))})

        # then: the first two handled as nothing to do, the third moved its case on
        assert [await handled(e) for e in (fine, late, good)] == [True, True, True]
        assert (await Application.get(id=withdrawn_id)).status is ApplicationStatus.WITHDRAWN
        assert await paid_events(withdrawn_id) == []
        assert (await Application.get(id=waiting_id)).status is ApplicationStatus.IN_PROGRESS

    async def test_a_relay_that_crashes_after_the_case_moved_moves_it_exactly_once_when_it_runs_again(
        self, api: Api, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given: the bill is PAID (its event written) and the relay crashes right after recording the payment
        _, _, case_id = await awaiting_payment(api, 16)
        now = api.live.clock.now()
        event = await bill_paid(case_id, now)
        real = handling.record_payment

        async def record_then_crash(application_id: uuid.UUID, bill_id: str, moment: datetime) -> Application:
            await real(application_id, bill_id, moment)
            raise ConnectionResetError("worker lost its database connection")

        monkeypatch.setattr(handling, "record_payment", record_then_crash)
        ctx = {"clock": _At(now + timedelta(seconds=1))}

        # when: the crashing run, then a run after the restart
        await payment_relay.relay_applications(ctx)
        crashed = (await Application.get(id=case_id)).status, await paid_events(case_id), await handled(event)
        monkeypatch.setattr(handling, "record_payment", real)
        await payment_relay.relay_applications(ctx)
        await payment_relay.relay_applications(ctx)

        # then: the crash left nothing behind, and the case advanced exactly once afterwards
        assert crashed == (ApplicationStatus.PENDING_PAYMENT, [], False)
        assert (await Application.get(id=case_id)).status is ApplicationStatus.IN_PROGRESS
        assert len(await paid_events(case_id)) == 1
        assert await handled(event)
