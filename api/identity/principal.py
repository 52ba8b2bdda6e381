"""Who is calling, and the one central place that decides whether they may.

Every resolver goes through these helpers; the schema-walk test proves that every non-public field refuses an
anonymous caller.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from api.identity.tokens import AccessClaims
from api.kit.errors import Forbidden, Unauthenticated
from api.models import AssuranceLevel, OperatorRole


@dataclass(frozen=True)
class Principal:
    claims: AccessClaims | None
    ip: str

    @property
    def is_anonymous(self) -> bool:
        return self.claims is None

    @property
    def rate_key(self) -> str:
        return f"{self.claims.kind}:{self.claims.subject}" if self.claims else f"ip:{self.ip}"


def require_citizen(principal: Principal, *, min_level: AssuranceLevel = AssuranceLevel.L0) -> AccessClaims:
    claims = principal.claims
    if claims is None:
        raise Unauthenticated("sign in first")
    if claims.kind != "citizen":
        raise Forbidden("this operation is for residents and enterprises, not operators")
    if claims.level < min_level:
        raise Forbidden(f"this operation needs assurance level L{int(min_level)}", code="ASSURANCE_TOO_LOW")
    return claims


def require_operator(principal: Principal, *roles: OperatorRole) -> AccessClaims:
    """Any of `roles` suffices; no roles means any signed-in operator."""
    claims = principal.claims
    if claims is None:
        raise Unauthenticated("sign in first")
    if claims.kind != "operator":
        raise Forbidden("this operation is for operators")
    if roles and not set(claims.roles) & {role.value for role in roles}:
        raise Forbidden("your role does not allow this operation")
    return claims


def require_service(principal: Principal, scope: str | None = None) -> AccessClaims:
    """A signed-in service principal; with `scope`, one granted that scope (carried in the token's roles)."""
    claims = principal.claims
    if claims is None:
        raise Unauthenticated("sign in first")
    if claims.kind != "service":
        raise Forbidden("this operation is for service principals")
    if scope is not None and scope not in claims.roles:
        raise Forbidden(f"this service principal lacks the scope {scope}")
    return claims


def person_id(principal: Principal) -> uuid.UUID:
    return require_citizen(principal).subject
