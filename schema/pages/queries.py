"""Queries of this domain; the root Query inherits them."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.exceptions import StrawberryGraphQLError

from api.kit.errors import AppError, Forbidden
from api.pages import enterprise as enterprise_page
from api.pages import personal
from schema.access import CitizenOnly
from schema.context import Info
from schema.pages.types import EnterpriseHomePage, MyHomePage

_PERSONAL_LOADER = "pages.personal"


@strawberry.type
class PagesQuery:
    @strawberry.field(
        permission_classes=[CitizenOnly],
        description="市民主页: your applications in progress, bills due, expiring licences, unread messages, "
        "recommendations and shortcuts, in one query of at most 7 SQL statements (5 while the catalog is unchanged).",
    )
    def my_home_page(self, info: Info) -> MyHomePage:
        claims = info.context.principal.claims
        assert claims is not None
        page = info.context.loaders.get(_PERSONAL_LOADER)
        if page is None:
            page = info.context.loaders[_PERSONAL_LOADER] = personal.PersonalPage(
                info.context.identity.clock, claims.subject, info.context.identity.redis
            )
        return MyHomePage(page=page)

    @strawberry.field(
        permission_classes=[CitizenOnly],
        description="法人空间 of an enterprise you represent or are a live 经办人 of; FORBIDDEN otherwise.",
    )
    async def enterprise_home_page(self, info: Info, enterprise_id: strawberry.ID) -> EnterpriseHomePage:
        claims = info.context.principal.claims
        assert claims is not None
        try:
            try:
                wanted = uuid.UUID(str(enterprise_id))
            except ValueError:
                raise Forbidden("not an enterprise id") from None
            page = await enterprise_page.open_page(info.context.identity.clock, claims.subject, wanted)
        except AppError as exc:  # refused like any access check: one top-level FORBIDDEN, nothing resolved
            raise StrawberryGraphQLError(exc.message, extensions={"code": exc.code}) from None
        return EnterpriseHomePage(page=page)
