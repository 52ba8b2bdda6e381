"""Helpers of the handling tests: the operator mutations as GraphQL documents, and what a case wrote."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from api.applications import journal
from api.applications.transitions import replay
from api.kit.workdays import WorkCalendar
from api.models import Application, ApplicationEvent, OutboxEvent, ServiceItem
from api.workdays import store
from tests.applications import support
from tests.support.client import Api

CASE_FIELDS = """
id projectNo status statusLabel projectType timerState deliveryStatus deliveryMethod evaluationStatus
acceptTime acceptDocNo promiseDate legalDate currentStep supplementRounds decision
resultCode resultReason resultTime resultLicenseIds allowedActions
openSupplement { round dueAt beforeAcceptance items { requirementId name reason } }
specialProcedures { kind subtype plannedDays endedAt result }
deliveries { method status carrier waybillNo receiverName receivedAt }
timeline { seq type fromStatus toStatus stepName actorType actorName actionResult opinion }
"""
RESULT = (
    "__typename ... on HandledApplication { application { " + CASE_FIELDS + " } } "
    "... on Error { code message path } ... on ApplicationTransitionError { status allowedEvents }"
)

OPERATIONS = {
    "passApplicationPrecheck": "PassApplicationPrecheckInput",
    "returnApplicationPrecheck": "ReturnApplicationPrecheckInput",
    "receiveApplication": "ReceiveApplicationInput",
    "acceptApplication": "AcceptApplicationInput",
    "declineApplication": "DeclineApplicationInput",
    "requestApplicationSupplement": "RequestApplicationSupplementInput",
    "startSpecialProcedure": "StartSpecialProcedureInput",
    "endSpecialProcedure": "EndSpecialProcedureInput",
    "completeApplicationStep": "CompleteApplicationStepInput",
    "decideApplication": "DecideApplicationInput",
    "issueApplicationResult": "IssueApplicationResultInput",
    "deliverApplicationResult": "DeliverApplicationResultInput",
    "confirmApplicationResultReceived": "ConfirmApplicationResultReceivedInput",
    "recordApplicationVisit": "RecordApplicationVisitInput",
    "terminateApplication": "TerminateApplicationInput",
    "requestApplicationPayment": "RequestApplicationPaymentInput",
}


# Residents in turn (an SMS code is sent again to one phone only after a while).
_residents = itertools.cycle((2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16))  # L1 or above, with a mobile


async def resident_token(api: Api) -> str:
    return await support.resident_token(api, next(_residents))


def document(operation: str) -> str:
    return f"mutation M($input: {OPERATIONS[operation]}!) {{ {operation}(input: $input) {{ {RESULT} }} }}"


async def act(api: Api, token: str, operation: str, **input: Any) -> dict[str, Any]:
    """Run one handling mutation; returns its result (HandledApplication or a typed error)."""
    result: dict[str, Any] = (await api.data(document(operation), {"input": input}, token))[operation]
    return result


async def done(api: Api, token: str, operation: str, **input: Any) -> dict[str, Any]:
    """Run one handling mutation that must succeed; returns the case."""
    result = await act(api, token, operation, **input)
    assert result["__typename"] == "HandledApplication", result
    case: dict[str, Any] = result["application"]
    return case


async def snapshot(application_id: str) -> tuple[Any, ...]:
    """Everything a refused operation must leave alone: the row's projection, the timeline and the outbox."""
    app = await Application.get(id=application_id)
    events = await ApplicationEvent.filter(application_id=application_id).count()
    outbox = await OutboxEvent.filter(key=application_id).count()
    return (app.status, app.last_seq, app.updated_at, app.promise_date, app.current_step, events, outbox)


async def accepted_case(api: Api, resident: str, handler: str, name: str = support.PROMISED_ITEM) -> dict[str, Any]:
    case = await support.submitted(api, resident, name)
    await done(api, handler, "passApplicationPrecheck", applicationId=case["id"])
    return await done(api, handler, "acceptApplication", applicationId=case["id"])


async def calendar_of(application_id: str, around: date) -> WorkCalendar:
    app = await Application.get(id=application_id)
    item = await ServiceItem.get(id=app.service_item_id)
    return await store.calendar_for(around, item.region_code)


async def assert_journal_consistent(application_id: str) -> None:
    """One outbox row per topic-bearing event with state_version = seq, and the status equals the replay."""
    app = await Application.get(id=application_id)
    events = await ApplicationEvent.filter(application_id=application_id).order_by("seq")
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert app.last_seq == len(events)
    outbox = await OutboxEvent.filter(key=application_id, topic__startswith="application.").order_by("state_version")
    expected = [(journal.TOPICS[e.event_type], e.seq) for e in events if e.event_type in journal.TOPICS]
    assert [(row.topic, row.state_version) for row in outbox] == expected
    assert replay((e.event_type, e.to_status) for e in events) is app.status
