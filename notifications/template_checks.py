"""What a template must satisfy before it is saved (notifications.md §C6, §C12): required vendor ids, WeChat field
types, and each channel's payload within its limit with every placeholder empty. Paths name the input field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from api.models import Fanout, NoticeCategory, TemplateChannel
from notifications import payload_limits as limits
from notifications.errors import NotificationsError, NotificationsErrorCode

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
MAX_TITLE = 200
MAX_DEEPLINK = 512
MAX_VENDOR_ID = 64


@dataclass(frozen=True)
class TemplateInput:
    code: str
    category: NoticeCategory
    locale: str = "zh-CN"
    title: str = ""
    body: str = ""
    deeplink: str = ""
    channels: list[TemplateChannel] = field(
        default_factory=lambda: [TemplateChannel.PUSH, TemplateChannel.WECHAT, TemplateChannel.ALIPAY]
    )
    fanout: Fanout = Fanout.FIRST
    huawei_category: str = ""
    wechat_template_id: str = ""
    wechat_fields: Mapping[str, str] = field(default_factory=dict)
    alipay_template_id: str = ""
    alipay_fields: Mapping[str, str] = field(default_factory=dict)
    sms_template_code: str = ""
    sms_sign_name: str = ""
    sms_params: Mapping[str, str] = field(default_factory=dict)
    sms_fallback: bool = False
    defer_in_quiet_hours: bool = False


def _invalid(message: str, *path: str) -> NotificationsError:
    return NotificationsError(NotificationsErrorCode.INVALID_INPUT, message, path=list(path))


def _too_large(message: str, *path: str) -> NotificationsError:
    return NotificationsError(NotificationsErrorCode.TEMPLATE_TOO_LARGE, message, path=list(path))


def _empty(text: str) -> str:
    return _PLACEHOLDER.sub("", text)


def _check_texts(spec: TemplateInput) -> None:
    if not _CODE.match(spec.code):
        raise _invalid("a code is 1–64 letters, digits, '_', '.' or '-'", "code")
    if not spec.locale or len(spec.locale) > 8:
        raise _invalid("a locale such as zh-CN", "locale")
    if not spec.title.strip():
        raise _invalid("a title is required", "title")
    if len(spec.title) > MAX_TITLE:
        raise _too_large(f"the title is longer than {MAX_TITLE} characters", "title")
    if not spec.body.strip():
        raise _invalid("a body is required", "body")
    if len(spec.deeplink) > MAX_DEEPLINK:
        raise _too_large(f"the deeplink is longer than {MAX_DEEPLINK} characters", "deeplink")
    for name, value in (
        ("huaweiCategory", spec.huawei_category),
        ("wechatTemplateId", spec.wechat_template_id),
        ("alipayTemplateId", spec.alipay_template_id),
        ("smsTemplateCode", spec.sms_template_code),
        ("smsSignName", spec.sms_sign_name),
    ):
        if len(value) > MAX_VENDOR_ID:
            raise _invalid(f"at most {MAX_VENDOR_ID} characters", name)


def _check_channels(spec: TemplateInput) -> None:
    listed = [c for c in spec.channels if c is not TemplateChannel.INBOX]
    if TemplateChannel.SMS in listed:
        raise _invalid("SMS is never a listed channel: it is the fallback set by smsFallback", "channels")
    if not listed:
        raise _invalid("at least one of push, wechat and alipay", "channels")
    if len(set(listed)) != len(listed):
        raise _invalid("each channel once", "channels")
    if TemplateChannel.WECHAT in listed:
        if not spec.wechat_template_id:
            raise _invalid("the WeChat channel needs its subscribe-message template id", "wechatTemplateId")
        if not spec.wechat_fields:
            raise _invalid("the WeChat channel needs its data fields", "wechatFields")
    if TemplateChannel.ALIPAY in listed:
        if not spec.alipay_template_id:
            raise _invalid("the Alipay channel needs its template id", "alipayTemplateId")
        if not spec.alipay_fields:
            raise _invalid("the Alipay channel needs its data fields", "alipayFields")
    if spec.sms_fallback:
        if spec.category is NoticeCategory.CAMPAIGN:
            raise _invalid("campaigns never fall back to SMS", "smsFallback")
        if not spec.sms_template_code:
            raise _invalid("an SMS fallback needs the approved template code", "smsTemplateCode")
        if not spec.sms_sign_name:
            raise _invalid("an SMS fallback needs the approved signature", "smsSignName")


def _check_wechat_fields(fields: Mapping[str, str]) -> None:
    for key, value in fields.items():
        kind = limits.wechat_field_type(key)
        if kind is None:
            raise _invalid("not a WeChat field type (thing1, phrase2, time3, amount4, …)", "wechatFields", key)
        if not _PLACEHOLDER.search(value):
            if not limits.wechat_field_ok(key, value):
                raise _too_large(f"{value!r} is not a valid {kind} value", "wechatFields", key)
        elif len(_empty(value)) > limits.MAX_CHARS[kind]:
            raise _too_large(f"the fixed text alone is longer than a {kind} allows", "wechatFields", key)


def _check_vendor_fields(name: str, fields: Mapping[str, str]) -> None:
    for key, value in fields.items():
        if not key or len(key) > 32 or not re.match(r"^\w+$", key):
            raise _invalid("a field name is 1–32 letters, digits or '_'", name, key)
        if len(value) > 500:
            raise _too_large("a field value is at most 500 characters", name, key)


def _check_payloads(spec: TemplateInput) -> None:
    title, body, deeplink = _empty(spec.title), _empty(spec.body), _empty(spec.deeplink)
    if TemplateChannel.PUSH in spec.channels:
        apns = limits.json_bytes(limits.apns_payload(title, body, deeplink))
        if apns > limits.APNS_MAX_BYTES:
            raise _too_large(f"the APNs payload is {apns} bytes, over {limits.APNS_MAX_BYTES}", "body")
        message = limits.huawei_message(title, body, deeplink, category=spec.huawei_category, tag="0" * 32)
        huawei = limits.json_bytes(message)
        if huawei > limits.HUAWEI_MAX_BYTES:
            raise _too_large(f"the Huawei message is {huawei} bytes, over {limits.HUAWEI_MAX_BYTES}", "body")


def check_template(spec: TemplateInput) -> None:
    """Raises the first problem found: INVALID_INPUT for a missing or malformed field, TEMPLATE_TOO_LARGE for a
    payload over its channel's limit or a WeChat value its type does not allow."""
    _check_texts(spec)
    _check_channels(spec)
    if TemplateChannel.WECHAT in spec.channels:
        _check_wechat_fields(spec.wechat_fields)
    if TemplateChannel.ALIPAY in spec.channels:
        _check_vendor_fields("alipayFields", spec.alipay_fields)
    if spec.sms_fallback:
        _check_vendor_fields("smsParams", spec.sms_params)
    _check_payloads(spec)
