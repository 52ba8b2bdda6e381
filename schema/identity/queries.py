"""Identity queries of the signed-in caller."""

from __future__ import annotations

import strawberry
from strawberry.exceptions import StrawberryGraphQLError

from api.identity import agents, profile, sessions
from api.kit.errors import AppError
from schema.access import CitizenOnly, OperatorOnly
from schema.context import Info
from schema.identity.types import (
    AgentAuthorization,
    DeviceSession,
    Enterprise,
    EnterpriseMembership,
    Me,
    OperatorAccount,
)


@strawberry.type(description="Whether the caller, as it acts now, may act on a service.")
class AgentScopeCheck:
    allowed: bool
    reason: str = strawberry.field(
        description="SELF, LEGAL_REPRESENTATIVE, AGENT_IN_SCOPE, AGENT_OUT_OF_SCOPE, AGENT_AUTHORIZATION_EXPIRED or "
        "AGENT_AUTHORIZATION_REVOKED"
    )


@strawberry.type
class IdentityQuery:
    @strawberry.field(permission_classes=[CitizenOnly], description="The signed-in resident.")
    async def me(self, info: Info) -> Me:
        claims = info.context.principal.claims
        assert claims is not None
        return Me.from_row(info, await profile.person(claims.subject))

    @strawberry.field(permission_classes=[CitizenOnly], description="Your signed-in devices, at most 50.")
    async def my_sessions(self, info: Info) -> list[DeviceSession]:
        claims = info.context.principal.claims
        assert claims is not None
        rows = await sessions.list_active(info.context.identity, claims.subject)
        return [DeviceSession.from_row(row, claims.family_id) for row in rows[:50]]

    @strawberry.field(
        permission_classes=[CitizenOnly],
        description="Enterprises you may act for (legal representative or 经办人), at most 100.",
    )
    async def my_enterprises(self, info: Info) -> list[EnterpriseMembership]:
        claims = info.context.principal.claims
        assert claims is not None
        memberships = await profile.enterprises_of(info.context.identity, claims.subject)
        return [
            EnterpriseMembership(
                enterprise=Enterprise.from_row(m.enterprise),
                role=m.role,
                authorization_id=strawberry.ID(str(m.authorization.id)) if m.authorization else None,
                valid_to=m.authorization.valid_to if m.authorization else None,
            )
            for m in memberships[:100]
        ]

    @strawberry.field(
        permission_classes=[CitizenOnly],
        description="Authorizations you hold as agent or granted as principal, at most 100.",
    )
    async def my_agent_authorizations(self, info: Info) -> list[AgentAuthorization]:
        claims = info.context.principal.claims
        assert claims is not None
        rows = await agents.authorizations_of(claims)
        return [AgentAuthorization.from_row(row) for row in rows[:100]]

    @strawberry.field(permission_classes=[CitizenOnly], description="May the current session act on this service?")
    async def agent_scope_check(self, info: Info, service_code: str) -> AgentScopeCheck:
        claims = info.context.principal.claims
        assert claims is not None
        decision = await agents.check_acting_scope(info.context.identity, claims, service_code.strip())
        return AgentScopeCheck(allowed=decision.allowed, reason=decision.reason)

    @strawberry.field(permission_classes=[OperatorOnly], description="The signed-in operator.")
    async def operator_me(self, info: Info) -> OperatorAccount:
        claims = info.context.principal.claims
        assert claims is not None
        try:
            row = await profile.operator(claims.subject)
        except AppError as exc:  # disabled since the token was issued: refused like any access check, not masked
            raise StrawberryGraphQLError(exc.message, extensions={"code": exc.code}) from None
        return OperatorAccount.from_row(row)
