"""电子证照 (domain.md §8, §11.5): licences, their use records and the holders' consents."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields

from api.models.base import Entity


class LicenseStatus(StrEnum):
    VALID = "01"
    SUSPENDED = "02"
    RESCINDED = "03"
    CANCELLED = "04"
    EXPIRED = "05"
    TRANSFERRED_OUT = "06"
    REVOKED = "07"
    OTHER = "99"


class LicenseUseType(StrEnum):
    SHOW_QR = "SHOW_QR"
    VERIFY_SCAN = "VERIFY_SCAN"
    DOWNLOAD_ANNOTATED = "DOWNLOAD_ANNOTATED"
    ATTACH_TO_APPLICATION = "ATTACH_TO_APPLICATION"


class ELicense(Entity):
    cert_identifier = fields.CharField(max_length=128, unique=True)
    identifier_valid = fields.BooleanField(default=True)
    type_code = fields.CharField(max_length=21, db_index=True)
    type_name = fields.CharField(max_length=100)
    cert_number = fields.CharField(max_length=100)
    name = fields.CharField(max_length=100)
    issuer_name = fields.CharField(max_length=200)
    issuer_uscc = fields.CharField(max_length=18)
    area_code = fields.CharField(max_length=12)
    holder_name = fields.CharField(max_length=200)
    holder_id_type = fields.CharField(max_length=3)
    holder_id_hash = fields.CharField(max_length=64, db_index=True)
    holder_person_id = fields.UUIDField(null=True, db_index=True)
    holder_enterprise_id = fields.UUIDField(null=True, db_index=True)
    issue_date = fields.DateField()
    valid_from = fields.DateField()
    valid_to = fields.DateField(null=True, db_index=True)
    status = fields.CharEnumField(LicenseStatus, max_length=2, default=LicenseStatus.VALID)
    surface = fields.JSONField[list[dict[str, str]]](default=list)
    file_id = fields.CharField(max_length=200, default="")
    signature = fields.TextField(default="")
    trust_grade = fields.CharField(max_length=1, default="A")
    source = fields.CharField(max_length=16, default="LOCAL_ISSUED")
    associated_prev_identifier = fields.CharField(max_length=128, null=True)
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "elicense"


class LicenseOperation(Entity):
    """Every operation recorded against a licence (新发, 延续, 暂扣, 过期失效, …: domain.md §8.1)."""

    elicense_id = fields.UUIDField(db_index=True)
    operation = fields.CharField(max_length=2)
    reason = fields.TextField(default="")
    actor = fields.CharField(max_length=100, default="")

    class Meta:
        table = "license_operation"


class Consent(Entity):
    holder_person_id = fields.UUIDField(null=True, db_index=True)
    holder_enterprise_id = fields.UUIDField(null=True, db_index=True)
    grantee = fields.CharField(max_length=100)  # verifier app client_id or org USCC
    scope = fields.JSONField[list[str]](default=list)  # licence ids
    purpose = fields.CharField(max_length=200)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "consent"


class LicenseUse(Entity):
    elicense_id = fields.UUIDField(db_index=True)
    use_type = fields.CharEnumField(LicenseUseType, max_length=24)
    verifier_org_id = fields.UUIDField(null=True)
    verifier_app_id = fields.UUIDField(null=True)
    actor_operator_id = fields.UUIDField(null=True)
    purpose = fields.CharField(max_length=200, default="")
    application_id = fields.UUIDField(null=True)
    consent_id = fields.UUIDField(null=True)
    token_id = fields.CharField(max_length=64, null=True, unique=True)
    token_expires_at = fields.DatetimeField(null=True)
    detail = fields.JSONField[dict[str, Any]](default=dict)
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "license_use"
