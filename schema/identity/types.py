"""Identity types as clients see them: masked personal data, bindings, sessions, agents."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

import strawberry

from api.identity import profile
from api.identity.sessions import TokenPair
from api.kit.pii import mask_phone
from api.models import AgentAuthorization as AgentAuthorizationRow
from api.models import Enterprise as EnterpriseRow
from api.models import IdentityBinding as BindingRow
from api.models import Operator as OperatorRow
from api.models import Person as PersonRow
from api.models import Session as SessionRow
from schema.context import Info


@strawberry.enum(description="Identity assurance: L0 registered, L1 实名, L2 实人, L3 strong (CA/UKey).")
class AssuranceLevel(Enum):
    L0 = 0
    L1 = 1
    L2 = 2
    L3 = 3


@strawberry.enum(description="Where a sign-in happened (申报来源 plus the operator console).")
class SessionChannel(Enum):
    APP = "APP"
    WECHAT_MP = "WECHAT_MP"
    ALIPAY_MP = "ALIPAY_MP"
    H5 = "H5"
    PC = "PC"
    OPERATOR_CONSOLE = "OPERATOR_CONSOLE"


@strawberry.enum(description="Channels a resident signs in with by phone; WeChat and Alipay have their own sign-ins.")
class PhoneSignInChannel(Enum):
    APP = "APP"
    H5 = "H5"
    PC = "PC"


@strawberry.enum
class IdentityProvider(Enum):
    APP = "APP"
    WECHAT = "WECHAT"
    ALIPAY = "ALIPAY"
    PROVINCE_SSO = "PROVINCE_SSO"
    NATIONAL_SSO = "NATIONAL_SSO"
    CTID = "CTID"


@strawberry.type(description="A sign-in identity linked to the account; the subject is shown masked.")
class IdentityBinding:
    provider: IdentityProvider
    subject_hint: str
    linked_at: datetime

    @classmethod
    def from_row(cls, row: BindingRow) -> IdentityBinding:
        subject = row.subject_id
        hint = mask_phone(subject) if row.provider.value == "APP" else f"{subject[:3]}…{subject[-2:]}"
        return cls(provider=IdentityProvider(row.provider.value), subject_hint=hint, linked_at=row.linked_at)


@strawberry.type(description="A legal person (法人) as seen by its representative or agents.")
class Enterprise:
    id: strawberry.ID
    uscc: str
    name: str
    legal_rep_name: str
    region_code: str
    industry_code: str
    size: str
    status: str

    @classmethod
    def from_row(cls, row: EnterpriseRow) -> Enterprise:
        return cls(
            id=strawberry.ID(str(row.id)),
            uscc=row.uscc,
            name=row.name,
            legal_rep_name=row.legal_rep_name,
            region_code=row.region_code,
            industry_code=row.industry_code,
            size=row.size.value,
            status=row.status,
        )


@strawberry.type(description="An enterprise the caller may act for, and in which role.")
class EnterpriseMembership:
    enterprise: Enterprise
    role: str = strawberry.field(description="LEGAL_REPRESENTATIVE or AGENT")
    authorization_id: strawberry.ID | None
    valid_to: datetime | None


@strawberry.type(description="Someone authorised to act for an enterprise (经办人) or a person (亲友代办).")
class AgentAuthorization:
    id: strawberry.ID
    kind: str = strawberry.field(description="STAFF (经办人), FAMILY (亲友代办) or GUARDIAN")
    principal_type: str
    principal_id: strawberry.ID
    agent_person_id: strawberry.ID
    all_services: bool
    service_codes: list[str] = strawberry.field(description="At most 100 codes.")
    valid_from: datetime
    valid_to: datetime
    revoked_at: datetime | None
    consent_text: str

    @classmethod
    def from_row(cls, row: AgentAuthorizationRow) -> AgentAuthorization:
        return cls(
            id=strawberry.ID(str(row.id)),
            kind=row.kind.value,
            principal_type=row.principal_type.value,
            principal_id=strawberry.ID(str(row.principal_id)),
            agent_person_id=strawberry.ID(str(row.agent_person_id)),  # type: ignore[attr-defined]
            all_services=row.scope_all,
            service_codes=list(row.scope_service_codes),
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            revoked_at=row.revoked_at,
            consent_text=row.consent_text,
        )


@strawberry.type(description="The signed-in resident: personal data masked, bindings, and whom the session acts for.")
class Me:
    id: strawberry.ID
    name: str
    masked_id_number: str | None
    masked_mobile: str | None
    assurance_level: AssuranceLevel = strawberry.field(description="The highest level ever verified.")
    session_level: AssuranceLevel = strawberry.field(description="The level the current session proved.")
    verified_at: datetime | None
    acting_as_enterprise_id: strawberry.ID | None

    @strawberry.field(description="At most 6 bindings, one per provider.")
    async def bindings(self, info: Info) -> list[IdentityBinding]:
        rows = await profile.bindings_of([uuid.UUID(self.id)])
        return [IdentityBinding.from_row(row) for row in rows[uuid.UUID(self.id)]]

    @strawberry.field(description="The enterprise this session acts for, if any.")
    async def acting_as(self, info: Info) -> Enterprise | None:
        if self.acting_as_enterprise_id is None:
            return None
        found = await profile.enterprises_by_id([uuid.UUID(self.acting_as_enterprise_id)])
        row = found.get(uuid.UUID(self.acting_as_enterprise_id))
        return Enterprise.from_row(row) if row else None

    @classmethod
    def from_row(cls, info: Info, row: PersonRow) -> Me:
        claims = info.context.principal.claims
        session_level = claims.level if claims and claims.subject == row.id else 0
        acting = claims.acting_as_enterprise_id if claims and claims.subject == row.id else None
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            masked_id_number=profile.masked_id_number(info.context.identity, row),
            masked_mobile=mask_phone(row.mobile) if row.mobile else None,
            assurance_level=AssuranceLevel(int(row.assurance_level)),
            session_level=AssuranceLevel(session_level),
            verified_at=row.verified_at,
            acting_as_enterprise_id=strawberry.ID(str(acting)) if acting else None,
        )


@strawberry.type(description="A signed-in device: one sign-in and its refreshes.")
class DeviceSession:
    id: strawberry.ID
    channel: SessionChannel
    auth_method: str
    device_name: str
    assurance_level: AssuranceLevel
    last_refreshed_at: datetime
    expires_at: datetime
    current: bool

    @classmethod
    def from_row(cls, row: SessionRow, current_family: uuid.UUID | None) -> DeviceSession:
        return cls(
            id=strawberry.ID(str(row.family_id)),
            channel=SessionChannel(row.channel.value),
            auth_method=row.auth_method.value,
            device_name=row.device_name,
            assurance_level=AssuranceLevel(int(row.assurance_level)),
            last_refreshed_at=row.created_at,
            expires_at=row.expires_at,
            current=row.family_id == current_family,
        )


@strawberry.type(description="Tokens of a new or refreshed session.")
class AuthPayload:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    session_id: strawberry.ID
    new_account: bool
    me: Me

    @classmethod
    def build(cls, info: Info, person: PersonRow, tokens: TokenPair, *, new_account: bool = False) -> AuthPayload:
        me = Me.from_row(info, person)
        claims = tokens.claims
        me.session_level = AssuranceLevel(claims.level)
        me.acting_as_enterprise_id = (
            strawberry.ID(str(claims.acting_as_enterprise_id)) if claims.acting_as_enterprise_id else None
        )
        return cls(
            access_token=tokens.access_token,
            access_token_expires_at=tokens.access_expires_at,
            refresh_token=tokens.refresh_token,
            refresh_token_expires_at=tokens.refresh_expires_at,
            session_id=strawberry.ID(str(tokens.session_id)),
            new_account=new_account,
            me=me,
        )


@strawberry.type(description="A signed-in operator.")
class OperatorAccount:
    id: strawberry.ID
    username: str
    name: str
    roles: list[str] = strawberry.field(description="At most 6 roles.")
    department_id: strawberry.ID | None

    @classmethod
    def from_row(cls, row: OperatorRow) -> OperatorAccount:
        return cls(
            id=strawberry.ID(str(row.id)),
            username=row.username,
            name=row.name,
            roles=list(row.roles),
            department_id=strawberry.ID(str(row.department_id)) if row.department_id else None,
        )


@strawberry.type(description="Tokens of an operator session.")
class OperatorAuthPayload:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    session_id: strawberry.ID
    operator: OperatorAccount

    @classmethod
    def build(cls, row: OperatorRow, tokens: TokenPair) -> OperatorAuthPayload:
        return cls(
            access_token=tokens.access_token,
            access_token_expires_at=tokens.access_expires_at,
            refresh_token=tokens.refresh_token,
            refresh_token_expires_at=tokens.refresh_expires_at,
            session_id=strawberry.ID(str(tokens.session_id)),
            operator=OperatorAccount.from_row(row),
        )
