"""Applicant queries of 办件: my cases, one case with its timeline, and the anonymous progress lookup."""

from __future__ import annotations

import strawberry
from strawberry.exceptions import StrawberryGraphQLError

from api.applications import listing
from api.identity.tokens import AccessClaims
from api.kit.errors import AppError
from api.kit.ids import parse_uuid
from api.models import ApplicationStatus as StatusRow
from schema.access import CitizenOnly, SignedIn
from schema.applications.inputs import MyApplicationsFilter
from schema.applications.lookup import ApplicationProgressQuery
from schema.applications.types import Application, ApplicationSummary
from schema.context import Info
from schema.pagination import Connection


def _claims(info: Info) -> AccessClaims:
    claims = info.context.principal.claims
    assert claims is not None  # the field's permission class guarantees it
    return claims


def _filter(where: MyApplicationsFilter | None) -> listing.Filter:
    if where is None:
        return listing.Filter()
    return listing.Filter(
        group=where.group.value if where.group else None,
        statuses=[StatusRow(s.value) for s in where.statuses] if where.statuses else None,
        service_code=where.service_code,
    )


@strawberry.type
class ApplicationQuery(ApplicationProgressQuery):
    @strawberry.field(
        permission_classes=[CitizenOnly],
        description="Your applications (yourself, as an agent, and the enterprise you act for), newest first; "
        "`first` at most 100.",
    )
    async def my_applications(
        self,
        info: Info,
        filter: MyApplicationsFilter | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[ApplicationSummary]:
        now = info.context.identity.clock.now()
        try:
            page = await listing.mine(_claims(info), now, _filter(filter), first, after)
        except AppError as exc:
            raise StrawberryGraphQLError(exc.message, extensions={"code": exc.code}) from None
        return Connection.of(page, ApplicationSummary.from_row)

    @strawberry.field(
        permission_classes=[SignedIn],
        description="One application with its full timeline: for its applicant, the agent who submitted it, and "
        "operators of the accepting department or supervisors; null for anyone else.",
    )
    async def application(self, info: Info, id: strawberry.ID) -> Application | None:
        application_id = parse_uuid(str(id))
        if application_id is None:
            return None
        view = await listing.one(_claims(info), application_id, info.context.identity.clock.now())
        return None if view is None else Application.from_view(view)
