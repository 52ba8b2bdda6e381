"""Who verifies: a signed-in operator (any role) or a `VerifierApp` presenting its client id and credential.

Verifier apps do not hold sessions: every call carries `clientId` + `credential`, checked with argon2 off the event
loop (an unknown client costs the same as a wrong credential). Citizens never verify.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from api.identity.tokens import AccessClaims
from api.kit.errors import Forbidden, Unauthenticated
from api.kit.passwords import DUMMY_HASH, verify_password
from api.models import Operator, Organization, VerifierApp

VERIFY_SCOPE = "license:verify"


@dataclass(frozen=True)
class Verifier:
    app_id: uuid.UUID | None
    operator_id: uuid.UUID | None
    org_id: uuid.UUID | None
    name: str
    grantee_keys: frozenset[str]  # what a Consent's `grantee` must equal: the app's client id, the org's USCC


async def _app(client_id: str, credential: str) -> Verifier:
    app = await VerifierApp.get_or_none(client_id=client_id)
    matches = await verify_password(app.credential_hash if app else DUMMY_HASH, credential)
    if app is None or not matches or app.revoked_at is not None:
        raise Unauthenticated("the verifier credentials were refused", code="VERIFIER_CREDENTIALS_REFUSED")
    if VERIFY_SCOPE not in app.scopes:
        raise Forbidden("this verifier app may not verify licences", code="VERIFIER_SCOPE_MISSING")
    keys = {app.client_id}
    if app.org_id is not None and (org := await Organization.get_or_none(id=app.org_id)) is not None:
        keys.add(org.uscc)
    return Verifier(app.id, None, app.org_id, app.name, frozenset(keys))


async def _operator(claims: AccessClaims) -> Verifier:
    operator = await Operator.get_or_none(id=claims.subject)
    if operator is None or operator.disabled_at is not None:
        raise Unauthenticated("this operator account is disabled", code="OPERATOR_DISABLED")
    org = await Organization.get_or_none(id=operator.department_id) if operator.department_id else None
    return Verifier(
        None,
        operator.id,
        org.id if org else None,
        org.name if org else operator.name,
        frozenset({org.uscc} if org else ()),
    )


async def authenticate(claims: AccessClaims | None, client_id: str | None, credential: str | None) -> Verifier:
    if client_id or credential:
        return await _app((client_id or "").strip(), credential or "")
    if claims is None:
        raise Unauthenticated(
            "sign in as an operator, or send the verifier app's clientId and credential",
            code="VERIFIER_UNAUTHENTICATED",
        )
    if claims.kind != "operator":
        raise Forbidden("residents cannot verify licences", code="NOT_A_VERIFIER")
    return await _operator(claims)
