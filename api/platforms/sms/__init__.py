"""Sending SMS: the provider interface and its Aliyun Dysmsapi adapter."""

from api.platforms.sms.aliyun import (
    AliyunSmsClient,
    SmsDetail,
    SmsError,
    SmsSendAnswer,
    SmsTransportError,
    rpc_signature,
)
from api.platforms.sms.provider import SmsProvider

__all__ = [
    "AliyunSmsClient",
    "SmsDetail",
    "SmsError",
    "SmsProvider",
    "SmsSendAnswer",
    "SmsTransportError",
    "rpc_signature",
]
