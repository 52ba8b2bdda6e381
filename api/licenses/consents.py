"""授权用证 consents: the holder names a verifier, the licences, a purpose and an expiry; revocable at any time."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from api.identity.tokens import AccessClaims
from api.kit.clock import Clock
from api.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.kit.ids import new_id
from api.licenses import wallet
from api.models import AssuranceLevel, Consent, ELicense, LicenseStatus, VerifierApp

MAX_VALIDITY = timedelta(days=365)
MAX_LICENCES = 20


async def live_consent(licence: ELicense, grantee_keys: Iterable[str], now: datetime) -> Consent | None:
    """The holder's unrevoked, unexpired consent to one of `grantee_keys` that covers `licence`, if any."""
    keys = list(grantee_keys)
    if not keys:
        return None
    holder = (
        {"holder_person_id": licence.holder_person_id}
        if licence.holder_person_id
        else {"holder_enterprise_id": licence.holder_enterprise_id}
    )
    rows = await Consent.filter(**holder, grantee__in=keys, revoked_at=None, expires_at__gt=now).order_by("-expires_at")
    return next((row for row in rows if str(licence.id) in row.scope), None)


async def grant(
    clock: Clock,
    claims: AccessClaims,
    licence_ids: list[uuid.UUID],
    grantee: str,
    purpose: str,
    expires_at: datetime,
) -> Consent:
    if claims.level < AssuranceLevel.L2:
        raise Forbidden("授权用证 needs an L2 (实人) session", code="ASSURANCE_TOO_LOW")
    now = clock.now()
    ids = list(dict.fromkeys(licence_ids))
    if not ids or len(ids) > MAX_LICENCES:
        raise InvalidInput(f"name 1–{MAX_LICENCES} licences", path=["licenseIds"], code="INVALID_SCOPE")
    purpose = purpose.strip()
    if not purpose or len(purpose) > 200:
        raise InvalidInput("state the purpose (at most 200 characters)", path=["purpose"], code="INVALID_PURPOSE")
    if expires_at <= now or expires_at > now + MAX_VALIDITY:
        raise InvalidInput(
            "the consent must end in the future and within a year", path=["expiresAt"], code="INVALID_WINDOW"
        )
    app = await VerifierApp.get_or_none(client_id=grantee.strip(), revoked_at=None)
    if app is None:
        raise NotFound("no such verifier", path=["grantee"], code="GRANTEE_NOT_FOUND")
    licences = [await wallet.owned_licence(claims, i, now, field="licenseIds") for i in ids]
    holders = {(lic.holder_person_id, lic.holder_enterprise_id) for lic in licences}
    if len(holders) != 1:
        raise InvalidInput("one consent covers licences of one holder", path=["licenseIds"], code="MIXED_HOLDERS")
    if any(lic.status is not LicenseStatus.VALID for lic in licences):
        raise Conflict("only valid licences can be released", path=["licenseIds"], code="LICENSE_NOT_VALID")
    person_id, enterprise_id = holders.pop()
    return await Consent.create(
        id=new_id(),
        holder_person_id=person_id,
        holder_enterprise_id=enterprise_id,
        grantee=app.client_id,
        scope=[str(i) for i in ids],
        purpose=purpose,
        expires_at=expires_at,
    )


async def _owned(claims: AccessClaims, consent_id: uuid.UUID, now: datetime) -> Consent:
    row = await Consent.get_or_none(id=consent_id)
    if row is not None:
        if row.holder_person_id is not None and row.holder_person_id == claims.subject:
            return row
        if row.holder_enterprise_id is not None and await wallet.acts_for_enterprise(
            claims, row.holder_enterprise_id, now
        ):
            return row
    raise NotFound("no such consent", path=["consentId"], code="CONSENT_NOT_FOUND")


async def revoke(clock: Clock, claims: AccessClaims, consent_id: uuid.UUID) -> Consent:
    now = clock.now()
    row = await _owned(claims, consent_id, now)
    if row.revoked_at is None:
        row.revoked_at = now
        await row.save(update_fields=["revoked_at", "updated_at"])
    return row


async def of_holder(claims: AccessClaims, now: datetime, limit: int = 30) -> list[Consent]:
    holders = await wallet.holders_of(claims, now)
    rows = await Consent.filter(holders.q()).order_by("-created_at").limit(limit)
    return list(rows)


async def grantee_names(rows: Iterable[Consent]) -> dict[str, str]:
    keys = {row.grantee for row in rows}
    return {app.client_id: app.name for app in await VerifierApp.filter(client_id__in=keys)} if keys else {}
