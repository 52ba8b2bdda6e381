"""Sandbox twins of the sign-in platforms (SMS, WeChat, Alipay gateway, provincial IdP).

Imported only by the composition root (an import-linter contract), and never started in production.
"""

from api.platforms.sandbox.alipay import AlipayGatewayError, AlipayMethodCall, AlipayMethodHandler
from api.platforms.sandbox.base import RecordedRequest
from api.platforms.sandbox.hub import SandboxHub
from api.platforms.sandbox.idp_accounts import IdpAccount
from api.platforms.sandbox.sms import SANDBOX_SMS_ACCESS_KEY_ID, SANDBOX_SMS_ACCESS_KEY_SECRET, SmsMessage

__all__ = [
    "SANDBOX_SMS_ACCESS_KEY_ID",
    "SANDBOX_SMS_ACCESS_KEY_SECRET",
    "AlipayGatewayError",
    "AlipayMethodCall",
    "AlipayMethodHandler",
    "IdpAccount",
    "RecordedRequest",
    "SandboxHub",
    "SmsMessage",
]
