"""The seeded 办件 (domain.md §13): every status, result code and sub-state, with timelines that replay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from api.applications.transitions import replay
from api.models import (
    AlertLevel,
    Application,
    ApplicationEvent,
    ApplicationStatus,
    BundleApplication,
    DailySequence,
    DeliveryStatus,
    EfficiencyAlert,
    ELicense,
    EvaluationStatus,
    OutboxEvent,
    Rectification,
    RectificationStatus,
    TimerState,
)
from api.seed.context import seed_id
from tests.seed.test_seed import SeedRun, seeded_database

pytestmark = pytest.mark.embedded_only


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SeedRun]:
    async with seeded_database(tmp_path_factory.mktemp("seed") / "cases.sqlite3") as run:
        yield run


class TestSeededApplications:
    async def test_every_stored_status_has_at_least_two_cases(self, seeded: SeedRun) -> None:
        statuses: list[Any] = list(await Application.all().values_list("status", flat=True))
        stored = [s for s in ApplicationStatus if s is not ApplicationStatus.DRAFT]
        assert {s: statuses.count(s) >= 2 for s in stored} == dict.fromkeys(stored, True)

    async def test_every_timeline_replays_to_the_stored_status(self, seeded: SeedRun) -> None:
        for app in await Application.all():
            events = await ApplicationEvent.filter(application_id=app.id).order_by("seq")
            assert [e.seq for e in events] == list(range(1, app.last_seq + 1))
            assert replay([(e.event_type, e.to_status) for e in events]) is app.status, app.project_no

    async def test_each_transition_has_its_outbox_row(self, seeded: SeedRun) -> None:
        app = await Application.get(id=seed_id("application", "completed-e-delivered"))
        topics: list[Any] = list(
            await OutboxEvent.filter(key=str(app.id)).order_by("state_version").values_list("topic", flat=True)
        )
        assert topics == [
            "application.submitted",
            "application.accepted",
            "application.decided",
            "application.completed",
            "application.delivered",
        ]

    async def test_result_codes_0_to_6_and_terminal_statuses_carry_one(self, seeded: SeedRun) -> None:
        rows = await Application.all().values_list("status", "result_code")
        assert {code for _, code in rows if code is not None} == set(range(7))
        terminal = {"COMPLETED", "NOT_ACCEPTED", "WITHDRAWN", "TERMINATED"}
        assert all(code is not None for status, code in rows if status in terminal)
        assert all(code is None for status, code in rows if status not in terminal)

    async def test_every_sub_state_occurs(self, seeded: SeedRun) -> None:
        rows = await Application.all().values_list("delivery_status", "evaluation_status", "timer_state")
        assert {d for d, _, _ in rows if d} == set(DeliveryStatus)
        assert {e for _, e, _ in rows if e} == set(EvaluationStatus)
        assert {t for _, _, t in rows} == set(TimerState)

    async def test_project_numbers_continue_in_the_daily_sequence(self, seeded: SeedRun) -> None:
        numbers = await Application.all().values_list("project_no", "task_code")
        assert all(len(no) == 43 and no.startswith(code) for no, code in numbers)
        for seq in await DailySequence.all():
            issued = [no for no, code in numbers if code == seq.task_code and no[31:39] == f"{seq.date:%Y%m%d}"]
            assert max(int(no[-4:]) for no in issued) == seq.last_value

    async def test_agent_enterprise_and_bundle_cases(self, seeded: SeedRun) -> None:
        agent_case = await Application.get(id=seed_id("application", "agent-for-parent"))
        assert agent_case.agent_person_id == seed_id("person", 4)
        assert agent_case.applicant_person_id == seed_id("person", 3)
        assert await Application.filter(applicant_enterprise_id__isnull=False).count() >= 5
        bundle = await BundleApplication.get(id=seed_id("bundle-application", "newborn"))
        children: list[Any] = list(
            await Application.filter(bundle_application_id=bundle.id).values_list("status", flat=True)
        )
        assert sorted(children) == [ApplicationStatus.COMPLETED, ApplicationStatus.SUBMITTED]

    async def test_the_issued_result_is_in_the_applicants_wallet(self, seeded: SeedRun) -> None:
        app = await Application.get(id=seed_id("application", "completed-e-delivered"))
        licence = await ELicense.get(id=app.result_licence_ids[0])
        assert licence.holder_person_id == app.applicant_person_id
        assert licence.source == "LOCAL_ISSUED"


class TestSeededRatingsAndAlerts:
    async def test_rectifications_in_every_state_with_an_appeal_and_an_escalation(self, seeded: SeedRun) -> None:
        rows = await Rectification.all()
        assert {r.status for r in rows} == set(RectificationStatus)
        assert any(r.appeal for r in rows if r.status is RectificationStatus.APPEALED)
        assert any(r.escalated for r in rows)

    async def test_notice_yellow_and_red_alerts_with_their_outbox_rows(self, seeded: SeedRun) -> None:
        alerts = await EfficiencyAlert.all()
        assert {a.level for a in alerts} == set(AlertLevel)
        announced = await OutboxEvent.filter(topic="supervision.alert_raised").count()
        assert announced == len(alerts)
