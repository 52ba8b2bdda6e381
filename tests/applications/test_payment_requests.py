"""缴款通知 and payment: `requestApplicationPayment` (case handler, FEE_NOTICE → PENDING_PAYMENT with the promised
clock paused), payments' `record_payment` (PAID → back where the case came from, idempotent per bill), and the
applicant's withdrawal while a payment is awaited (allowed before the decision, never after it).

Cases are 普通护照签发 (出入境管理, L2, fixed fees 120 + 20 yuan) unless a test needs an item without fees.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from api.applications import handling, transitions
from api.kit.clock import shanghai_date
from api.kit.errors import InvalidInput
from api.models import ActorType, Application, ApplicationEvent, ApplicationStatus, EventType, OutboxEvent
from tests.applications.handling_support import act, assert_journal_consistent, calendar_of, done, snapshot
from tests.applications.party_support import apply, published
from tests.applications.support import PROMISED_ITEM, footprint, handler_token, resident_token, submitted
from tests.support.client import Api

PASSPORT = "990100009000"  # 普通护照签发: 普通护照签发费 12000 fen + 加注费 2000 fen
PASSPORT_FEES = [{"name": "普通护照签发费", "amountFen": 12000}, {"name": "加注费", "amountFen": 2000}]
WITHDRAW = """
mutation W($input: WithdrawApplicationInput!) {
  withdrawApplication(input: $input) {
    __typename
    ... on ApplicationWithdrawn { application { status resultCode } }
    ... on Error { code message path }
    ... on ApplicationTransitionError { status allowedEvents }
  }
}
"""


async def passport_case(api: Api, resident: int) -> tuple[str, str, str]:
    """(resident token, 公安 handler token, case id) of a passport application that is not yet accepted."""
    token = await resident_token(api, resident)
    result = await apply(api, token, await published(PASSPORT))
    assert result["__typename"] == "ApplicationSubmitted", result
    return token, await handler_token(api, "ga"), result["application"]["id"]


async def in_progress(api: Api, resident: int) -> tuple[str, str, str]:
    token, handler, case_id = await passport_case(api, resident)
    await done(api, handler, "passApplicationPrecheck", applicationId=case_id)
    await done(api, handler, "acceptApplication", applicationId=case_id)
    return token, handler, case_id


async def decided(api: Api, resident: int) -> tuple[str, str, str]:
    token, handler, case_id = await in_progress(api, resident)
    for step in ("承办", "审核", "批准"):
        await done(api, handler, "completeApplicationStep", applicationId=case_id, step=step, outcome="PASS")
    await done(api, handler, "decideApplication", applicationId=case_id, decision="APPROVED")
    return token, handler, case_id


async def awaiting_payment(api: Api, resident: int, *, after_decision: bool = False) -> tuple[str, str, str]:
    token, handler, case_id = await (decided if after_decision else in_progress)(api, resident)
    await done(api, handler, "requestApplicationPayment", applicationId=case_id)
    return token, handler, case_id


def resume_of(row: Application) -> ApplicationStatus | None:
    """The nullable column, as such (the model types it as never null)."""
    return row.resume_status


async def withdraw(api: Api, token: str, case_id: str) -> dict[str, Any]:
    variables = {"input": {"id": case_id, "reason": "费用太高，不办了"}}
    result: dict[str, Any] = (await api.data(WITHDRAW, variables, token))["withdrawApplication"]
    return result


class TestRequestApplicationPayment:
    async def test_a_case_in_progress_awaits_the_items_fixed_fees_with_the_clock_paused(self, api: Api) -> None:
        # given
        _, handler, case_id = await in_progress(api, 9)

        # when
        case = await done(api, handler, "requestApplicationPayment", applicationId=case_id, note="请在线缴纳护照费")

        # then
        assert (case["status"], case["statusLabel"]) == (
            "PENDING_PAYMENT",
            transitions.citizen_label(ApplicationStatus.PENDING_PAYMENT),
        )
        assert {k: case["timeline"][-1][k] for k in ("type", "fromStatus", "toStatus", "stepName", "opinion")} == {
            "type": "FEE_NOTICE",
            "fromStatus": "IN_PROGRESS",
            "toStatus": "PENDING_PAYMENT",
            "stepName": "缴费",
            "opinion": "请在线缴纳护照费",
        }
        row = await Application.get(id=case_id)
        event = await ApplicationEvent.get(application_id=row.id, seq=row.last_seq)
        assert (row.status, row.resume_status, row.paused_since) == (
            ApplicationStatus.PENDING_PAYMENT,
            ApplicationStatus.IN_PROGRESS,
            event.started_at,  # the clock stopped at the notice
        )
        assert event.detail == {"amountFen": 14000, "feeItems": PASSPORT_FEES}
        outbox = await OutboxEvent.get(key=case_id, topic="application.fee_required")
        assert (outbox.state_version, outbox.payload["amountFen"], outbox.payload["feeItems"]) == (
            row.last_seq,
            14000,
            PASSPORT_FEES,
        )
        await assert_journal_consistent(case_id)

    async def test_a_stated_amount_replaces_the_fixed_fees(self, api: Api) -> None:
        # given
        _, handler, case_id = await in_progress(api, 11)

        # when
        await done(api, handler, "requestApplicationPayment", applicationId=case_id, amountFen="12000")

        # then
        row = await Application.get(id=case_id)
        event = await ApplicationEvent.get(application_id=row.id, seq=row.last_seq)
        assert (event.event_type, event.detail["amountFen"]) == (EventType.FEE_NOTICE, 12000)

    async def test_a_decided_case_awaits_payment_and_remembers_the_decision(self, api: Api) -> None:
        # given
        _, handler, case_id = await decided(api, 12)

        # when
        case = await done(api, handler, "requestApplicationPayment", applicationId=case_id)

        # then
        assert case["status"] == "PENDING_PAYMENT"
        row = await Application.get(id=case_id)
        assert (row.resume_status, row.decision) == (ApplicationStatus.DECIDED, "APPROVED")
        await assert_journal_consistent(case_id)

    async def test_bad_amounts_an_item_without_fees_and_a_case_not_accepted_are_refused(self, api: Api) -> None:
        # given: a passport case in progress, a passport case still in pre-review, an accepted 出生医学证明 case
        _, handler, case_id = await in_progress(api, 16)
        _, _, unaccepted_id = await passport_case(api, 16)
        birth = await submitted(api, await resident_token(api, 16), PROMISED_ITEM)
        birth_handler = await handler_token(api, "wjw")
        await done(api, birth_handler, "passApplicationPrecheck", applicationId=birth["id"])
        await done(api, birth_handler, "acceptApplication", applicationId=birth["id"])
        before = [await snapshot(i) for i in (case_id, unaccepted_id, birth["id"])]

        # when
        zero = await act(api, handler, "requestApplicationPayment", applicationId=case_id, amountFen="0")
        negative = await act(api, handler, "requestApplicationPayment", applicationId=case_id, amountFen="-100")
        superscript = await act(api, handler, "requestApplicationPayment", applicationId=case_id, amountFen="²")
        huge = await act(api, handler, "requestApplicationPayment", applicationId=case_id, amountFen="10000000001")
        no_fee = await act(api, birth_handler, "requestApplicationPayment", applicationId=birth["id"])
        too_early = await act(api, handler, "requestApplicationPayment", applicationId=unaccepted_id)

        # then
        assert [(r["__typename"], r["code"], r["path"]) for r in (zero, negative, superscript, huge, no_fee)] == [
            ("InvalidInputError", "AMOUNT", ["amountFen"]),
            ("InvalidInputError", "INVALID_AMOUNT", ["amountFen"]),
            ("InvalidInputError", "INVALID_AMOUNT", ["amountFen"]),
            ("InvalidInputError", "AMOUNT", ["amountFen"]),
            ("InvalidInputError", "NO_FEE", ["applicationId"]),
        ]
        assert (too_early["__typename"], too_early["code"], too_early["status"]) == (
            "ApplicationTransitionError",
            "ILLEGAL_TRANSITION",
            "SUBMITTED",
        )
        assert "FEE_NOTICE" not in too_early["allowedEvents"]
        assert [await snapshot(i) for i in (case_id, unaccepted_id, birth["id"])] == before

    async def test_a_second_notice_another_departments_handler_and_a_resident_are_refused(self, api: Api) -> None:
        # given
        token, handler, case_id = await awaiting_payment(api, 9)
        before = await snapshot(case_id)

        # when
        again = await act(api, handler, "requestApplicationPayment", applicationId=case_id)
        other = await act(api, await handler_token(api, "wjw"), "requestApplicationPayment", applicationId=case_id)
        body = await api.gql(
            "mutation M($input: RequestApplicationPaymentInput!) { requestApplicationPayment(input: $input) { "
            "__typename } }",
            {"input": {"applicationId": case_id}},
            token,
        )

        # then
        assert (again["__typename"], again["status"], again["allowedEvents"]) == (
            "ApplicationTransitionError",
            "PENDING_PAYMENT",
            ["PAID", "TERMINATE", "URGE", "VISIT", "WITHDRAW"],
        )
        assert (other["__typename"], other["code"]) == ("ForbiddenError", "FORBIDDEN")
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert await snapshot(case_id) == before


class TestRecordPayment:
    async def test_paid_returns_the_case_to_work_and_moves_the_deadlines_by_the_paused_working_days(
        self, api: Api
    ) -> None:
        # given: a case awaiting payment for half an hour
        _, _, case_id = await awaiting_payment(api, 11)
        paused = await Application.get(id=case_id)
        assert paused.paused_since is not None and paused.promise_date is not None
        api.live.clock.advance(timedelta(minutes=30))
        now = api.live.clock.now()
        calendar = await calendar_of(case_id, shanghai_date(now))
        shift = calendar.working_days_between(shanghai_date(paused.paused_since), shanghai_date(now))

        # when
        returned = await handling.record_payment(uuid.UUID(case_id), "bill-passport-1", now)

        # then
        row = await Application.get(id=case_id)
        assert returned.status is row.status is ApplicationStatus.IN_PROGRESS
        assert (resume_of(row), row.paused_since, row.paused_minutes) == (None, None, paused.paused_minutes + 30)
        assert row.promise_date == calendar.add_working_days(paused.promise_date, shift)
        event = await ApplicationEvent.get(application_id=row.id, seq=row.last_seq)
        assert (event.event_type, event.from_status, event.to_status, event.actor_type, event.actor_name) == (
            EventType.PAID,
            ApplicationStatus.PENDING_PAYMENT,
            ApplicationStatus.IN_PROGRESS,
            ActorType.SYSTEM,
            "统一支付平台",
        )
        assert event.detail == {"billId": "bill-passport-1"}
        await assert_journal_consistent(case_id)

    async def test_a_decided_case_returns_to_decided(self, api: Api) -> None:
        # given
        _, _, case_id = await awaiting_payment(api, 12, after_decision=True)

        # when
        await handling.record_payment(uuid.UUID(case_id), "bill-passport-2", api.live.clock.now())

        # then
        row = await Application.get(id=case_id)
        assert (row.status, resume_of(row), row.paused_since) == (ApplicationStatus.DECIDED, None, None)
        await assert_journal_consistent(case_id)

    async def test_a_replayed_notice_of_the_same_bill_changes_nothing(self, api: Api) -> None:
        # given: the bill was paid once
        _, _, case_id = await awaiting_payment(api, 16)
        await handling.record_payment(uuid.UUID(case_id), "bill-passport-3", api.live.clock.now())
        before = await snapshot(case_id)
        api.live.clock.advance(timedelta(seconds=5))

        # when
        again = await handling.record_payment(uuid.UUID(case_id), "bill-passport-3", api.live.clock.now())

        # then
        assert again.status is ApplicationStatus.IN_PROGRESS
        assert await snapshot(case_id) == before
        assert await ApplicationEvent.filter(application_id=case_id, event_type=EventType.PAID).count() == 1

    async def test_another_bill_for_a_case_not_awaiting_payment_and_an_unknown_case_are_refused(self, api: Api) -> None:
        # given: a case in progress that never awaited payment
        _, _, case_id = await in_progress(api, 9)
        before, everything = await snapshot(case_id), await footprint()

        # when / then
        with pytest.raises(transitions.IllegalTransition) as refused:
            await handling.record_payment(uuid.UUID(case_id), "bill-stray", api.live.clock.now())
        assert (refused.value.code, refused.value.status) == ("ILLEGAL_TRANSITION", ApplicationStatus.IN_PROGRESS)
        with pytest.raises(InvalidInput) as unknown:
            await handling.record_payment(uuid.uuid4(), "bill-stray", api.live.clock.now())
        assert (unknown.value.code, unknown.value.path) == ("APPLICATION_NOT_FOUND", ["applicationId"])
        assert (await snapshot(case_id), await footprint()) == (before, everything)


class TestWithdrawWhileAwaitingPayment:
    async def test_a_payment_awaited_after_the_decision_cannot_be_withdrawn(self, api: Api) -> None:
        # given
        token, _, case_id = await awaiting_payment(api, 11, after_decision=True)
        before = await footprint(case_id), await snapshot(case_id)

        # when
        result = await withdraw(api, token, case_id)

        # then
        assert (result["__typename"], result["code"], result["status"]) == (
            "ApplicationTransitionError",
            "ILLEGAL_TRANSITION",
            "PENDING_PAYMENT",
        )
        assert "WITHDRAW" not in result["allowedEvents"]
        assert (await footprint(case_id), await snapshot(case_id)) == before

    async def test_a_payment_awaited_before_the_decision_can_be_withdrawn(self, api: Api) -> None:
        # given: awaiting payment for ten minutes
        token, _, case_id = await awaiting_payment(api, 12)
        paused = await Application.get(id=case_id)
        api.live.clock.advance(timedelta(minutes=10))

        # when
        result = await withdraw(api, token, case_id)

        # then
        assert result == {"__typename": "ApplicationWithdrawn", "application": {"status": "WITHDRAWN", "resultCode": 5}}
        row = await Application.get(id=case_id)
        assert (row.status, row.result_code, row.paused_since, row.paused_minutes) == (
            ApplicationStatus.WITHDRAWN,
            5,
            None,
            paused.paused_minutes + 10,
        )
        await assert_journal_consistent(case_id)


class TestRelaysWokenAfterTheCommit:
    """A fee notice is a bill only once payments' relay has run: the notice wakes the relays instead of leaving the
    applicant waiting for their next scheduled run (a minute); a refused step wrote nothing and wakes nothing."""

    async def test_a_fee_notice_and_a_withdrawal_wake_the_relays_and_a_refusal_does_not(
        self, api: Api, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given: a case in progress, and the relays' wake-up recorded instead of enqueued
        token, handler, case_id = await in_progress(api, 11)
        kicks: list[str] = []

        async def record() -> None:
            kicks.append("kick")

        monkeypatch.setattr(api.live.app.state.services.payments, "kick_relays", record)

        # when
        await done(api, handler, "requestApplicationPayment", applicationId=case_id, amountFen="12000")
        after_notice = len(kicks)
        refused = await act(api, handler, "requestApplicationPayment", applicationId=case_id)
        after_refusal = len(kicks)
        withdrawn = await api.gql(WITHDRAW, {"input": {"id": case_id, "reason": "不办了"}}, token)

        # then
        assert refused["__typename"] == "ApplicationTransitionError"
        assert withdrawn["data"]["withdrawApplication"]["__typename"] == "ApplicationWithdrawn"
        assert (after_notice, after_refusal, len(kicks)) == (1, 1, 2)
