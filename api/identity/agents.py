"""Acting for someone else: 经办人 of an enterprise, 亲友代办 and guardians (domain.md §6.3, D15).

Every check reads the authorization row, not the token, so a revocation or an expiry takes effect at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from api.identity import sessions
from api.identity.deps import IdentityDeps
from api.identity.sessions import TokenPair
from api.identity.tokens import AccessClaims
from api.kit.errors import Forbidden, InvalidInput, NotFound
from api.kit.ids import new_id
from api.models import AgentAuthorization, AgentKind, AssuranceLevel, Enterprise, Person, PrincipalType, Session

DEFAULT_VALIDITY = timedelta(days=365)
MAX_VALIDITY = timedelta(days=3 * 365)


@dataclass(frozen=True)
class Grant:
    agent_phone: str
    valid_to: datetime | None
    scope_all: bool
    service_codes: list[str]
    evidence: str
    consent_text: str


def _window(deps: IdentityDeps, valid_to: datetime | None) -> tuple[datetime, datetime]:
    now = deps.clock.now()
    end = valid_to or now + DEFAULT_VALIDITY
    if end <= now:
        raise InvalidInput(
            "the end of the authorization must be in the future", path=["validTo"], code="INVALID_WINDOW"
        )
    if end > now + MAX_VALIDITY:
        raise InvalidInput("an authorization lasts three years at most", path=["validTo"], code="INVALID_WINDOW")
    return now, end


def _scope(grant: Grant) -> list[str]:
    codes = sorted({code.strip() for code in grant.service_codes if code.strip()})
    if grant.scope_all and codes:
        raise InvalidInput("choose all services or a list, not both", path=["serviceCodes"], code="INVALID_SCOPE")
    if not grant.scope_all and not codes:
        raise InvalidInput("name at least one service, or all", path=["serviceCodes"], code="INVALID_SCOPE")
    if any(len(code) > 50 for code in codes):
        raise InvalidInput("a service code has at most 50 characters", path=["serviceCodes"], code="INVALID_SCOPE")
    return codes


async def _agent(phone: str) -> Person:
    agent = await Person.get_or_none(mobile=phone, merged_into_id=None)
    if agent is None:
        raise NotFound("nobody has signed in with this phone yet", path=["agentPhone"], code="AGENT_NOT_FOUND")
    return agent


async def legal_rep_enterprise(claims: AccessClaims, enterprise_id: uuid.UUID) -> Enterprise:
    """The enterprise, if the caller is its legal representative in an L2 session."""
    enterprise = await Enterprise.get_or_none(id=enterprise_id)
    if enterprise is None:
        raise NotFound("no such enterprise", path=["enterpriseId"])
    person = await Person.get(id=claims.subject)
    if person.id_number_hash is None or person.id_number_hash != enterprise.legal_rep_id_hash:
        raise Forbidden("only the legal representative may do this", code="NOT_LEGAL_REPRESENTATIVE")
    if claims.level < AssuranceLevel.L2:
        raise Forbidden("the legal representative needs an L2 session", code="ASSURANCE_TOO_LOW")
    return enterprise


async def _record(
    principal_type: PrincipalType,
    principal_id: uuid.UUID,
    kind: AgentKind,
    agent: Person,
    grant: Grant,
    codes: list[str],
    window: tuple[datetime, datetime],
    claims: AccessClaims,
) -> AgentAuthorization:
    return await AgentAuthorization.create(
        id=new_id(),
        principal_type=principal_type,
        principal_id=principal_id,
        agent_person=agent,
        kind=kind,
        scope_all=grant.scope_all,
        scope_service_codes=codes,
        valid_from=window[0],
        valid_to=window[1],
        evidence=grant.evidence,
        consent_text=grant.consent_text,
        granted_by_person_id=claims.subject,
    )


async def grant_agent(
    deps: IdentityDeps, claims: AccessClaims, enterprise_id: uuid.UUID, grant: Grant
) -> AgentAuthorization:
    enterprise = await legal_rep_enterprise(claims, enterprise_id)
    codes = _scope(grant)
    valid_from, valid_to = _window(deps, grant.valid_to)
    agent = await _agent(grant.agent_phone)
    if agent.id == claims.subject:
        raise InvalidInput(
            "the legal representative acts without an authorization", path=["agentPhone"], code="AGENT_IS_LEGAL_REP"
        )
    return await _record(
        PrincipalType.ENTERPRISE, enterprise.id, AgentKind.STAFF, agent, grant, codes, (valid_from, valid_to), claims
    )


async def grant_family_proxy(deps: IdentityDeps, claims: AccessClaims, grant: Grant) -> AgentAuthorization:
    if claims.level < AssuranceLevel.L2:
        raise Forbidden("authorizing a relative needs an L2 session", code="ASSURANCE_TOO_LOW")
    if not grant.consent_text.strip():
        raise InvalidInput("the principal's consent must be recorded", path=["consentText"], code="CONSENT_REQUIRED")
    codes = _scope(grant)
    valid_from, valid_to = _window(deps, grant.valid_to)
    agent = await _agent(grant.agent_phone)
    if agent.id == claims.subject:
        raise InvalidInput("you cannot authorize yourself", path=["agentPhone"], code="AGENT_IS_PRINCIPAL")
    return await _record(
        PrincipalType.PERSON, claims.subject, AgentKind.FAMILY, agent, grant, codes, (valid_from, valid_to), claims
    )


async def revoke(deps: IdentityDeps, claims: AccessClaims, authorization_id: uuid.UUID) -> AgentAuthorization:
    row = await AgentAuthorization.get_or_none(id=authorization_id)
    if row is None:
        raise NotFound("no such authorization", path=["authorizationId"])
    if row.principal_type is PrincipalType.ENTERPRISE:
        await legal_rep_enterprise(claims, row.principal_id)
    elif row.principal_id != claims.subject:
        raise Forbidden("only the principal may revoke this authorization", code="NOT_PRINCIPAL")
    if row.revoked_at is None:
        row.revoked_at = deps.clock.now()
        await row.save(update_fields=["revoked_at"])
        families = (
            await Session.filter(agent_authorization_id=row.id, revoked_at=None)
            .distinct()
            .values_list("family_id", flat=True)
        )
        for family_id in families:
            await sessions.revoke_family(deps, family_id)  # type: ignore[arg-type]
    return row


def _live(row: AgentAuthorization, now: datetime) -> bool:
    return row.revoked_at is None and row.valid_from <= now < row.valid_to


async def act_as(deps: IdentityDeps, claims: AccessClaims, enterprise_id: uuid.UUID | None) -> TokenPair:
    """Rotate the caller's session so that its tokens act for `enterprise_id` (None: for oneself again)."""
    current = await sessions.current_row(claims.family_id)
    if enterprise_id is None:
        return await sessions.rotate(deps, current, acting_as_enterprise_id=None, agent_authorization_id=None)
    enterprise = await Enterprise.get_or_none(id=enterprise_id)
    if enterprise is None:
        raise NotFound("no such enterprise", path=["enterpriseId"])
    person = await Person.get(id=claims.subject)
    if (
        person.id_number_hash
        and person.id_number_hash == enterprise.legal_rep_id_hash
        and claims.level >= AssuranceLevel.L2
    ):
        return await sessions.rotate(deps, current, acting_as_enterprise_id=enterprise.id, agent_authorization_id=None)
    now = deps.clock.now()
    rows = await AgentAuthorization.filter(
        principal_type=PrincipalType.ENTERPRISE,
        principal_id=enterprise.id,
        agent_person_id=claims.subject,
        kind=AgentKind.STAFF,
    ).order_by("-valid_to")
    live = next((row for row in rows if _live(row, now)), None)
    if live is None:
        # Named after the latest grant, as agentScopeCheck names it: a revoked grant is not an expired one.
        code = "AGENT_NOT_AUTHORIZED"
        if rows:
            code = "AGENT_AUTHORIZATION_REVOKED" if rows[0].revoked_at is not None else "AGENT_AUTHORIZATION_EXPIRED"
        raise Forbidden("you are not an authorized agent of this enterprise", code=code)
    return await sessions.rotate(deps, current, acting_as_enterprise_id=enterprise.id, agent_authorization_id=live.id)


@dataclass(frozen=True)
class ScopeDecision:
    allowed: bool
    reason: str


async def check_acting_scope(deps: IdentityDeps, claims: AccessClaims, service_code: str) -> ScopeDecision:
    """May the caller, as it acts now, apply for `service_code`? Used before every action taken for someone."""
    if claims.acting_as_enterprise_id is None or claims.agent_authorization_id is None:
        # Acting for oneself, or as the legal representative: no authorization narrows it.
        return ScopeDecision(True, "SELF" if claims.acting_as_enterprise_id is None else "LEGAL_REPRESENTATIVE")
    row = await AgentAuthorization.get_or_none(id=claims.agent_authorization_id)
    now = deps.clock.now()
    if row is None or row.revoked_at is not None:
        return ScopeDecision(False, "AGENT_AUTHORIZATION_REVOKED")
    if not _live(row, now):
        return ScopeDecision(False, "AGENT_AUTHORIZATION_EXPIRED")
    if not row.scope_all and service_code not in row.scope_service_codes:
        return ScopeDecision(False, "AGENT_OUT_OF_SCOPE")
    return ScopeDecision(True, "AGENT_IN_SCOPE")


async def authorizations_of(claims: AccessClaims) -> list[AgentAuthorization]:
    """Those the caller holds as agent, and those granted for the caller or the caller's enterprises."""
    person = await Person.get(id=claims.subject)
    enterprise_ids = (
        await Enterprise.filter(legal_rep_id_hash=person.id_number_hash).values_list("id", flat=True)
        if person.id_number_hash
        else []
    )
    principals = [claims.subject, *enterprise_ids]
    as_agent = await AgentAuthorization.filter(agent_person_id=claims.subject)
    as_principal = await AgentAuthorization.filter(principal_id__in=principals)
    unique = {row.id: row for row in [*as_agent, *as_principal]}
    return sorted(unique.values(), key=lambda row: row.created_at, reverse=True)
