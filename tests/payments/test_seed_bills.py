"""The seeded bills (api/seed/bills.py): plainly synthetic standalone bills of residents and enterprises, and the
fees of the seeded 待缴费 cases made exactly as payments' relay makes them, so that the relay creates none twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from api.kit.clock import SHANGHAI
from api.models import (
    Application,
    ApplicationEvent,
    ApplicationStatus,
    Bill,
    BillKind,
    BillStatus,
    EventType,
    FeeItem,
    OutboxEvent,
    Person,
)
from api.seed.bills import BILLS, FEE_CASES
from api.seed.context import seed_id
from api.settings import PaymentsSettings
from payments import tasks_relay
from payments.deps import MerchantIdentity, PaymentsDeps
from tests.seed.test_seed import SEED_MOMENT, FixedClock, SeedRun, seeded_database

pytestmark = pytest.mark.embedded_only


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SeedRun]:
    async with seeded_database(tmp_path_factory.mktemp("seed") / "bills.sqlite3") as run:
        yield run


def _deps() -> PaymentsDeps:
    """What the relay's fee handler reads of the process: the clock and the settings (no channel is called)."""
    merchant = MerchantIdentity("2021000000000001", "2088000000000001", "1900000001", "wx-sandbox-pay-app")
    return PaymentsDeps(channels={}, clock=FixedClock(SEED_MOMENT), settings=PaymentsSettings(), merchant=merchant)


async def _fee_notice(label: str) -> OutboxEvent:
    event = (
        await OutboxEvent.filter(topic="application.fee_required", key=str(seed_id("application", label)))
        .order_by("-state_version")
        .first()
    )
    assert event is not None
    return event


class TestStandaloneBills:
    async def test_every_seeded_bill_is_unpaid_with_its_holder_lines_and_amount(self, seeded: SeedRun) -> None:
        rows = {b.bill_no: b for b in await Bill.filter(bill_no__in=[s.bill_no for s in BILLS])}
        assert sorted(rows) == sorted(s.bill_no for s in BILLS)
        for spec in BILLS:
            row = rows[spec.bill_no]
            kind, _, key = spec.holder.partition(":")
            expected_holder = (
                (seed_id("person", int(key)), None) if kind == "person" else (None, seed_id("enterprise", key))
            )
            assert (row.person_id, row.enterprise_id) == expected_holder, spec.bill_no
            assert (row.kind, row.status, row.amount_fen) == (spec.kind, BillStatus.UNPAID, spec.amount_fen)
            assert row.lines == [{"name": name, "amountFen": fen} for name, fen in spec.lines]
            assert sum(line["amountFen"] for line in row.lines) == row.amount_fen
            assert row.application_id is None and row.source_key is None

    async def test_every_kind_is_there_and_plainly_synthetic(self, seeded: SeedRun) -> None:
        rows = await Bill.filter(bill_no__in=[s.bill_no for s in BILLS])
        assert {r.kind for r in rows} == {BillKind.FINE, BillKind.UTILITY, BillKind.SOCIAL_INSURANCE}
        assert all("演示" in r.subject for r in rows)
        assert all(r.bill_no[:2] in {"FK", "SF", "DF", "SB"} and r.bill_no[2:4] == "99" for r in rows)
        assert len({r.person_id for r in rows if r.person_id}) >= 5
        assert len({r.enterprise_id for r in rows if r.enterprise_id}) == 2

    async def test_due_dates_end_a_beijing_day_and_one_bill_has_none(self, seeded: SeedRun) -> None:
        rows = await Bill.filter(bill_no__in=[s.bill_no for s in BILLS])
        dated = [r.due_at for r in rows if r.due_at is not None]
        assert len(dated) == len(rows) - 1
        assert all(d.astimezone(SHANGHAI).time().isoformat() == "23:59:59" for d in dated)
        assert all(d > SEED_MOMENT for d in dated)

    async def test_an_l0_resident_holds_one(self, seeded: SeedRun) -> None:
        holders = await Person.filter(id__in=[b.person_id for b in await Bill.filter(person_id__isnull=False)])
        assert 0 in {int(p.assurance_level) for p in holders}

    async def test_each_bill_announced_its_creation_once(self, seeded: SeedRun) -> None:
        bills = await Bill.all()
        announced: list[Any] = list(
            await OutboxEvent.filter(topic="payments.bill_created").values_list("key", flat=True)
        )
        assert sorted(announced) == sorted(str(b.id) for b in bills)


class TestSeededFees:
    async def test_each_waiting_case_has_its_fee_bill_with_the_relays_source_key(self, seeded: SeedRun) -> None:
        for label, bill_no in FEE_CASES:
            app = await Application.get(id=seed_id("application", label))
            notice = await _fee_notice(label)
            bill = await Bill.get(bill_no=bill_no)
            fees = await FeeItem.filter(service_item_id=app.service_item_id).order_by("order")
            assert app.status is ApplicationStatus.PENDING_PAYMENT
            assert (bill.kind, bill.status) == (BillKind.APPLICATION_FEE, BillStatus.UNPAID)
            assert bill.application_id == app.id
            assert (bill.person_id, bill.enterprise_id) == (app.applicant_person_id, None)
            assert bill.source_key == tasks_relay.source_key(notice)
            assert bill.amount_fen == sum(f.amount_fen or 0 for f in fees) == notice.payload["amountFen"]
            assert bill.lines == [{"name": f.name, "amountFen": f.amount_fen} for f in fees if f.amount_fen]
            assert bill.due_at == tasks_relay.fee_due_at(notice.created_at)
            assert bill.subject == f"{app.item_name} 办件编号{app.project_no}"

    async def test_the_seeded_fee_notice_carries_the_amounts_as_a_live_one_does(self, seeded: SeedRun) -> None:
        notice = await _fee_notice("payment-1")
        event = await ApplicationEvent.get(application_id=seed_id("application", "payment-1"), seq=notice.state_version)
        assert event.event_type is EventType.FEE_NOTICE
        assert notice.payload["amountFen"] == 14000
        assert notice.payload["feeItems"] == [
            {"name": "普通护照签发费", "amountFen": 12000},
            {"name": "加注费", "amountFen": 2000},
        ]
        assert event.detail == {"amountFen": 14000, "feeItems": notice.payload["feeItems"]}

    async def test_the_relay_meeting_the_seeded_notices_creates_nothing(self, seeded: SeedRun) -> None:
        before = (await Bill.all().count(), await OutboxEvent.filter(topic="payments.bill_created").count())
        for label, bill_no in FEE_CASES:
            made = await tasks_relay.bill_for_fee(_deps(), await _fee_notice(label))
            assert made is not None and made.bill_no == bill_no
        after = (await Bill.all().count(), await OutboxEvent.filter(topic="payments.bill_created").count())
        assert after == before

    async def test_a_second_run_adds_no_bill(self, seeded: SeedRun) -> None:
        assert seeded.after["bill"] == seeded.before["bill"]
        assert len(seeded.after["bill"]) == len(BILLS) + len(FEE_CASES)
