"""Unified identity (domain.md §6, §11.3): persons, enterprises, bindings, agents, sessions, operators."""

from __future__ import annotations

from enum import IntEnum, StrEnum

from tortoise import fields

from api.models.base import Entity


class AssuranceLevel(IntEnum):
    L0 = 0
    L1 = 1
    L2 = 2
    L3 = 3


class BindingProvider(StrEnum):
    APP = "APP"
    WECHAT = "WECHAT"
    ALIPAY = "ALIPAY"
    PROVINCE_SSO = "PROVINCE_SSO"
    NATIONAL_SSO = "NATIONAL_SSO"
    CTID = "CTID"


class AuthMethod(StrEnum):
    SMS = "SMS"
    WECHAT = "WECHAT"
    ALIPAY = "ALIPAY"
    PROVINCE_SSO = "PROVINCE_SSO"
    PASSWORD_TOTP = "PASSWORD_TOTP"  # noqa: S105 (a method name, not a password)


class SessionChannel(StrEnum):
    APP = "APP"
    WECHAT_MP = "WECHAT_MP"
    ALIPAY_MP = "ALIPAY_MP"
    H5 = "H5"
    PC = "PC"
    OPERATOR_CONSOLE = "OPERATOR_CONSOLE"


class EnterpriseSize(StrEnum):
    MICRO = "MICRO"
    SMALL = "SMALL"
    MEDIUM = "MEDIUM"
    LARGE = "LARGE"


class PrincipalType(StrEnum):
    PERSON = "PERSON"
    ENTERPRISE = "ENTERPRISE"


class AgentKind(StrEnum):
    STAFF = "STAFF"  # 经办人 of an enterprise
    FAMILY = "FAMILY"  # 亲友代办
    GUARDIAN = "GUARDIAN"  # guardian of a minor


class OperatorRole(StrEnum):
    CATALOG_ADMIN = "catalog_admin"
    CASE_HANDLER = "case_handler"
    CAMPAIGN_AUTHOR = "campaign_author"
    CAMPAIGN_APPROVER = "campaign_approver"
    SUPERVISOR = "supervisor"
    FINANCE = "finance"


class Person(Entity):
    name = fields.CharField(max_length=64, default="")
    id_type = fields.CharField(max_length=3, default="111")  # GA/T 2000.156: 111 居民身份证
    id_number_encrypted = fields.TextField(null=True)
    id_number_hash = fields.CharField(max_length=64, null=True, unique=True)
    gender = fields.CharField(max_length=1, null=True)
    nation = fields.CharField(max_length=32, null=True)
    birth_date = fields.DateField(null=True)
    mobile = fields.CharField(max_length=11, null=True, unique=True)
    email = fields.CharField(max_length=128, null=True)
    region_code = fields.CharField(max_length=12, null=True)
    assurance_level = fields.IntEnumField(AssuranceLevel, default=AssuranceLevel.L0)
    verified_at = fields.DatetimeField(null=True)
    verified_by = fields.CharField(max_length=16, null=True)
    # A bare account whose only binding moved to another person by an explicit bind (never by name).
    merged_into_id = fields.UUIDField(null=True)
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "person"


class Enterprise(Entity):
    uscc = fields.CharField(max_length=18, unique=True)
    name = fields.CharField(max_length=128)
    entity_type = fields.CharField(max_length=1, default="2")
    legal_rep_name = fields.CharField(max_length=64)
    legal_rep_id_hash = fields.CharField(max_length=64, db_index=True)
    status = fields.CharField(max_length=16, default="ACTIVE")
    reg_address = fields.CharField(max_length=256, default="")
    region_code = fields.CharField(max_length=12)
    reg_date = fields.DateField(null=True)
    business_scope = fields.TextField(default="")
    industry_code = fields.CharField(max_length=8, default="")
    size = fields.CharEnumField(EnterpriseSize, max_length=8, default=EnterpriseSize.SMALL)
    assurance_level = fields.IntEnumField(AssuranceLevel, default=AssuranceLevel.L0)
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "enterprise"


class IdentityBinding(Entity):
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="bindings", on_delete=fields.CASCADE
    )
    provider = fields.CharEnumField(BindingProvider, max_length=16)
    subject_id = fields.CharField(max_length=128)
    union_id = fields.CharField(max_length=128, null=True)
    raw_level = fields.CharField(max_length=16, null=True)
    linked_at = fields.DatetimeField()
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "identity_binding"
        unique_together = (("provider", "subject_id"),)


class AgentAuthorization(Entity):
    principal_type = fields.CharEnumField(PrincipalType, max_length=10)
    principal_id = fields.UUIDField(db_index=True)
    agent_person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False, on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(AgentKind, max_length=10)
    scope_all = fields.BooleanField(default=False)
    scope_service_codes = fields.JSONField[list[str]](default=list)
    valid_from = fields.DatetimeField()
    valid_to = fields.DatetimeField()
    evidence = fields.TextField(default="")
    consent_text = fields.TextField(default="")
    granted_by_person_id = fields.UUIDField()
    revoked_at = fields.DatetimeField(null=True)
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "agent_authorization"


class Session(Entity):
    """One row per refresh token. `family_id` groups the rotations of one sign-in on one device."""

    person_id = fields.UUIDField(null=True, db_index=True)
    operator_id = fields.UUIDField(null=True, db_index=True)
    family_id = fields.UUIDField(db_index=True)
    refresh_token_hash = fields.CharField(max_length=64, unique=True)
    replaced_by_id = fields.UUIDField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    acting_as_enterprise_id = fields.UUIDField(null=True)
    agent_authorization_id = fields.UUIDField(null=True)
    auth_method = fields.CharEnumField(AuthMethod, max_length=16)
    assurance_level = fields.IntEnumField(AssuranceLevel)
    channel = fields.CharEnumField(SessionChannel, max_length=20)
    device_name = fields.CharField(max_length=128, default="")
    ip = fields.CharField(max_length=45, default="")
    expires_at = fields.DatetimeField()

    class Meta:
        table = "session"


class Operator(Entity):
    username = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=64)
    password_hash = fields.CharField(max_length=256)
    totp_secret_encrypted = fields.TextField()
    roles = fields.JSONField[list[str]](default=list)
    department_id = fields.UUIDField(null=True)
    disabled_at = fields.DatetimeField(null=True)
    last_totp_step = fields.BigIntField(default=0)
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "operator"


class VerifierApp(Entity):
    client_id = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=128)
    org_id = fields.UUIDField(null=True)
    credential_hash = fields.CharField(max_length=256)
    scopes = fields.JSONField[list[str]](default=list)
    revoked_at = fields.DatetimeField(null=True)
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "verifier_app"


class ServicePrincipal(Entity):
    name = fields.CharField(max_length=64, unique=True)
    credential_hash = fields.CharField(max_length=256)
    scopes = fields.JSONField[list[str]](default=list)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "service_principal"
