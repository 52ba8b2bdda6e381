"""Queries of this domain; the root Query inherits them."""

from __future__ import annotations

import strawberry
from strawberry.exceptions import StrawberryGraphQLError

from api.identity.tokens import AccessClaims
from api.kit.clock import shanghai_date
from api.kit.errors import AppError
from api.kit.ids import parse_uuid
from api.licenses import consents, wallet
from schema.access import CitizenOnly
from schema.context import Info
from schema.licenses.types import License, LicenseConsent, LicenseStatus, LicenseUse
from schema.pagination import Connection


def _claims(info: Info) -> AccessClaims:
    claims = info.context.principal.claims
    assert claims is not None  # the field's permission class guarantees it
    return claims


def _refuse(exc: AppError) -> StrawberryGraphQLError:
    return StrawberryGraphQLError(exc.message, extensions={"code": exc.code})


@strawberry.type
class LicenseQuery:
    @strawberry.field(permission_classes=[CitizenOnly], description="Licences you hold yourself, newest first.")
    async def my_licenses(
        self, info: Info, first: int | None = 20, after: str | None = None, status: LicenseStatus | None = None
    ) -> Connection[License]:
        clock = info.context.identity.clock
        now = clock.now()
        today = shanghai_date(now)
        try:
            page = await wallet.my_licences(_claims(info), now, first, after, status.to_row() if status else None)
        except AppError as exc:
            raise _refuse(exc) from None
        return Connection.of(page, lambda row: License.from_row(row, today))

    @strawberry.field(
        permission_classes=[CitizenOnly],
        description="Licences of an enterprise you act for (legal representative, or the session's acting enterprise).",
    )
    async def enterprise_licenses(
        self, info: Info, enterprise_id: strawberry.ID, first: int | None = 20, after: str | None = None
    ) -> Connection[License]:
        now = info.context.identity.clock.now()
        today = shanghai_date(now)
        enterprise = parse_uuid(str(enterprise_id))
        if enterprise is None:
            raise StrawberryGraphQLError("not a valid id", extensions={"code": "INVALID_ID"})
        try:
            page = await wallet.enterprise_licences(_claims(info), enterprise, now, first, after)
        except AppError as exc:
            raise _refuse(exc) from None
        return Connection.of(page, lambda row: License.from_row(row, today))

    @strawberry.field(permission_classes=[CitizenOnly], description="One of your licences; null if not yours.")
    async def license(self, info: Info, id: strawberry.ID) -> License | None:
        now = info.context.identity.clock.now()
        licence_id = parse_uuid(str(id))
        if licence_id is None:
            return None
        try:
            row = await wallet.owned_licence(_claims(info), licence_id, now, field="id")
        except AppError:
            return None
        return License.from_row(row, shanghai_date(now))

    @strawberry.field(
        permission_classes=[CitizenOnly],
        description="Every show, verification, 加注件 download and attachment of your licences, newest first.",
    )
    async def my_license_uses(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[LicenseUse]:
        now = info.context.identity.clock.now()
        try:
            page = await wallet.my_uses(_claims(info), now, first, after)
        except AppError as exc:
            raise _refuse(exc) from None
        return Connection.of(page, LicenseUse.from_record)

    @strawberry.field(permission_classes=[CitizenOnly], description="Your 授权用证 consents, newest first, at most 30.")
    async def my_consents(self, info: Info) -> list[LicenseConsent]:
        now = info.context.identity.clock.now()
        rows = await consents.of_holder(_claims(info), now)
        names = await consents.grantee_names(rows)
        return [LicenseConsent.from_row(row, names, now) for row in rows]
