"""Mutations of 好差评: rating a service moment, the department's steps of the 差评 loop, the supervisor's appeal
decision and the rater's verdict. Every refusal is a typed error and changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import strawberry

from api.identity.tokens import AccessClaims
from api.kit.errors import AppError, InvalidInput
from api.kit.ids import parse_uuid
from api.models import OperatorRole
from api.ratings import policy as ratings_policy
from api.ratings import service
from api.ratings.loop import IllegalRectificationStep
from api.ratings.rating import RatingInput
from schema.access import CitizenOnly, operator_with
from schema.context import Info
from schema.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError, to_error
from schema.ratings import inputs
from schema.ratings.types import Rating, Rectification, RectificationStepRefusedError

T = TypeVar("T")


@strawberry.type(description="The rating was stored; a 差评 has opened its rectification.")
class ServiceRated:
    rating: Rating


@strawberry.type
class RectificationChanged:
    rectification: Rectification


@strawberry.type(description="Your verdict was recorded; `rating.rectification` shows where the loop stands now.")
class RectificationRated:
    rating: Rating


RateServiceResult = Annotated[
    ServiceRated | InvalidInputError | NotFoundError | ConflictError, strawberry.union("RateServiceResult")
]
RectificationResult = (
    RectificationChanged
    | RectificationStepRefusedError
    | InvalidInputError
    | NotFoundError
    | ForbiddenError
    | ConflictError
)
RecordRectificationCallbackResult = Annotated[
    RectificationResult, strawberry.union("RecordRectificationCallbackResult")
]
ClassifyRectificationResult = Annotated[RectificationResult, strawberry.union("ClassifyRectificationResult")]
CompleteRectificationResult = Annotated[RectificationResult, strawberry.union("CompleteRectificationResult")]
DecideRectificationAppealResult = Annotated[RectificationResult, strawberry.union("DecideRectificationAppealResult")]
RateRectificationResult = Annotated[
    RectificationRated | RectificationStepRefusedError | InvalidInputError | NotFoundError | ConflictError,
    strawberry.union("RateRectificationResult"),
]


async def _guard(call: Callable[[], Awaitable[T]]) -> T | object:
    try:
        return await call()
    except IllegalRectificationStep as exc:
        return RectificationStepRefusedError.of(exc)
    except AppError as exc:
        return to_error(exc)


def _claims(info: Info) -> AccessClaims:
    claims = info.context.principal.claims
    assert claims is not None  # the field's permission class guarantees it
    return claims


def _uuid(value: str | None, field: str) -> uuid.UUID:
    parsed = parse_uuid(value or "")
    if parsed is None:
        raise InvalidInput("not a valid id", path=[field], code="INVALID_ID")
    return parsed


CaseHandler = operator_with(OperatorRole.CASE_HANDLER)
Supervisor = operator_with(OperatorRole.SUPERVISOR)


@strawberry.type
class RatingMutation:
    @strawberry.mutation(
        permission_classes=[CitizenOnly],
        description="好差评: rate one service moment of your case, once, within the rating window after it happened.",
    )
    async def rate_service(self, info: Info, input: inputs.RateServiceInput) -> RateServiceResult:
        now = info.context.identity.clock.now()

        async def run() -> ServiceRated:
            data = RatingInput(
                application_id=_uuid(input.application_id, "applicationId"),
                moment=input.moment.to_row(),
                satisfaction_code=input.satisfaction_code,
                indicator_scores=[(s.indicator, s.code) for s in input.indicator_scores],
                reasons=list(input.reasons),
                text=input.text,
                anonymous=input.anonymous,
                channel=input.channel.value,
            )
            view = await service.rate(_claims(info), data, ratings_policy.current(), now)
            return ServiceRated(rating=Rating.build(view))

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[CaseHandler],
        description="回访核实 of a real-name 差评 by the responsible department: PENDING_CALLBACK → VERIFYING.",
    )
    async def record_rectification_callback(
        self, info: Info, input: inputs.RecordRectificationCallbackInput
    ) -> RecordRectificationCallbackResult:
        now = info.context.identity.clock.now()

        async def run() -> RectificationChanged:
            rid = _uuid(input.rectification_id, "rectificationId")
            view = await service.record_callback(_claims(info), rid, input.result, now)
            return RectificationChanged(rectification=Rectification.build(view))

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[CaseHandler],
        description="Classify a verified 差评: IMMEDIATE / LEDGER_DEADLINE rectify, NO_LEGAL_BASIS explains, "
        "MISJUDGED appeals (within the appeal window).",
    )
    async def classify_rectification(
        self, info: Info, input: inputs.ClassifyRectificationInput
    ) -> ClassifyRectificationResult:
        now = info.context.identity.clock.now()

        async def run() -> RectificationChanged:
            rid = _uuid(input.rectification_id, "rectificationId")
            category = input.category.to_row()
            view = await service.classify(_claims(info), rid, category, input.text, ratings_policy.current(), now)
            return RectificationChanged(rectification=Rectification.build(view))

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[CaseHandler],
        description="整改完成: the rectification and the feedback to the rater; RECTIFYING → CLOSED, awaiting the "
        "rater's verdict.",
    )
    async def complete_rectification(
        self, info: Info, input: inputs.CompleteRectificationInput
    ) -> CompleteRectificationResult:
        now = info.context.identity.clock.now()

        async def run() -> RectificationChanged:
            rid = _uuid(input.rectification_id, "rectificationId")
            policy = ratings_policy.current()
            view = await service.complete(_claims(info), rid, input.rectification_text, input.feedback, policy, now)
            return RectificationChanged(rectification=Rectification.build(view))

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[Supervisor],
        description="申诉复核 by the 政务服务管理机构: upheld excludes the 差评 from statistics and closes the loop; "
        "rejected resumes it with the deadline moved by the appeal's duration.",
    )
    async def decide_rectification_appeal(
        self, info: Info, input: inputs.DecideRectificationAppealInput
    ) -> DecideRectificationAppealResult:
        now = info.context.identity.clock.now()

        async def run() -> RectificationChanged:
            rid = _uuid(input.rectification_id, "rectificationId")
            policy = ratings_policy.current()
            view = await service.decide_appeal(_claims(info), rid, input.upheld, input.comment, policy, now)
            return RectificationChanged(rectification=Rectification.build(view))

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[CitizenOnly],
        description="Your verdict on the feedback to your 差评. A first UNSATISFIED reopens the rectification once; "
        "a second closes it escalated to the supervising org.",
    )
    async def rate_rectification(self, info: Info, input: inputs.RateRectificationInput) -> RateRectificationResult:
        now = info.context.identity.clock.now()

        async def run() -> RectificationRated:
            rid = _uuid(input.rectification_id, "rectificationId")
            verdict = input.verdict.to_row()
            policy = ratings_policy.current()
            view = await service.rate_rectification(_claims(info), rid, verdict, input.comment, policy, now)
            return RectificationRated(rating=Rating.build(view))

        return await _guard(run)  # type: ignore[return-value]
