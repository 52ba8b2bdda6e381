"""Service principal sign-in: a machine producer (another department's system) trades its name and secret for a
short-lived access token of kind "service" (notifications.md §C14: emitNotificationEvent).

As with operators, every failure answers the same INVALID_CREDENTIALS and costs one argon2 verification, so that
the answer does not reveal which names exist; attempts are rate-limited per IP and per name. There is no session
row and no refresh token: a service signs in again when its token expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.identity.deps import IdentityDeps
from api.identity.operators import limit_sign_in
from api.identity.tokens import AccessClaims
from api.kit.errors import Unauthenticated
from api.kit.ids import new_id
from api.kit.passwords import DUMMY_HASH, verify_password
from api.models import AssuranceLevel, ServicePrincipal


@dataclass(frozen=True)
class ServiceToken:
    access_token: str
    expires_at: datetime
    name: str
    claims: AccessClaims


async def sign_in(deps: IdentityDeps, name: str, secret: str, *, ip: str) -> ServiceToken:
    name = name.strip().lower()
    await limit_sign_in(deps, (f"svc:ip:{ip}", f"svc:name:{name}"))
    principal = await ServicePrincipal.get_or_none(name=name)
    secret_ok = await verify_password(principal.credential_hash if principal else DUMMY_HASH, secret)
    if principal is None or not secret_ok or principal.revoked_at is not None:
        raise Unauthenticated("wrong name or secret", code="INVALID_CREDENTIALS")
    expires_at = deps.tokens.expiry_from_now()
    claims = AccessClaims(
        subject=principal.id,
        kind="service",
        # A family of its own per sign-in, so that signOut (the revocation mark) ends exactly this token.
        family_id=new_id(),
        level=int(AssuranceLevel.L0),
        expires_at=expires_at,
        roles=tuple(principal.scopes),
    )
    return ServiceToken(deps.tokens.issue(claims), expires_at, principal.name, claims)
