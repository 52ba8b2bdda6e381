"""Rebuild the SeedReport from the database, so a re-run (which writes nothing) reports exactly the same.

Rows are read back in spec order by their deterministic ids; credentials are recomputed, never decrypted.
"""

from __future__ import annotations

from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from api.models import (
    AgentAuthorization,
    BindingProvider,
    Enterprise,
    IdentityBinding,
    Operator,
    Organization,
    Person,
    Region,
    ServicePrincipal,
    VerifierApp,
)
from api.seed import enterprises, operators, residents
from api.seed.context import seed_id
from api.seed.report import (
    AgentGrant,
    EnterpriseLogin,
    OperatorLogin,
    ResidentLogin,
    SeedReport,
    ServiceLogin,
    VerifierLogin,
)

_PROVIDER_ORDER = list(BindingProvider)


async def _counts(db: BaseDBAsyncClient) -> tuple[tuple[str, int], ...]:
    return (
        ("regions", await Region.filter(is_synthetic=True).using_db(db).count()),
        ("organizations", await Organization.filter(is_synthetic=True).using_db(db).count()),
        ("persons", await Person.filter(is_synthetic=True).using_db(db).count()),
        # IdentityBinding has no is_synthetic column: a binding is synthetic when its person is.
        ("identity_bindings", await IdentityBinding.filter(person__is_synthetic=True).using_db(db).count()),
        ("enterprises", await Enterprise.filter(is_synthetic=True).using_db(db).count()),
        ("agent_authorizations", await AgentAuthorization.filter(is_synthetic=True).using_db(db).count()),
        ("operators", await Operator.filter(is_synthetic=True).using_db(db).count()),
        ("verifier_apps", await VerifierApp.filter(is_synthetic=True).using_db(db).count()),
    )


async def _residents(db: BaseDBAsyncClient, names: dict[UUID, str]) -> tuple[ResidentLogin, ...]:
    ids = [seed_id("person", r.n) for r in residents.RESIDENTS]
    people = {p.id: p for p in await Person.filter(id__in=ids).using_db(db)}
    bindings: dict[UUID, list[IdentityBinding]] = {}
    for b in await IdentityBinding.filter(person_id__in=ids).using_db(db):
        bindings.setdefault(b.person_id, []).append(b)  # type: ignore[attr-defined]
    out = []
    for pid in ids:
        if (p := people.get(pid)) is None:
            continue
        names[pid] = p.name
        own = sorted(bindings.get(pid, []), key=lambda b: _PROVIDER_ORDER.index(b.provider))
        out.append(
            ResidentLogin(
                p.name,
                p.mobile,
                p.assurance_level.name,
                tuple(f"{b.provider.value} {b.subject_id}" for b in own),
            )
        )
    return tuple(out)


async def _enterprises(db: BaseDBAsyncClient, names: dict[UUID, str]) -> tuple[EnterpriseLogin, ...]:
    out = []
    for spec in enterprises.ENTERPRISES:
        e = await Enterprise.get_or_none(id=seed_id("enterprise", spec.key), using_db=db)
        staff = await AgentAuthorization.get_or_none(id=seed_id("agent", f"enterprise:{spec.key}"), using_db=db)
        if e is None or staff is None:
            continue
        agent = names.get(staff.agent_person_id, "?")  # type: ignore[attr-defined]
        scope = () if staff.scope_all else tuple(staff.scope_service_codes)
        out.append(EnterpriseLogin(e.name, e.uscc, e.size.value, e.legal_rep_name, agent, scope))
    return tuple(out)


async def _family_agents(db: BaseDBAsyncClient, names: dict[UUID, str]) -> tuple[AgentGrant, ...]:
    out = []
    for _kind, principal, agent in residents.FAMILY_AGENTS:
        row = await AgentAuthorization.get_or_none(id=seed_id("agent", f"person:{principal}:{agent}"), using_db=db)
        if row is not None:
            out.append(
                AgentGrant(
                    row.kind.value,
                    names.get(row.principal_id, "?"),
                    names.get(row.agent_person_id, "?"),  # type: ignore[attr-defined]
                )
            )
    return tuple(out)


async def _operators(db: BaseDBAsyncClient) -> tuple[OperatorLogin, ...]:
    departments = {o.id: o.name for o in await Organization.filter(is_synthetic=True).using_db(db)}
    rows = {o.username: o for o in await Operator.filter(is_synthetic=True).using_db(db)}
    return tuple(
        OperatorLogin(
            o.username,
            o.name,
            tuple(o.roles),
            departments.get(o.department_id) if o.department_id else None,
            operators.DEMO_PASSWORD,
            operators.demo_totp_secret(o.username),
        )
        for spec in operators.OPERATORS
        if (o := rows.get(spec.username)) is not None
    )


async def describe(db: BaseDBAsyncClient) -> SeedReport:
    names: dict[UUID, str] = {}
    resident_logins = await _residents(db, names)
    app = await VerifierApp.get_or_none(client_id=operators.VERIFIER_CLIENT_ID, using_db=db)
    producer = await ServicePrincipal.get_or_none(name=operators.SERVICE_NAME, using_db=db)
    return SeedReport(
        counts=await _counts(db),
        residents=resident_logins,
        family_agents=await _family_agents(db, names),
        enterprises=await _enterprises(db, names),
        operators=await _operators(db),
        verifier=VerifierLogin(app.client_id, app.name, operators.VERIFIER_CREDENTIAL, tuple(app.scopes))
        if app
        else None,
        service=ServiceLogin(producer.name, operators.SERVICE_SECRET, tuple(producer.scopes)) if producer else None,
    )
