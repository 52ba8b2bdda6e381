"""亮证, 扫码核验 and 授权用证 (domain.md §8.3, D14).

Token design: a QR or download token is an opaque 128-bit random value (`secrets`, base64url). The server keeps
only its SHA-256 (in `LicenseUse.token_id`, with a one-letter kind prefix) and its expiry, so a token cannot be
forged, a database read cannot replay one, and expiry and single use are enforced by rows, not by a signing key.

* QR tokens (SHOW_QR row, `s:` + hash) live 120 s and are single-scan: the VERIFY_SCAN row carries `v:` + the same
  hash, so the unique index lets exactly one verification through, even when two verifiers race.
* Download tokens (DOWNLOAD_ANNOTATED row, `d:` + hash) live 300 s and are single-use: redeeming one rewrites its
  key to `x:` + hash in one conditional UPDATE; a second redemption finds `x:` and is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.identity.tokens import AccessClaims
from api.kit.clock import Clock, shanghai_date
from api.kit.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound
from api.kit.ids import new_id, opaque_token, sha256_hex
from api.licenses import consents, wallet
from api.licenses.verifiers import Verifier
from api.models import AssuranceLevel, Consent, ELicense, LicenseStatus, LicenseUse, LicenseUseType

QR_TTL = timedelta(seconds=120)
DOWNLOAD_TTL = timedelta(seconds=300)
QR_SCHEME = "zsb-license:"
_TOKEN_LENGTH = 22  # 16 random bytes, base64url without padding


class TokenRejected(AppError):
    """A QR or download token that is unknown (forged), expired or already used. Nothing was recorded."""

    code = "TOKEN_INVALID"


def _key(kind: str, token: str) -> str:
    return f"{kind}:{sha256_hex(token)}"[:64]


def _normalise(token: str) -> str:
    token = token.strip()
    if token.startswith(QR_SCHEME):
        token = token[len(QR_SCHEME) :]
    return token


def require_valid(licence: ELicense, field: str = "licenseId") -> None:
    if licence.status is not LicenseStatus.VALID:
        raise Conflict(
            f"only a valid licence can be used; this one is {licence.status.name}",
            path=[field],
            code="LICENSE_NOT_VALID",
        )


@dataclass(frozen=True)
class ShownLicense:
    licence: ELicense
    token: str
    qr_payload: str
    expires_at: datetime


async def show(clock: Clock, claims: AccessClaims, licence_id: uuid.UUID) -> ShownLicense:
    if claims.level < AssuranceLevel.L2:
        raise Forbidden("showing a licence needs an L2 (实人) session", code="ASSURANCE_TOO_LOW")
    now = clock.now()
    licence = await wallet.owned_licence(claims, licence_id, now, field="licenseId")
    require_valid(licence)
    token = opaque_token(16)
    expires_at = now + QR_TTL
    await LicenseUse.create(
        id=new_id(),
        elicense_id=licence.id,
        use_type=LicenseUseType.SHOW_QR,
        purpose="亮证",
        token_id=_key("s", token),
        token_expires_at=expires_at,
        detail={"shown_by_person_id": str(claims.subject)},
    )
    return ShownLicense(licence, token, QR_SCHEME + token, expires_at)


async def _shown(token: str, now: datetime, *, path: str) -> LicenseUse:
    token = _normalise(token)
    row = None
    if len(token) == _TOKEN_LENGTH:
        row = await LicenseUse.get_or_none(token_id=_key("s", token), use_type=LicenseUseType.SHOW_QR)
    if row is None:
        raise TokenRejected("this is not a licence QR code issued here", path=[path])
    if row.token_expires_at is None or row.token_expires_at <= now:
        raise TokenRejected("this QR code has expired; ask the holder to refresh it", path=[path], code="TOKEN_EXPIRED")
    return row


@dataclass(frozen=True)
class Verification:
    licence: ELicense
    valid: bool
    verified_at: datetime
    use_id: uuid.UUID


async def verify(clock: Clock, verifier: Verifier, token: str, purpose: str) -> Verification:
    now = clock.now()
    shown = await _shown(token, now, path="token")
    licence = await ELicense.get(id=shown.elicense_id)
    use_id = new_id()
    try:
        await LicenseUse.create(
            id=use_id,
            elicense_id=licence.id,
            use_type=LicenseUseType.VERIFY_SCAN,
            verifier_app_id=verifier.app_id,
            verifier_org_id=verifier.org_id,
            actor_operator_id=verifier.operator_id,
            purpose=purpose.strip()[:200] or "扫码核验",
            token_id=_key("v", _normalise(token)),
            token_expires_at=shown.token_expires_at,
            detail={"show_use_id": str(shown.id), "status": licence.status.value},
        )
    except IntegrityError:
        raise TokenRejected(
            "this QR code was already scanned; ask the holder to show a new one", path=["token"], code="TOKEN_USED"
        ) from None
    today = shanghai_date(now)
    valid = licence.status is LicenseStatus.VALID and (licence.valid_to is None or licence.valid_to >= today)
    return Verification(licence, valid, now, use_id)


@dataclass(frozen=True)
class AnnotatedCopy:
    licence: ELicense
    purpose: str
    valid_until: date
    watermark: str
    consent_id: uuid.UUID


@dataclass(frozen=True)
class CopyTicket:
    copy: AnnotatedCopy
    download_token: str
    expires_at: datetime


def _watermark(licence: ELicense, purpose: str, valid_until: date) -> str:
    return (
        f"此件由{licence.issuer_name}提供，仅供办理政务服务事项时使用，有效期至{valid_until:%Y年%m月%d日}。"
        f"用途：{purpose}"
    )


def _copy(licence: ELicense, consent: Consent) -> AnnotatedCopy:
    valid_until = shanghai_date(consent.expires_at)
    if licence.valid_to is not None:
        valid_until = min(valid_until, licence.valid_to)
    return AnnotatedCopy(
        licence, consent.purpose, valid_until, _watermark(licence, consent.purpose, valid_until), consent.id
    )


async def request_copy(
    clock: Clock, verifier: Verifier, *, token: str | None, licence_id: uuid.UUID | None, purpose: str
) -> CopyTicket:
    """A 加注件 download ticket; the holder's live consent naming this verifier must cover the licence."""
    now = clock.now()
    purpose = purpose.strip()
    if not purpose or len(purpose) > 200:
        raise InvalidInput("state the purpose (at most 200 characters)", path=["purpose"], code="INVALID_PURPOSE")
    if (token is None) == (licence_id is None):
        raise InvalidInput("send either a QR token or a licence id", path=["token"], code="TOKEN_OR_LICENSE_ID")
    if token is not None:
        licence = await ELicense.get(id=(await _shown(token, now, path="token")).elicense_id)
    else:
        found = await ELicense.get_or_none(id=licence_id)
        if found is None:
            raise NotFound("no such licence", path=["licenseId"], code="LICENSE_NOT_FOUND")
        licence = found
    consent = await consents.live_consent(licence, verifier.grantee_keys, now)
    if consent is None:
        raise Forbidden(
            "the holder has not authorized you to use this licence", path=["licenseId"], code="CONSENT_REQUIRED"
        )
    require_valid(licence)
    copy = _copy(licence, consent)
    download = opaque_token(16)
    expires_at = now + DOWNLOAD_TTL
    await LicenseUse.create(
        id=new_id(),
        elicense_id=licence.id,
        use_type=LicenseUseType.DOWNLOAD_ANNOTATED,
        verifier_app_id=verifier.app_id,
        verifier_org_id=verifier.org_id,
        actor_operator_id=verifier.operator_id,
        purpose=purpose,
        consent_id=consent.id,
        token_id=_key("d", download),
        token_expires_at=expires_at,
        detail={"watermark": copy.watermark, "valid_until": copy.valid_until.isoformat()},
    )
    return CopyTicket(copy, download, expires_at)


async def download_copy(clock: Clock, verifier: Verifier, download_token: str) -> AnnotatedCopy:
    """Redeem a download token once; the 加注件 file itself is served outside GraphQL from this record."""
    now = clock.now()
    token = download_token.strip()
    path = ["downloadToken"]
    issued = await LicenseUse.get_or_none(token_id=_key("d", token)) if len(token) == _TOKEN_LENGTH else None
    if issued is None:
        if len(token) == _TOKEN_LENGTH and await LicenseUse.exists(token_id=_key("x", token)):
            raise TokenRejected("this download token was already used", path=path, code="TOKEN_USED")
        raise TokenRejected("this is not a download token issued here", path=path)
    if issued.verifier_app_id != verifier.app_id or issued.actor_operator_id != verifier.operator_id:
        raise TokenRejected("this is not a download token issued here", path=path)
    if issued.token_expires_at is None or issued.token_expires_at <= now:
        raise TokenRejected("this download token has expired", path=path, code="TOKEN_EXPIRED")
    licence = await ELicense.get(id=issued.elicense_id)
    consent = await consents.live_consent(licence, verifier.grantee_keys, now)
    if consent is None or consent.id != issued.consent_id:
        raise Forbidden("the holder's consent has ended", path=path, code="CONSENT_REQUIRED")
    require_valid(licence, "downloadToken")
    async with in_transaction() as conn:
        taken = (
            await LicenseUse.filter(id=issued.id, token_id=_key("d", token))
            .using_db(conn)
            .update(token_id=_key("x", token), detail={**issued.detail, "downloaded_at": now.isoformat()})
        )
    if taken != 1:
        raise TokenRejected("this download token was already used", path=path, code="TOKEN_USED")
    return _copy(licence, consent)
