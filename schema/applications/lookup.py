"""Anonymous progress lookup by 办件编号 + 查询密码: public, rate limited per IP, no personal data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from api.applications import lookup
from api.kit.errors import AppError
from schema.access import Public
from schema.applications.inputs import ApplicationProgressInput
from schema.applications.types import ApplicationEventType
from schema.context import Info
from schema.errors import InvalidInputError, NotFoundError, RateLimitedError, to_error


@strawberry.type(description="One public step of the timeline (what happened and when; never who or why).")
class ApplicationProgressStep:
    type: ApplicationEventType
    label: str
    at: datetime


@strawberry.type(description="What the counter slip says about an application, and its public steps.")
class ApplicationProgress:
    project_no: str
    item_name: str
    status_label: str
    apply_time: datetime
    accept_time: datetime | None
    promise_date: date | None
    result_time: datetime | None
    steps: list[ApplicationProgressStep] = strawberry.field(description="At most 200")

    @classmethod
    def build(cls, found: lookup.Progress) -> ApplicationProgress:
        return cls(
            project_no=found.project_no,
            item_name=found.item_name,
            status_label=found.status_label,
            apply_time=found.apply_time,
            accept_time=found.accept_time,
            promise_date=found.promise_date,
            result_time=found.result_time,
            steps=[
                ApplicationProgressStep(type=ApplicationEventType(s.type.value), label=s.label, at=s.at)
                for s in found.steps[:200]
            ],
        )


ApplicationProgressResult = Annotated[
    ApplicationProgress | NotFoundError | InvalidInputError | RateLimitedError,
    strawberry.union("ApplicationProgressResult"),
]


@strawberry.type
class ApplicationProgressQuery:
    @strawberry.field(
        permission_classes=[Public],
        description="Anonymous progress lookup by 办件编号 and the query password set at submission. A wrong "
        "password and an unknown number give the same NO_MATCH error. Send it with POST.",
    )
    async def application_progress(self, info: Info, input: ApplicationProgressInput) -> ApplicationProgressResult:
        context = info.context
        try:
            found = await lookup.progress(
                context.identity.buckets,
                context.principal.ip,
                input.project_no,
                input.query_password,
                context.identity.clock.now(),
            )
        except AppError as exc:
            return to_error(exc)  # type: ignore[return-value]
        return ApplicationProgress.build(found)
