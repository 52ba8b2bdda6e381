"""Every notifications root field with a call that passes GraphQL validation, and who may make it (§C14)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.notifications.graphql.support import ERROR

NOBODY_ID = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Operation:
    name: str
    document: str
    variables: dict[str, Any] = field(default_factory=dict)
    caller: str = "citizen"  # citizen | author | approver | service


def _mutation(name: str, fields: str = "") -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return f"mutation M($input: {input_type}!) {{ {name}(input: $input) {{ __typename {fields} {ERROR} }} }}"


def _input(**values: Any) -> dict[str, Any]:
    return {"input": values}


def _campaign(field_name: str, caller: str, **extra: Any) -> Operation:
    return Operation(field_name, _mutation(field_name), _input(campaignId=NOBODY_ID, **extra), caller)


def operations() -> list[Operation]:
    """Fresh values per call: a template code or segment name nobody else uses."""
    unique = uuid.uuid4().hex[:8]
    return [
        Operation("myInbox", "query { myInbox(first: 5) { unreadCount edges { cursor } } }"),
        Operation("myNotificationPreferences", "query { myNotificationPreferences { quietStart } }"),
        Operation(
            "registerDevice", _mutation("registerDevice"), _input(platform="IOS", token=f"bad{unique}", env="PROD")
        ),
        Operation("unregisterDevice", _mutation("unregisterDevice"), _input(platform="IOS", token=f"gone{unique}")),
        Operation("markRead", _mutation("markRead"), _input(ids=[])),
        Operation(
            "updateNotificationPreference",
            _mutation("updateNotificationPreference"),
            _input(category="CRITICAL", enabled=False),
        ),
        Operation("updateQuietHours", _mutation("updateQuietHours"), _input(start="20:30", end="08:30")),
        Operation("trackNotificationOpened", _mutation("trackNotificationOpened"), _input(deliveryId=NOBODY_ID)),
        Operation(
            "notificationTemplates", "query { notificationTemplates(first: 1) { edges { cursor } } }", caller="author"
        ),
        Operation(
            "saveNotificationTemplate",
            _mutation("saveNotificationTemplate"),
            _input(code=f"e_access_{unique}", category="CAMPAIGN", title="x" * 300, body="", channels=["PUSH"]),
            "author",
        ),
        Operation("createSegment", _mutation("createSegment"), _input(name=f"e {unique}", dsl={"nope": 1}), "author"),
        Operation(
            "previewSegment",
            f"query P($input: PreviewSegmentInput!) {{ previewSegment(input: $input) {{ __typename {ERROR} }} }}",
            _input(dsl={"nope": 1}),
            "author",
        ),
        Operation(
            "createCampaign",
            _mutation("createCampaign"),
            _input(
                name=f"e {unique}",
                segmentId=NOBODY_ID,
                templateCode="none",
                channels=["PUSH"],
                scheduleAt="2020-01-01T00:00:00+08:00",
                windowEnd="2020-01-02T00:00:00+08:00",
            ),
            "author",
        ),
        _campaign("updateCampaign", "author", name="x"),
        _campaign("submitCampaign", "author"),
        _campaign("pauseCampaign", "author"),
        _campaign("resumeCampaign", "author"),
        _campaign("cancelCampaign", "author"),
        Operation("campaign", "query C($id: ID!) { campaign(id: $id) { id } }", {"id": NOBODY_ID}, "author"),
        Operation("campaigns", "query { campaigns(first: 1) { edges { cursor } } }", caller="author"),
        Operation(
            "campaignStats",
            "query S($id: ID!) { campaignStats(campaignId: $id) { campaignId } }",
            {"id": NOBODY_ID},
            "author",
        ),
        _campaign("approveCampaign", "approver"),
        _campaign("rejectCampaign", "approver", reason="不合适"),
        Operation(
            "emitNotificationEvent",
            _mutation("emitNotificationEvent"),
            _input(topic="application.accepted", key=unique, stateVersion="1", recipientUserId="not-an-id", params={}),
            "service",
        ),
    ]
