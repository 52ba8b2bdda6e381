"""Sending SMS: the provider interface and its Aliyun Dysmsapi adapter."""

from api.platforms.sms.aliyun import (
    RECEIPT_SIGNATURE_HEADER,
    AliyunSmsClient,
    SmsDetail,
    SmsError,
    SmsSendAnswer,
    SmsTransportError,
    receipt_signature,
    rpc_signature,
)
from api.platforms.sms.provider import SmsProvider

__all__ = [
    "RECEIPT_SIGNATURE_HEADER",
    "AliyunSmsClient",
    "SmsDetail",
    "SmsError",
    "SmsProvider",
    "SmsSendAnswer",
    "SmsTransportError",
    "receipt_signature",
    "rpc_signature",
]
