"""Who may handle or read a case on the operator side (谁受理、谁负责: the accepting department's handlers).

Role checks at the GraphQL edge only say "a case handler"; the department check needs the case row, so every
handling service calls `require_case_handler` with the row it read, before it changes anything.
"""

from __future__ import annotations

from api.identity.tokens import AccessClaims
from api.kit.errors import Forbidden
from api.models import Application, OperatorRole


def is_case_handler_of(claims: AccessClaims | None, app: Application) -> bool:
    return (
        claims is not None
        and claims.kind == "operator"
        and OperatorRole.CASE_HANDLER.value in claims.roles
        and claims.department_id is not None
        and claims.department_id == app.accepting_org_id
    )


def require_case_handler(claims: AccessClaims | None, app: Application) -> AccessClaims:
    """The claims of a case handler of the department that accepts `app`; anyone else is refused."""
    if claims is None or not is_case_handler_of(claims, app):
        raise Forbidden("only a case handler of the accepting department may handle this application")
    return claims


def can_read_case(claims: AccessClaims | None, app: Application) -> bool:
    """Operators who may read a case: its department's handlers and supervisors (效能监督 sees every case)."""
    if claims is None or claims.kind != "operator":
        return False
    return is_case_handler_of(claims, app) or OperatorRole.SUPERVISOR.value in claims.roles
