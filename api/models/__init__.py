"""All Tortoise models, one module per aggregate, registered once as the app "models"."""

from api.models.identity import (
    AgentAuthorization,
    AgentKind,
    AssuranceLevel,
    AuthMethod,
    BindingProvider,
    Enterprise,
    EnterpriseSize,
    IdentityBinding,
    Operator,
    OperatorRole,
    Person,
    PrincipalType,
    ServicePrincipal,
    Session,
    SessionChannel,
    VerifierApp,
)
from api.models.outbox import OutboxEvent
from api.models.reference import Organization, Region

__all__ = [
    "AgentAuthorization",
    "AgentKind",
    "AssuranceLevel",
    "AuthMethod",
    "BindingProvider",
    "Enterprise",
    "EnterpriseSize",
    "IdentityBinding",
    "Operator",
    "OperatorRole",
    "Organization",
    "OutboxEvent",
    "Person",
    "PrincipalType",
    "Region",
    "ServicePrincipal",
    "Session",
    "SessionChannel",
    "VerifierApp",
]
