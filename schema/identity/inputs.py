"""Inputs of identity mutations: one `input` argument each (graphql.md §2)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.identity.types import PhoneSignInChannel


@strawberry.input
class RequestSmsCodeInput:
    phone: str


@strawberry.input
class SignInWithSmsInput:
    phone: str
    code: str
    channel: PhoneSignInChannel = PhoneSignInChannel.APP
    device_name: str = ""


@strawberry.input
class SignInWithWechatInput:
    code: str = strawberry.field(description="The `code` from wx.login().")
    device_name: str = ""


@strawberry.input
class SignInWithAlipayInput:
    auth_code: str = strawberry.field(description="The `authCode` from my.getAuthCode().")
    device_name: str = ""


@strawberry.input
class StartProvinceSignInInput:
    channel: PhoneSignInChannel = PhoneSignInChannel.APP


@strawberry.input
class CompleteProvinceSignInInput:
    code: str
    state: str
    channel: PhoneSignInChannel = PhoneSignInChannel.APP
    device_name: str = ""
    link_to_current_account: bool = strawberry.field(
        default=False, description="Bind the provincial identity to the signed-in caller instead of signing in."
    )


@strawberry.input
class RefreshSessionInput:
    refresh_token: str


@strawberry.input
class SignOutInput:
    all_devices: bool = False


@strawberry.input
class RevokeSessionInput:
    session_id: strawberry.ID


@strawberry.input
class BindWechatInput:
    code: str


@strawberry.input
class BindAlipayInput:
    auth_code: str


@strawberry.input
class GrantAgentInput:
    enterprise_id: strawberry.ID
    agent_phone: str = strawberry.field(description="The phone the agent signs in with.")
    all_services: bool = False
    service_codes: list[str] = strawberry.field(default_factory=list, description="实施编码 the agent may act on.")
    valid_to: datetime | None = strawberry.field(default=None, description="Default: one year from now.")
    note: str = ""


@strawberry.input
class GrantFamilyProxyInput:
    agent_phone: str
    consent_text: str = strawberry.field(description="The principal's consent, as shown and agreed to (recorded).")
    relationship: str = ""
    all_services: bool = True
    service_codes: list[str] = strawberry.field(default_factory=list)
    valid_to: datetime | None = None


@strawberry.input
class RevokeAgentInput:
    authorization_id: strawberry.ID


@strawberry.input
class ActAsInput:
    enterprise_id: strawberry.ID | None = strawberry.field(default=None, description="Null: act for yourself again.")


@strawberry.input
class OperatorSignInInput:
    username: str
    password: str
    totp_code: str
    device_name: str = ""
