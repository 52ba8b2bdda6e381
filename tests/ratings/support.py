"""Helpers of the ratings tests: cases in a chosen state, sign-ins, the GraphQL documents and state snapshots.

Cases are written as rows (the application and its timeline events), so that a test can place a completion in
the past without moving the shared clock by weeks; tests/ratings/test_journey.py also rates a case made through
the real `submitApplication` path.
"""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from api.models import (
    ActorType,
    Application,
    ApplicationChannel,
    ApplicationEvent,
    ApplicationStatus,
    Evaluation,
    EvaluationStatus,
    EventType,
    OutboxEvent,
    Rectification,
)
from api.seed.context import seed_id
from tests.catalog.support import operator_token
from tests.support.client import Api

_numbers = itertools.count(random.randrange(1000, 9000))

HANDLER_DEPT = "bsyb"  # 白沙县医疗保障局: the responsible department of the test cases
OTHER_DEPT = "scjg"
REGION = "990122"


def org_id(dept: str = HANDLER_DEPT) -> uuid.UUID:
    return seed_id("organization", dept)


async def handler(api: Api, dept: str = HANDLER_DEPT) -> str:
    return await operator_token(api, f"handler.{dept}")


async def supervisor(api: Api) -> str:
    return await operator_token(api, "supervisor.city")


async def case(
    person_id: str,
    *,
    now: datetime,
    status: ApplicationStatus = ApplicationStatus.COMPLETED,
    completed_ago: timedelta = timedelta(minutes=5),
    item_id: uuid.UUID | None = None,
    dept: str = HANDLER_DEPT,
    events: tuple[EventType, ...] = (),
    agent_person_id: str | None = None,
    enterprise_id: uuid.UUID | None = None,
) -> Application:
    """A 即办件-like case of `person_id` at `dept`: SUBMIT and ACCEPT, then COMPLETE `completed_ago` before `now`
    when `status` is COMPLETED; `events` are appended after it (DELIVERY_RECEIVED, …) at the completion time.
    With `enterprise_id` the enterprise applies and `person_id` is the staff member who submitted."""
    done_at = now - completed_ago
    start = done_at - timedelta(hours=1)
    app_id = uuid.uuid4()
    completed = status is ApplicationStatus.COMPLETED
    person = uuid.UUID(person_id)
    app = await Application.create(
        id=app_id,
        project_no=f"T{REGION}{next(_numbers):06d}{app_id.hex[:8]}",
        submitted_by_person_id=uuid.UUID(agent_person_id) if agent_person_id else person,
        agent_person_id=uuid.UUID(agent_person_id) if agent_person_id else None,
        service_item_id=item_id or uuid.uuid4(),
        service_item_version=1,
        task_code="TEST-RATINGS",
        item_name="医保参保登记（评价测试）",
        applicant_type="2" if enterprise_id else "1",
        applicant_person_id=None if enterprise_id else person,
        applicant_enterprise_id=enterprise_id,
        applicant_name="测试申请人",
        applicant_id_type="111",
        contact_name="测试联系人",
        contact_mobile="19900001234",
        channel=ApplicationChannel.APP,
        region_code=REGION,
        accepting_org_id=org_id(dept),
        status=status,
        project_type="1",
        apply_time=start,
        accept_time=start,
        result_time=done_at if completed else None,
        result_code=0 if completed else None,
        evaluation_status=EvaluationStatus.PENDING if completed else None,
        rating_due_at=done_at + timedelta(days=30) if completed else None,
    )
    timeline = [(EventType.SUBMIT, ApplicationStatus.SUBMITTED, start)]
    timeline.append((EventType.ACCEPT, ApplicationStatus.IN_PROGRESS, start))
    if completed:
        timeline.append((EventType.COMPLETE, ApplicationStatus.COMPLETED, done_at))
    timeline += [(event, status, done_at) for event in events]
    await ApplicationEvent.bulk_create(
        [
            ApplicationEvent(
                id=uuid.uuid4(),
                application_id=app_id,
                seq=seq,
                event_type=event,
                to_status=to,
                actor_type=ActorType.SYSTEM,
                started_at=at,
                ended_at=at,
            )
            for seq, (event, to, at) in enumerate(timeline, start=1)
        ]
    )
    await Application.filter(id=app_id).update(last_seq=len(timeline))
    return app


RATING_FIELDS = """
id applicationId projectNo itemName moment channel satisfactionCode stars levelLabel isBad
indicatorScores { indicator label code stars } reasons { code label } text anonymous formVersion ratedAt targetOrgName
rectification { id status dueAt calledBack feedback feedbackAt awaitingVerdict verdict reopenCount escalated closedAt }
"""
RECTIFICATION_FIELDS = """
id status category assignedOrgId assignedOrgName dueAt callbackDueAt callbackAt callbackResult rectificationText
feedback feedbackAt awaitingVerdict verdict reopenCount escalated closedAt allowedSteps
appeal { reason filedAt decision decidedAt comment }
rating { applicationId projectNo itemName moment satisfactionCode stars reasons { code } text anonymous ratedAt
         raterName raterMobile }
history { at action actorKind actorId fromStatus toStatus note category verdict }
"""
ERRORS = "... on Error { code message path } ... on RectificationStepRefusedError { status allowedSteps }"

RATE = (
    "mutation R($input: RateServiceInput!) { rateService(input: $input) { __typename "
    "... on ServiceRated { rating { " + RATING_FIELDS + " } } ... on Error { code message path } } }"
)
MY_RATINGS = (
    "query M($app: ID, $first: Int, $after: String) { myRatings(applicationId: $app, first: $first, after: $after) "
    "{ edges { cursor node { " + RATING_FIELDS + " } } pageInfo { hasNextPage endCursor } } }"
)
RECTIFICATION = "query D($id: ID!) { rectification(id: $id) { " + RECTIFICATION_FIELDS + " } }"
LIST_FIELDS = """
id status assignedOrgId assignedOrgName dueAt callbackDueAt allowedSteps
rating { projectNo moment satisfactionCode anonymous raterName raterMobile }
"""
RECTIFICATIONS = (
    "query L($org: ID, $status: [RectificationStatus!], $first: Int, $after: String) { rectifications(orgId: $org, "
    "status: $status, first: $first, after: $after) { edges { cursor node { " + LIST_FIELDS + " } } "
    "pageInfo { hasNextPage endCursor } } }"
)


def _step(name: str, input_type: str) -> str:
    return (
        f"mutation S($input: {input_type}!) {{ {name}(input: $input) {{ __typename "
        "... on RectificationChanged { rectification { " + RECTIFICATION_FIELDS + " } } " + ERRORS + " } }"
    )


CALLBACK = _step("recordRectificationCallback", "RecordRectificationCallbackInput")
CLASSIFY = _step("classifyRectification", "ClassifyRectificationInput")
COMPLETE = _step("completeRectification", "CompleteRectificationInput")
DECIDE_APPEAL = _step("decideRectificationAppeal", "DecideRectificationAppealInput")
VERDICT = (
    "mutation V($input: RateRectificationInput!) { rateRectification(input: $input) { __typename "
    "... on RectificationRated { rating { " + RATING_FIELDS + " } } " + ERRORS + " } }"
)
STATISTICS = """
query S($org: ID, $item: ID, $from: Date!, $to: Date!) {
  ratingStatistics(orgId: $org, itemId: $item, from: $from, to: $to) {
    orgId itemId fromDate toDate completedCases ratings countByCode weightedScore
    participation { numerator denominator rate } goodRate { numerator denominator rate }
    badRate { numerator denominator rate } rectifiedRate { numerator denominator rate }
    callbackRate { numerator denominator rate } callbackOnTimeRate { numerator denominator rate }
  }
}
"""


async def call(api: Api, document: str, token: str, **input: Any) -> dict[str, Any]:
    data = await api.data(document, {"input": input}, token)
    result: dict[str, Any] = next(iter(data.values()))
    return result


def rating_input(app: Application, moment: str = "COMPLETE", code: int = 1, **extra: Any) -> dict[str, Any]:
    return {"applicationId": str(app.id), "moment": moment, "satisfactionCode": code, **extra}


def bad_input(app: Application, moment: str = "COMPLETE", code: int = 5, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"reasons": ["LOW_EFFICIENCY", "MULTIPLE_TRIPS"], "text": "跑了三次才办成", **extra}
    return rating_input(app, moment, code, **values)


async def rated(api: Api, token: str, data: dict[str, Any]) -> dict[str, Any]:
    result = await call(api, RATE, token, **data)
    assert result["__typename"] == "ServiceRated", result
    rating: dict[str, Any] = result["rating"]
    return rating


async def step(api: Api, document: str, token: str, **input: Any) -> dict[str, Any]:
    result = await call(api, document, token, **input)
    assert result["__typename"] == "RectificationChanged", result
    rectification: dict[str, Any] = result["rectification"]
    return rectification


async def snapshot(application_id: uuid.UUID) -> dict[str, Any]:
    """Everything ratings may write for one case, to prove that a refused call changed nothing."""
    evaluations = await Evaluation.filter(application_id=application_id).order_by("id").values()
    ids = [e["id"] for e in evaluations]
    loops = await Rectification.filter(evaluation_id__in=ids).order_by("id").values() if ids else []
    keys = [str(i) for i in ids] + [str(r["id"]) for r in loops]
    outbox = await OutboxEvent.filter(topic__startswith="ratings.", key__in=keys).count() if keys else 0
    app = await Application.get(id=application_id)
    return {"evaluations": evaluations, "loops": loops, "outbox": outbox, "evaluation_status": app.evaluation_status}
