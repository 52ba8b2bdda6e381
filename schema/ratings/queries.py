"""Queries of 好差评: the rating form, your ratings, the departments' rectification lists and statistics."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.exceptions import StrawberryGraphQLError

from api.identity.tokens import AccessClaims
from api.kit.errors import AppError
from api.kit.ids import parse_uuid
from api.models import OperatorRole
from api.ratings import forms, read, stats
from api.ratings import policy as ratings_policy
from schema.access import CitizenOnly, Public, operator_with
from schema.context import Info
from schema.pagination import Connection
from schema.ratings.types import (
    Rating,
    RatingForm,
    RatingFormKind,
    RatingStatistics,
    Rectification,
    RectificationStatus,
    status_rows,
)

Overseers = operator_with(OperatorRole.CASE_HANDLER, OperatorRole.SUPERVISOR)


def _claims(info: Info) -> AccessClaims:
    claims = info.context.principal.claims
    assert claims is not None  # the field's permission class guarantees it
    return claims


def _now(info: Info) -> datetime:
    return info.context.identity.clock.now()


def _refuse(exc: AppError) -> StrawberryGraphQLError:
    return StrawberryGraphQLError(exc.message, extensions={"code": exc.code, "path": exc.path})


def _id(value: strawberry.ID | None, field: str) -> uuid.UUID | None:
    if value is None:
        return None
    parsed = parse_uuid(str(value))
    if parsed is None:
        raise StrawberryGraphQLError("not a valid id", extensions={"code": "INVALID_ID", "path": [field]})
    return parsed


@strawberry.type
class RatingQuery:
    @strawberry.field(
        permission_classes=[Public], description="The platform-level rating form (levels, indicators, 差评 reasons)."
    )
    def rating_form(self, kind: RatingFormKind = RatingFormKind.ONLINE) -> RatingForm:
        return RatingForm.build(forms.form(forms.FormKind(kind.value)))

    @strawberry.field(
        permission_classes=[CitizenOnly],
        description="Ratings you gave, newest first, with the rectification of each 差评; at most 100 per page.",
    )
    async def my_ratings(
        self, info: Info, application_id: strawberry.ID | None = None, first: int | None = 20, after: str | None = None
    ) -> Connection[Rating]:
        app_id = _id(application_id, "applicationId")
        try:
            page = await read.my_ratings(_claims(info), app_id, first, after)
        except AppError as exc:
            raise _refuse(exc) from None
        return Connection.of(page, Rating.build)

    @strawberry.field(
        permission_classes=[Overseers],
        description="差评 rectifications, newest first: a case handler sees their department's, a supervisor any "
        "org's (or all); at most 100 per page.",
    )
    async def rectifications(
        self,
        info: Info,
        org_id: strawberry.ID | None = None,
        status: list[RectificationStatus] | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Rectification]:
        org = _id(org_id, "orgId")
        try:
            page = await read.rectifications(_claims(info), org, status_rows(status), first, after, _now(info))
        except AppError as exc:
            raise _refuse(exc) from None
        return Connection.of(page, Rectification.build)

    @strawberry.field(
        permission_classes=[Overseers],
        description="One rectification with its history; null when missing or another department's.",
    )
    async def rectification(self, info: Info, id: strawberry.ID) -> Rectification | None:
        rectification_id = parse_uuid(str(id))
        if rectification_id is None:
            return None
        try:
            view = await read.rectification_for(_claims(info), rectification_id, _now(info))
        except AppError as exc:
            raise _refuse(exc) from None
        return Rectification.build(view) if view else None

    @strawberry.field(
        permission_classes=[Overseers],
        description="好差评 statistics of an org and/or item over [from, to] (Asia/Shanghai dates): a case handler for "
        "their department, a supervisor for any org or all.",
    )
    async def rating_statistics(
        self,
        info: Info,
        start: Annotated[date, strawberry.argument(name="from", description="First day (Asia/Shanghai)")],
        end: Annotated[date, strawberry.argument(name="to", description="Last day, inclusive")],
        org_id: strawberry.ID | None = None,
        item_id: strawberry.ID | None = None,
    ) -> RatingStatistics:
        org, item = _id(org_id, "orgId"), _id(item_id, "itemId")
        now = info.context.identity.clock.now()
        try:
            figures = await stats.statistics(_claims(info), org, item, start, end, ratings_policy.current(), now)
        except AppError as exc:
            raise _refuse(exc) from None
        return RatingStatistics.build(figures)
