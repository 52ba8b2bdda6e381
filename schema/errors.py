"""The Error interface and the error types that mutation result unions are made of (graphql.md §2)."""

from __future__ import annotations

import strawberry

from api.identity.otp import OtpRejected
from api.kit.errors import (
    AppError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ProviderError,
    RateLimited,
    Unauthenticated,
)


@strawberry.interface(description="An expected failure. Nothing was changed.")
class Error:
    code: str
    message: str
    path: list[str] | None = None


@strawberry.type(description="The input was refused; `path` points at the field.")
class InvalidInputError(Error):
    pass


@strawberry.type(description="A one-time code was refused.")
class OtpRejectedError(Error):
    attempts_left: int


@strawberry.type
class NotFoundError(Error):
    pass


@strawberry.type(description="The caller may not do this (role, assurance level, agent scope).")
class ForbiddenError(Error):
    pass


@strawberry.type(description="Credentials or a session were refused.")
class AuthenticationError(Error):
    pass


@strawberry.type(description="The change conflicts with existing state.")
class ConflictError(Error):
    pass


@strawberry.type(description="Too many requests; retry after `retryAfterMs`.")
class RateLimitedError(Error):
    retry_after_ms: int


@strawberry.type(description="An external provider (WeChat, Alipay, SMS, the provincial platform) refused or failed.")
class ProviderFailedError(Error):
    pass


AnyError = (
    InvalidInputError
    | OtpRejectedError
    | NotFoundError
    | ForbiddenError
    | AuthenticationError
    | ConflictError
    | RateLimitedError
    | ProviderFailedError
)


def to_error(exc: AppError) -> AnyError:
    """The typed error for an expected failure; resolvers return it as a member of their result union."""
    code, message, path = exc.code, exc.message, exc.path
    if isinstance(exc, OtpRejected):
        return OtpRejectedError(code=code, message=message, path=path, attempts_left=exc.attempts_left)
    if isinstance(exc, RateLimited):
        return RateLimitedError(code=code, message=message, path=path, retry_after_ms=exc.retry_after_ms)
    mapping: list[tuple[type[AppError], type[Error]]] = [
        (InvalidInput, InvalidInputError),
        (NotFound, NotFoundError),
        (Forbidden, ForbiddenError),
        (Unauthenticated, AuthenticationError),
        (Conflict, ConflictError),
        (ProviderError, ProviderFailedError),
    ]
    for app_type, error_type in mapping:
        if isinstance(exc, app_type):
            return error_type(code=code, message=message, path=path)  # type: ignore[return-value]
    return InvalidInputError(code=code, message=message, path=path)
