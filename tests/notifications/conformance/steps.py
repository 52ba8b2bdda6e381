"""What people do in the conformance scenarios, as GraphQL operations of notifications.md §C14."""

from __future__ import annotations

import itertools
import random
from datetime import datetime
from typing import Any

from tests.support.notifications_world import Resident, World

ERROR = "... on Error { code message path }"
AUTHOR, APPROVER = "campaign.author", "campaign.approver"
_codes = itertools.count(random.randrange(10**6))

REGISTER_DEVICE = f"""
mutation R($input: RegisterDeviceInput!) {{
  registerDevice(input: $input) {{ __typename ... on PushDevice {{ id platform env }} {ERROR} }}
}}"""
UNREGISTER_DEVICE = f"""
mutation U($input: UnregisterDeviceInput!) {{
  unregisterDevice(input: $input) {{ __typename ... on DeviceUnregistered {{ token }} {ERROR} }}
}}"""
EMIT = f"""
mutation E($input: EmitNotificationEventInput!) {{
  emitNotificationEvent(input: $input) {{ __typename ... on NotificationEventEmitted {{ requestId }} {ERROR} }}
}}"""
MY_INBOX = """
query I($first: Int) {
  myInbox(first: $first) { unreadCount edges { node { id category title body deeplink deliveryId } } }
}"""
PREFERENCES_FIELDS = "categories { category enabled mutable channels { channel enabled } } quietStart quietEnd"
MY_PREFERENCES = f"query {{ myNotificationPreferences {{ {PREFERENCES_FIELDS} }} }}"
UPDATE_PREFERENCE = f"""
mutation P($input: UpdateNotificationPreferenceInput!) {{
  updateNotificationPreference(input: $input) {{
    __typename ... on NotificationPreferences {{ {PREFERENCES_FIELDS} }} {ERROR}
  }}
}}"""
TRACK_OPENED = f"""
mutation T($input: TrackNotificationOpenedInput!) {{
  trackNotificationOpened(input: $input) {{ __typename ... on NotificationOpened {{ deliveryId openedAt }} {ERROR} }}
}}"""
SAVE_TEMPLATE = f"""
mutation S($input: SaveNotificationTemplateInput!) {{
  saveNotificationTemplate(input: $input) {{ __typename ... on NotificationTemplate {{ code version }} {ERROR} }}
}}"""
CREATE_SEGMENT = f"""
mutation C($input: CreateSegmentInput!) {{
  createSegment(input: $input) {{ __typename ... on Segment {{ id version }} {ERROR} }}
}}"""
PREVIEW_SEGMENT = f"""
query P($input: PreviewSegmentInput!) {{
  previewSegment(input: $input) {{ __typename ... on SegmentPreview {{ count sample {{ name phone }} }} {ERROR} }}
}}"""
CAMPAIGN_FIELDS = """
id name status runNo createdBy lastEditedBy submittedBy approvedBy scheduleAt windowEnd
transitions { fromStatus toStatus actor reason at }
"""
FUNNEL_FIELDS = """
channel targeted eligible suppressed { reason count } sent delivered opened clicked failed { reason count }
"""
STATS_FIELDS = f"campaignId total {{ {FUNNEL_FIELDS} }} channels {{ {FUNNEL_FIELDS} }}"
CAMPAIGN = f"query C($id: ID!) {{ campaign(id: $id) {{ {CAMPAIGN_FIELDS} stats {{ {STATS_FIELDS} }} }} }}"
CAMPAIGN_STATS = f"query S($id: ID!) {{ campaignStats(campaignId: $id) {{ {STATS_FIELDS} }} }}"


# A segment of seeded residents (溪城区), for campaigns that are never launched: their guards need no audience.
SEEDED_DISTRICT = {"field": "resident.region_code", "op": "prefix", "value": "990102"}


def campaign_mutation(name: str) -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return f"""
mutation M($input: {input_type}!) {{
  {name}(input: $input) {{ __typename ... on Campaign {{ {CAMPAIGN_FIELDS} }} {ERROR} }}
}}"""


def fresh_code(prefix: str = "g") -> str:
    return f"{prefix}_conf_{next(_codes)}"


# ---- residents ----------------------------------------------------------------------------------------------
async def register_device(
    resident: Resident, token: str, *, platform: str = "IOS", env: str = "PROD", app_version: str = "3.2.0"
) -> dict[str, Any]:
    variables = {"input": {"platform": platform, "token": token, "env": env, "appVersion": app_version}}
    result: dict[str, Any] = (await resident.gql(REGISTER_DEVICE, variables))["registerDevice"]
    return result


async def registered(resident: Resident, token: str, *, platform: str = "IOS", env: str = "PROD") -> None:
    result = await register_device(resident, token, platform=platform, env=env)
    assert result["__typename"] == "PushDevice", result


async def unregister_device(resident: Resident, token: str, *, platform: str = "IOS") -> dict[str, Any]:
    variables = {"input": {"platform": platform, "token": token}}
    result: dict[str, Any] = (await resident.gql(UNREGISTER_DEVICE, variables))["unregisterDevice"]
    return result


async def inbox(resident: Resident) -> dict[str, Any]:
    result: dict[str, Any] = (await resident.gql(MY_INBOX, {"first": 50}))["myInbox"]
    return result


async def set_preference(resident: Resident, category: str, channel: str | None, enabled: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {"category": category, "enabled": enabled}
    if channel is not None:
        payload["channel"] = channel
    result: dict[str, Any] = (await resident.gql(UPDATE_PREFERENCE, {"input": payload}))["updateNotificationPreference"]
    return result


async def preferences(resident: Resident) -> dict[str, Any]:
    result: dict[str, Any] = (await resident.gql(MY_PREFERENCES))["myNotificationPreferences"]
    return result


async def track_opened(resident: Resident, delivery_id: str) -> dict[str, Any]:
    variables = {"input": {"deliveryId": delivery_id}}
    result: dict[str, Any] = (await resident.gql(TRACK_OPENED, variables))["trackNotificationOpened"]
    return result


# ---- the service producer --------------------------------------------------------------------------------
async def emit(
    world: World,
    topic: str,
    key: str,
    version: int,
    recipient: Resident,
    params: dict[str, Any],
    *,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "topic": topic,
        "key": key,
        "stateVersion": str(version),
        "recipientUserId": recipient.user_id,
        "params": params,
    }
    if expires_at is not None:
        payload["expiresAt"] = expires_at.isoformat()
    result: dict[str, Any] = (await world.api.data(EMIT, {"input": payload}, await world.service()))[
        "emitNotificationEvent"
    ]
    return result


async def emitted(world: World, topic: str, key: str, version: int, recipient: Resident, params: dict[str, Any]) -> str:
    result = await emit(world, topic, key, version, recipient, params)
    assert result["__typename"] == "NotificationEventEmitted", result
    request_id: str = result["requestId"]
    return request_id


def accepted_params(project_no: str) -> dict[str, Any]:
    """`application.accepted` as applications' journal writes it (notice_payload)."""
    return {
        "applicationId": project_no,
        "projectNo": project_no,
        "status": "IN_PROGRESS",
        "itemName": "出生医学证明签发",
    }


def bill_params(bill_no: str) -> dict[str, Any]:
    return {
        "billId": bill_no,
        "billNo": bill_no,
        "subject": "城乡居民医疗保险",
        "amountFen": "38000",
        "dueAt": "2025-06-03T23:59:59+08:00",
        "dueDate": "2025-06-03",
    }


# ---- operators ---------------------------------------------------------------------------------------------
async def as_operator(world: World, username: str, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    data = await world.api.data(document, variables, await world.operator(username))
    result: dict[str, Any] = next(iter(data.values()))
    return result


async def campaign_template(world: World, channels: list[str] | None = None, **extra: Any) -> str:
    code = fresh_code("camp")
    payload: dict[str, Any] = {
        "code": code,
        "category": "CAMPAIGN",
        "title": "政策资讯",
        "body": "{name}您好：新的惠民政策已发布，点击查看。",
        "deeplink": "zsb://policies/2025-06",
        "channels": channels or ["PUSH"],
        "huaweiCategory": "MARKETING",
    } | extra
    result = await as_operator(world, AUTHOR, SAVE_TEMPLATE, {"input": payload})
    assert result["__typename"] == "NotificationTemplate", result
    return code


async def segment(world: World, dsl: dict[str, Any] | None = None) -> str:
    payload = {"name": f"conformance {world.prefix}", "dsl": dsl or world.segment()}
    result = await as_operator(world, AUTHOR, CREATE_SEGMENT, {"input": payload})
    assert result["__typename"] == "Segment", result
    segment_id: str = result["id"]
    return segment_id


async def campaign_op(world: World, username: str, operation: str, **payload: Any) -> dict[str, Any]:
    return await as_operator(world, username, campaign_mutation(operation), {"input": payload})


async def campaign_draft(
    world: World,
    *,
    template: str,
    segment_id: str,
    schedule_at: datetime,
    window_end: datetime,
    channels: list[str] | None = None,
    recurrence: dict[str, Any] | None = None,
    throttle_per_min: int | None = None,
    username: str = AUTHOR,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": f"惠民政策 {world.prefix}",
        "segmentId": segment_id,
        "templateCode": template,
        "channels": channels or ["PUSH"],
        "scheduleAt": schedule_at.isoformat(),
        "windowEnd": window_end.isoformat(),
    }
    if recurrence is not None:
        payload["recurrence"] = recurrence
    if throttle_per_min is not None:
        payload["throttlePerMin"] = throttle_per_min
    result = await campaign_op(world, username, "createCampaign", **payload)
    assert result["__typename"] == "Campaign", result
    return result


async def approved_campaign(
    world: World, *, template: str, segment_id: str, schedule_at: datetime, window_end: datetime, **kwargs: Any
) -> str:
    """Created and submitted by the author, approved by the approver: SCHEDULED."""
    draft = await campaign_draft(
        world, template=template, segment_id=segment_id, schedule_at=schedule_at, window_end=window_end, **kwargs
    )
    submitted = await campaign_op(world, AUTHOR, "submitCampaign", campaignId=draft["id"])
    assert submitted["__typename"] == "Campaign", submitted
    approved = await campaign_op(world, APPROVER, "approveCampaign", campaignId=draft["id"])
    assert approved["__typename"] == "Campaign" and approved["status"] == "SCHEDULED", approved
    campaign_id: str = draft["id"]
    return campaign_id


async def campaign(world: World, campaign_id: str) -> dict[str, Any]:
    result: dict[str, Any] = (await world.api.data(CAMPAIGN, {"id": campaign_id}, await world.operator(AUTHOR)))[
        "campaign"
    ]
    return result


def funnel(stats: dict[str, Any], channel: str) -> dict[str, Any]:
    """One channel's funnel; "*": every interrupting channel together, with the users targeted."""
    if channel == "*":
        total: dict[str, Any] = stats["total"]
        return total
    rows = [row for row in stats["channels"] if row["channel"] == channel]
    assert len(rows) == 1, stats
    row: dict[str, Any] = rows[0]
    return row


def counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {row["reason"]: row["count"] for row in rows}
