"""Versioned notification templates (notifications.md §C2, §C6): one row per channel variant, all rows of one code,
locale and version saved together; a request pins the version it used, so an edit never changes a notice already
planned.

Placeholders are `{name}`, filled by a plain regex substitution: no attribute or index access and no format
specification (str.format on operator text would be an injection), a missing parameter renders as "".
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.models import Fanout, NoticeCategory, NotificationTemplate, TemplateChannel
from notifications.deps import NotificationsDeps
from notifications.template_checks import TemplateInput, check_template

__all__ = [
    "INTERRUPTING",
    "Rendered",
    "TemplateInput",
    "TemplateVariant",
    "TemplateVersion",
    "current_template",
    "list_templates",
    "pinned_template",
    "render",
    "rows_for",
    "save_template",
    "substitute",
]

INTERRUPTING = (TemplateChannel.PUSH, TemplateChannel.WECHAT, TemplateChannel.ALIPAY)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_SAVE_ATTEMPTS = 3


@dataclass(frozen=True)
class TemplateVariant:
    channel: TemplateChannel
    rank: int
    title: str
    body: str
    deeplink: str = ""
    huawei_category: str = ""
    wechat_template_id: str = ""
    alipay_template_id: str = ""
    fields_map: Mapping[str, str] = field(default_factory=dict)  # WeChat/Alipay data fields, SMS TemplateParam
    sms_template_code: str = ""
    sms_sign_name: str = ""

    @property
    def vendor_template_id(self) -> str:
        return {
            TemplateChannel.WECHAT: self.wechat_template_id,
            TemplateChannel.ALIPAY: self.alipay_template_id,
            TemplateChannel.SMS: self.sms_template_code,
        }.get(self.channel, "")


@dataclass(frozen=True)
class TemplateVersion:
    code: str
    version: int
    locale: str
    category: NoticeCategory
    fanout: Fanout
    sms_fallback: bool
    defer_in_quiet_hours: bool
    variants: dict[TemplateChannel, TemplateVariant]
    created_by: str = "system"
    created_at: datetime | None = None

    def interrupting_channels(self) -> list[TemplateChannel]:
        """push / wechat / alipay variants in plan order (SMS is a fallback and the inbox is always written)."""
        ranked = sorted((v for v in self.variants.values() if v.channel in INTERRUPTING), key=lambda v: v.rank)
        return [v.channel for v in ranked]

    @property
    def channels(self) -> list[TemplateChannel]:
        return [v.channel for v in sorted(self.variants.values(), key=lambda v: v.rank)]


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    deeplink: str
    data: dict[str, str]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def substitute(text: str, params: Mapping[str, object], *, quote: bool = False) -> str:
    """`{name}` → params[name] as text ("" when missing); braces that are not a placeholder stay as they are."""

    def one(match: re.Match[str]) -> str:
        value = _text(params.get(match.group(1)))
        return urllib.parse.quote(value, safe="") if quote else value

    return _PLACEHOLDER.sub(one, text)


def placeholders(text: str) -> list[str]:
    return _PLACEHOLDER.findall(text)


def render(variant: TemplateVariant, params: Mapping[str, object]) -> Rendered:
    """The variant's texts with `params` filled in; deeplink parameters are percent-encoded (an id with a "/"
    must not reach another page)."""
    return Rendered(
        title=substitute(variant.title, params),
        body=substitute(variant.body, params),
        deeplink=substitute(variant.deeplink, params, quote=True),
        data={key: substitute(value, params) for key, value in variant.fields_map.items()},
    )


def _version_of(rows: list[NotificationTemplate]) -> TemplateVersion:
    head = rows[0]
    variants = {
        row.channel: TemplateVariant(
            channel=row.channel,
            rank=row.rank,
            title=row.title,
            body=row.body,
            deeplink=row.deeplink,
            huawei_category=row.huawei_category,
            wechat_template_id=row.wechat_template_id,
            alipay_template_id=row.alipay_template_id,
            fields_map=dict(row.fields_map or {}),
            sms_template_code=row.sms_template_code,
            sms_sign_name=row.sms_sign_name,
        )
        for row in rows
    }
    return TemplateVersion(
        code=head.code,
        version=head.version,
        locale=head.locale,
        category=head.category,
        fanout=head.fanout,
        sms_fallback=head.sms_fallback,
        defer_in_quiet_hours=head.defer_in_quiet_hours,
        variants=variants,
        created_by=head.created_by,
        created_at=head.created_at,
    )


async def pinned_template(code: str, version: int, locale: str = "zh-CN") -> TemplateVersion | None:
    rows = await NotificationTemplate.filter(code=code, version=version, locale=locale).order_by("rank")
    return _version_of(rows) if rows else None


async def current_template(code: str, locale: str = "zh-CN") -> TemplateVersion | None:
    """The highest active version of `code` in `locale`."""
    head = await NotificationTemplate.filter(code=code, locale=locale, active=True).order_by("-version").first()
    return None if head is None else await pinned_template(code, head.version, locale)


async def list_templates() -> list[TemplateVersion]:
    """The current version of every (code, locale), by code."""
    rows = await NotificationTemplate.filter(active=True).order_by("code", "locale", "-version", "rank")
    latest: dict[tuple[str, str], list[NotificationTemplate]] = {}
    for row in rows:
        group = latest.setdefault((row.code, row.locale), [])
        if not group or group[0].version == row.version:
            group.append(row)
    return [_version_of(group) for group in latest.values()]


def rows_for(spec: TemplateInput, version: int, actor: str) -> list[NotificationTemplate]:
    """The rows of one template version: the listed channels in order, then SMS (when it is the fallback) and
    the inbox, which every template has."""
    channels: list[TemplateChannel] = [
        c for c in dict.fromkeys(spec.channels) if c not in (TemplateChannel.INBOX, TemplateChannel.SMS)
    ]
    if spec.sms_fallback:
        channels.append(TemplateChannel.SMS)
    channels.append(TemplateChannel.INBOX)
    fields_by_channel: dict[TemplateChannel, Mapping[str, str]] = {
        TemplateChannel.WECHAT: spec.wechat_fields,
        TemplateChannel.ALIPAY: spec.alipay_fields,
        TemplateChannel.SMS: spec.sms_params,
    }
    return [
        NotificationTemplate(
            code=spec.code,
            category=spec.category,
            channel=channel,
            locale=spec.locale,
            version=version,
            rank=rank,
            fanout=spec.fanout,
            title=spec.title,
            body=spec.body,
            deeplink=spec.deeplink,
            huawei_category=spec.huawei_category if channel is TemplateChannel.PUSH else "",
            wechat_template_id=spec.wechat_template_id if channel is TemplateChannel.WECHAT else "",
            alipay_template_id=spec.alipay_template_id if channel is TemplateChannel.ALIPAY else "",
            fields_map=dict(fields_by_channel.get(channel, {})),
            sms_template_code=spec.sms_template_code if channel is TemplateChannel.SMS else "",
            sms_sign_name=spec.sms_sign_name if channel is TemplateChannel.SMS else "",
            sms_fallback=spec.sms_fallback,
            defer_in_quiet_hours=spec.defer_in_quiet_hours,
            created_by=actor,
        )
        for rank, channel in enumerate(channels)
    ]


async def save_template(deps: NotificationsDeps, actor: str, spec: TemplateInput) -> TemplateVersion:
    """A new version of `spec.code` (1 for a new code), all its channel rows in one transaction. Refused with
    TEMPLATE_TOO_LARGE / INVALID_INPUT before anything is written."""
    check_template(spec)
    for attempt in range(_SAVE_ATTEMPTS):
        try:
            async with in_transaction() as db:
                latest = (
                    await NotificationTemplate.filter(code=spec.code, locale=spec.locale)
                    .using_db(db)
                    .order_by("-version")
                    .first()
                    .values_list("version", flat=True)
                )
                version = int(latest or 0) + 1  # type: ignore[arg-type]
                await NotificationTemplate.bulk_create(rows_for(spec, version, actor), using_db=db)
            break
        except IntegrityError:
            # Two saves of the same code took the same version: the loser takes the next one.
            if attempt == _SAVE_ATTEMPTS - 1:
                raise
    saved = await pinned_template(spec.code, version, spec.locale)
    assert saved is not None  # written just above
    return saved
