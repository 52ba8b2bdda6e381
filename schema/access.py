"""Access policies for root fields: every root field declares exactly one (the schema-walk test checks it).

A refusal is a top-level GraphQL error with `extensions.code` UNAUTHENTICATED or FORBIDDEN, like HTTP 401/403:
clients handle it in one place (sign in again), whatever the operation.
"""

from __future__ import annotations

from typing import Any

from strawberry.exceptions import StrawberryGraphQLError
from strawberry.permission import BasePermission

from api.identity.principal import require_citizen, require_operator, require_service
from api.kit.errors import AppError
from api.models import OperatorRole
from schema.context import Context


def _refuse(exc: AppError) -> StrawberryGraphQLError:
    return StrawberryGraphQLError(exc.message, extensions={"code": exc.code})


class Public(BasePermission):
    """Reachable without signing in (catalog, search, guides, sign-in itself)."""

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return True


class CitizenOnly(BasePermission):
    """A signed-in resident or enterprise user; operator tokens are refused."""

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        context: Context = info.context
        try:
            require_citizen(context.principal)
        except AppError as exc:
            raise _refuse(exc) from None
        return True


class SignedIn(BasePermission):
    """Any signed-in principal (signing out, for instance)."""

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        context: Context = info.context
        if context.principal.claims is None:
            raise StrawberryGraphQLError("sign in first", extensions={"code": "UNAUTHENTICATED"})
        return True


class OperatorOnly(BasePermission):
    """A signed-in operator holding one of `roles` (none: any operator); citizen tokens are refused."""

    roles: tuple[OperatorRole, ...] = ()

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        context: Context = info.context
        try:
            require_operator(context.principal, *self.roles)
        except AppError as exc:
            raise _refuse(exc) from None
        return True


def operator_with(*roles: OperatorRole) -> type[OperatorOnly]:
    return type(f"OperatorOnly_{'_'.join(r.value for r in roles)}", (OperatorOnly,), {"roles": roles})


class ServiceOnly(BasePermission):
    """A signed-in service principal (a producer system) holding `scope`; citizen and operator tokens are refused."""

    scope: str | None = None

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        context: Context = info.context
        try:
            require_service(context.principal, self.scope)
        except AppError as exc:
            raise _refuse(exc) from None
        return True


def service_with(scope: str) -> type[ServiceOnly]:
    return type(f"ServiceOnly_{scope.replace(':', '_')}", (ServiceOnly,), {"scope": scope})


POLICIES: tuple[type[BasePermission], ...] = (Public, CitizenOnly, SignedIn, OperatorOnly, ServiceOnly)
