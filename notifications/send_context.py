"""Everything a send batch reads besides its deliveries, loaded in one query per kind (requests, pinned templates,
campaigns, recipients' policies, device endpoints)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from api.kit.clock import SHANGHAI
from api.kit.ids import parse_uuid
from api.models.notifications import (
    Campaign,
    Delivery,
    DeliveryChannel,
    DeviceEndpoint,
    NotificationRequest,
    QuotaProvider,
    TemplateChannel,
)
from notifications import preferences, templates
from notifications.deps import NotificationsDeps

PUSH_CHANNELS = (DeliveryChannel.APNS, DeliveryChannel.HUAWEI)
_VARIANT_OF: dict[str, TemplateChannel] = {
    DeliveryChannel.APNS: TemplateChannel.PUSH,
    DeliveryChannel.HUAWEI: TemplateChannel.PUSH,
    DeliveryChannel.WECHAT: TemplateChannel.WECHAT,
    DeliveryChannel.ALIPAY: TemplateChannel.ALIPAY,
    DeliveryChannel.SMS: TemplateChannel.SMS,
    DeliveryChannel.INBOX: TemplateChannel.INBOX,
}
_QUOTA_OF: dict[str, QuotaProvider] = {
    DeliveryChannel.WECHAT: QuotaProvider.WECHAT,
    DeliveryChannel.ALIPAY: QuotaProvider.ALIPAY,
}

TemplateKey = tuple[str, int, str]


@dataclass(frozen=True)
class Endpoint:
    """What sending reads of a device endpoint (read without model instances: a batch reads hundreds)."""

    user_id: uuid.UUID
    token: str
    env: str
    invalidated_at: datetime | None


@dataclass
class SendContext:
    requests: dict[uuid.UUID, NotificationRequest]
    campaigns: dict[uuid.UUID, Campaign]
    policies: dict[uuid.UUID, preferences.UserPolicy]
    endpoints: dict[uuid.UUID, Endpoint]
    pinned: dict[TemplateKey, templates.TemplateVersion | None] = field(default_factory=dict)
    slots: dict[uuid.UUID, bool] = field(default_factory=dict)  # frequency-cap decisions by request, this batch
    claim: str = ""  # the claim token this batch's rows carry in last_error while `sending`

    def deadline(self, row: Delivery) -> datetime | None:
        """The earlier of the request's expiry and its campaign's window end."""
        request = self.requests[row.request_id]
        moments = [request.expires_at] if request.expires_at is not None else []
        campaign = self.campaigns.get(row.campaign_id) if row.campaign_id is not None else None
        if campaign is not None:
            moments.append(campaign.window_end)
        return min(moments) if moments else None

    def template_of(self, request: NotificationRequest) -> templates.TemplateVersion | None:
        return self.pinned.get((request.template_code, request.template_version, request.locale))

    @staticmethod
    def template_channel(channel: str) -> TemplateChannel:
        return _VARIANT_OF[channel]

    def variant(self, template: templates.TemplateVersion, channel: str) -> templates.TemplateVariant | None:
        return template.variants.get(_VARIANT_OF[channel])

    @staticmethod
    def quota_provider(channel: str) -> QuotaProvider | None:
        return _QUOTA_OF.get(channel)

    def address(self, row: Delivery) -> tuple[str | None, str]:
        """Where the delivery goes now: a push endpoint must still be active and still the recipient's (a token
        that moved to another user on a shared phone stops receiving the first user's notices, N16)."""
        if row.channel not in PUSH_CHANNELS:
            return row.endpoint_key, ""
        endpoint_id = parse_uuid(row.endpoint_key)
        endpoint = self.endpoints.get(endpoint_id) if endpoint_id is not None else None
        if endpoint is None or endpoint.invalidated_at is not None or endpoint.user_id != row.recipient_user_id:
            return None, ""
        return endpoint.token, endpoint.env

    def zone(self, user_id: uuid.UUID) -> ZoneInfo:
        policy = self.policies.get(user_id)
        return zone_of(policy.timezone if policy is not None else None)

    @staticmethod
    def render(variant: templates.TemplateVariant, request: NotificationRequest) -> templates.Rendered:
        return templates.render(variant, request.params)


def zone_of(name: object) -> ZoneInfo:
    if isinstance(name, ZoneInfo):
        return name
    if not name:
        return SHANGHAI
    try:
        return ZoneInfo(str(name))
    except (KeyError, ValueError):
        return SHANGHAI


async def load_context(deps: NotificationsDeps, rows: list[Delivery]) -> SendContext:
    request_ids = {r.request_id for r in rows}
    requests = {r.id: r for r in await NotificationRequest.filter(id__in=request_ids)}
    campaign_ids = {r.campaign_id for r in rows if r.campaign_id is not None}
    campaigns = {c.id: c for c in await Campaign.filter(id__in=campaign_ids)} if campaign_ids else {}
    users = {r.recipient_user_id for r in rows}
    policies = await preferences.load_policies(users, settings=deps.settings)
    endpoint_ids = {e for r in rows if r.channel in PUSH_CHANNELS if (e := parse_uuid(r.endpoint_key)) is not None}
    endpoints: dict[uuid.UUID, Endpoint] = {}
    if endpoint_ids:
        found = await DeviceEndpoint.filter(id__in=endpoint_ids).values_list(
            "id", "user_id", "token", "env", "invalidated_at"
        )
        endpoints = {e[0]: Endpoint(e[1], e[2], str(e[3]), e[4]) for e in found}
    ctx = SendContext(requests, campaigns, dict(policies), endpoints)
    for request in requests.values():
        key = (request.template_code, request.template_version, request.locale)
        if key not in ctx.pinned:
            ctx.pinned[key] = await templates.pinned_template(*key)
    return ctx
