"""Service principal sign-in (`signInService`): a producer system's name and secret for an access token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from api.identity import services
from api.kit.errors import AppError
from schema.access import Public
from schema.context import Info
from schema.errors import AnyError, AuthenticationError, RateLimitedError, to_error


@strawberry.input
class SignInServiceInput:
    name: str
    secret: str


@strawberry.type(description="A short-lived access token of a service principal; sign in again when it expires.")
class ServiceAuthPayload:
    access_token: str
    access_token_expires_at: datetime
    name: str
    scopes: list[str] = strawberry.field(description="At most 20.")


SignInServiceResult = Annotated[
    ServiceAuthPayload | AuthenticationError | RateLimitedError, strawberry.union("SignInServiceResult")
]


@strawberry.type
class ServiceIdentityMutation:
    @strawberry.mutation(permission_classes=[Public], description="Service principal sign-in: name and secret.")
    async def sign_in_service(self, info: Info, input: SignInServiceInput) -> SignInServiceResult:
        ctx = info.context
        try:
            token = await services.sign_in(ctx.identity, input.name, input.secret, ip=ctx.principal.ip)
        except AppError as exc:
            error: AnyError = to_error(exc)
            return error  # type: ignore[return-value]
        return ServiceAuthPayload(
            access_token=token.access_token,
            access_token_expires_at=token.expires_at,
            name=token.name,
            scopes=list(token.claims.roles),
        )
