"""GraphQL types of the licence wallet: licences, use records, consents, QR tokens and 加注件."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry

from api.licenses import sharing, wallet
from api.models import Consent as ConsentRow
from api.models import ELicense
from api.models import LicenseStatus as StatusRow
from api.models import LicenseUseType as UseTypeRow
from schema.errors import Error


@strawberry.enum(description="证照状态 (GB/T 36902 / domain.md §8.1); the national code is `statusCode`.")
class LicenseStatus(Enum):
    VALID = "VALID"
    SUSPENDED = "SUSPENDED"
    RESCINDED = "RESCINDED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    TRANSFERRED_OUT = "TRANSFERRED_OUT"
    REVOKED = "REVOKED"
    OTHER = "OTHER"

    def to_row(self) -> StatusRow:
        return StatusRow[self.value]


@strawberry.enum(description="How a licence was used (domain.md §11.5).")
class LicenseUseType(Enum):
    SHOW_QR = "SHOW_QR"
    VERIFY_SCAN = "VERIFY_SCAN"
    DOWNLOAD_ANNOTATED = "DOWNLOAD_ANNOTATED"
    ATTACH_TO_APPLICATION = "ATTACH_TO_APPLICATION"


@strawberry.enum(description="Who used a licence: the holder, a verifier app or a government operator.")
class LicenseUserKind(Enum):
    HOLDER = "HOLDER"
    VERIFIER_APP = "VERIFIER_APP"
    OPERATOR = "OPERATOR"


@strawberry.enum(description="Trust grade of reused 证照 and 材料 (国办函〔2016〕108号, domain.md §8.2).")
class LicenseTrustGrade(Enum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


@strawberry.type(description="One entry of the 照面信息 (what is printed on the licence's face).")
class SurfaceEntry:
    key: str
    value: str


SURFACE_MAX = 12


def _surface(rows: list[dict[str, str]]) -> list[SurfaceEntry]:
    return [SurfaceEntry(key=str(e.get("key", "")), value=str(e.get("value", ""))) for e in rows[:SURFACE_MAX]]


def _status(row: StatusRow) -> LicenseStatus:
    return LicenseStatus[row.name]


@strawberry.type(description="An electronic licence (电子证照) in the holder's wallet.")
class License:
    id: strawberry.ID
    identifier: str = strawberry.field(description="电子证照标识 (GB/T 36904)")
    identifier_valid: bool
    name: str
    type_code: str
    type_name: str
    cert_number: str = strawberry.field(description="证照编号, as printed on the paper licence")
    issuer_name: str
    issuer_code: str = strawberry.field(description="颁发机构代码 (USCC)")
    area_code: str
    holder_name: str
    issue_date: date
    valid_from: date
    valid_to: date | None = strawberry.field(description="Last valid day; null when the licence does not expire")
    expires_in_days: int | None = strawberry.field(
        description="Days from today (Asia/Shanghai) to `validTo`; negative once past, null when open-ended"
    )
    status: LicenseStatus
    status_code: str = strawberry.field(description="National status code: 01 有效 … 99 其他")
    trust_grade: LicenseTrustGrade
    source: str = strawberry.field(description="LOCAL_ISSUED, PROVINCE_LIB or NATIONAL_LIB")
    surface: list[SurfaceEntry] = strawberry.field(description="照面信息, at most 12 entries")
    enterprise_id: strawberry.ID | None = strawberry.field(description="Set when an enterprise holds it")

    @classmethod
    def from_row(cls, row: ELicense, today: date) -> License:
        return cls(
            id=strawberry.ID(str(row.id)),
            identifier=row.cert_identifier,
            identifier_valid=row.identifier_valid,
            name=row.name,
            type_code=row.type_code,
            type_name=row.type_name,
            cert_number=row.cert_number,
            issuer_name=row.issuer_name,
            issuer_code=row.issuer_uscc,
            area_code=row.area_code,
            holder_name=row.holder_name,
            issue_date=row.issue_date,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            expires_in_days=wallet.expires_in_days(row, today),
            status=_status(row.status),
            status_code=row.status.value,
            trust_grade=LicenseTrustGrade(row.trust_grade),
            source=row.source,
            surface=_surface(row.surface),
            enterprise_id=strawberry.ID(str(row.holder_enterprise_id)) if row.holder_enterprise_id else None,
        )


@strawberry.type(description="One show, verification, 加注件 download or attachment of one of your licences.")
class LicenseUse:
    id: strawberry.ID
    license_id: strawberry.ID
    license_name: str
    use_type: LicenseUseType
    used_by: LicenseUserKind
    used_by_name: str = strawberry.field(description="The verifier app, or the operator's department; 本人 for you")
    purpose: str
    application_id: strawberry.ID | None
    consent_id: strawberry.ID | None
    token_expires_at: datetime | None
    created_at: datetime

    @classmethod
    def from_record(cls, record: wallet.UseRecord) -> LicenseUse:
        use = record.use
        return cls(
            id=strawberry.ID(str(use.id)),
            license_id=strawberry.ID(str(use.elicense_id)),
            license_name=record.licence.name,
            use_type=LicenseUseType(UseTypeRow(use.use_type).value),
            used_by=LicenseUserKind(record.verifier_kind),
            used_by_name=record.verifier_name,
            purpose=use.purpose,
            application_id=strawberry.ID(str(use.application_id)) if use.application_id else None,
            consent_id=strawberry.ID(str(use.consent_id)) if use.consent_id else None,
            token_expires_at=use.token_expires_at,
            created_at=use.created_at,
        )


@strawberry.type(description="授权用证: a verifier may download 加注件 of the listed licences until `expiresAt`.")
class LicenseConsent:
    id: strawberry.ID
    grantee: str = strawberry.field(description="The verifier app's client id")
    grantee_name: str
    license_ids: list[strawberry.ID] = strawberry.field(description="The licences covered, at most 20")
    purpose: str
    expires_at: datetime
    revoked_at: datetime | None
    active: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: ConsentRow, names: dict[str, str], now: datetime) -> LicenseConsent:
        return cls(
            id=strawberry.ID(str(row.id)),
            grantee=row.grantee,
            grantee_name=names.get(row.grantee, row.grantee),
            license_ids=[strawberry.ID(i) for i in row.scope],
            purpose=row.purpose,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            active=row.revoked_at is None and row.expires_at > now,
            created_at=row.created_at,
        )


@strawberry.type(description="亮证: show `qrPayload` as a QR code until `expiresAt` (120 s), then refresh.")
class LicenseQrToken:
    license_id: strawberry.ID
    token: str
    qr_payload: str
    expires_at: datetime
    ttl_seconds: int

    @classmethod
    def build(cls, shown: sharing.ShownLicense) -> LicenseQrToken:
        return cls(
            license_id=strawberry.ID(str(shown.licence.id)),
            token=shown.token,
            qr_payload=shown.qr_payload,
            expires_at=shown.expires_at,
            ttl_seconds=int(sharing.QR_TTL.total_seconds()),
        )


def mask_holder(licence: ELicense) -> str:
    """Persons keep their surname (张**); enterprises are public and shown in full."""
    name = licence.holder_name
    if licence.holder_enterprise_id is not None or len(name) <= 1:
        return name
    return name[0] + "*" * (len(name) - 1)


@strawberry.type(description="What a verifier sees: authenticity and the licence's face, never the holder's account.")
class VerifiedLicense:
    identifier: str
    name: str
    type_name: str
    cert_number: str
    issuer_name: str
    holder_name: str = strawberry.field(description="Masked for persons (张**)")
    valid_from: date
    valid_to: date | None
    status: LicenseStatus
    status_code: str
    surface: list[SurfaceEntry] = strawberry.field(description="照面信息, at most 12 entries")

    @classmethod
    def from_row(cls, row: ELicense) -> VerifiedLicense:
        return cls(
            identifier=row.cert_identifier,
            name=row.name,
            type_name=row.type_name,
            cert_number=row.cert_number,
            issuer_name=row.issuer_name,
            holder_name=mask_holder(row),
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            status=_status(row.status),
            status_code=row.status.value,
            surface=_surface(row.surface),
        )


@strawberry.type(description="扫码核验 result: the QR code was issued here for this licence.")
class LicenseVerification:
    authentic: bool
    valid: bool = strawberry.field(description="Authentic, status VALID and within its validity today")
    verified_at: datetime
    license: VerifiedLicense

    @classmethod
    def build(cls, result: sharing.Verification) -> LicenseVerification:
        return cls(
            authentic=True,
            valid=result.valid,
            verified_at=result.verified_at,
            license=VerifiedLicense.from_row(result.licence),
        )


@strawberry.type(description="加注件: a copy watermarked with purpose and expiry (domain.md §8.2, grade A).")
class AnnotatedLicenseCopy:
    license: VerifiedLicense
    purpose: str
    valid_until: date
    watermark: str
    trust_grade: LicenseTrustGrade
    consent_id: strawberry.ID

    @classmethod
    def build(cls, copy: sharing.AnnotatedCopy) -> AnnotatedLicenseCopy:
        return cls(
            license=VerifiedLicense.from_row(copy.licence),
            purpose=copy.purpose,
            valid_until=copy.valid_until,
            watermark=copy.watermark,
            trust_grade=LicenseTrustGrade.A,
            consent_id=strawberry.ID(str(copy.consent_id)),
        )


@strawberry.type(description="A single-use token to download the 加注件, valid until `expiresAt`.")
class AnnotatedCopyTicket:
    download_token: str
    expires_at: datetime
    copy: AnnotatedLicenseCopy


@strawberry.type(description="A QR or download token was refused: unknown, expired or already used. Nothing recorded.")
class LicenseTokenRejectedError(Error):
    pass
