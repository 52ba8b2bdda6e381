"""Expected failures of services, each with a stable code that the GraphQL edge maps to a typed error."""

from __future__ import annotations

from collections.abc import Sequence


class AppError(Exception):
    """An expected failure: the caller did something the rules do not allow. Nothing was changed."""

    code: str = "APP_ERROR"

    def __init__(self, message: str, *, path: Sequence[str] | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = list(path) if path is not None else None
        if code is not None:
            self.code = code


class InvalidInput(AppError):
    code = "INVALID_INPUT"


class NotFound(AppError):
    code = "NOT_FOUND"


class Unauthenticated(AppError):
    code = "UNAUTHENTICATED"


class Forbidden(AppError):
    code = "FORBIDDEN"


class Conflict(AppError):
    code = "CONFLICT"


class RateLimited(AppError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after_ms: int, path: Sequence[str] | None = None) -> None:
        super().__init__(message, path=path)
        self.retry_after_ms = retry_after_ms


class ProviderError(AppError):
    """An external provider refused or failed; the message is safe to show."""

    code = "PROVIDER_ERROR"
