"""Sending SMS: the provider interface and its Aliyun Dysmsapi adapter."""

from api.platforms.sms.aliyun import AliyunSmsClient, SmsError, rpc_signature
from api.platforms.sms.provider import SmsProvider

__all__ = ["AliyunSmsClient", "SmsError", "SmsProvider", "rpc_signature"]
