"""The operators' operations over HTTP (§C3, §C4, §C6, §C14): templates, segments and the campaign state machine,
each expected failure a typed error with its stable code that changed nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from api.lifespan import Services
from api.models import Campaign, NotificationTemplate, Segment
from tests.notifications.graphql.support import APPROVER, AUTHOR, ERROR, LEAD, data, operator
from tests.support.client import Api

TEMPLATE = "code version locale category fanout smsFallback deferInQuietHours variants { channel rank title body }"
CAMPAIGN = """id name status segmentId templateCode channels scheduleAt windowEnd throttlePerMin runNo
createdBy lastEditedBy submittedBy approvedBy recurrence { every at }
transitions { fromStatus toStatus actor reason }"""
STATS = "campaignId total { channel targeted sent } channels { channel }"
SAVE_TEMPLATE = f"""mutation S($input: SaveNotificationTemplateInput!) {{
  saveNotificationTemplate(input: $input) {{ __typename ... on NotificationTemplate {{ {TEMPLATE} }} {ERROR} }} }}"""
TEMPLATES = """query T($after: String) {
  notificationTemplates(first: 100, after: $after) {
    edges { node { code version } } pageInfo { endCursor hasNextPage }
  }
}"""
CREATE_SEGMENT = f"""mutation C($input: CreateSegmentInput!) {{
  createSegment(input: $input) {{ __typename ... on Segment {{ id name dsl version }} {ERROR} }} }}"""
PREVIEW = f"""query P($input: PreviewSegmentInput!) {{
  previewSegment(input: $input) {{ __typename ... on SegmentPreview {{ count sample {{ name phone }} }} {ERROR} }} }}"""
CAMPAIGN_QUERY = f"query C($id: ID!) {{ campaign(id: $id) {{ {CAMPAIGN} stats {{ {STATS} }} }} }}"
CAMPAIGN_STATS = f"query S($id: ID!) {{ campaignStats(campaignId: $id) {{ {STATS} }} }}"
CAMPAIGNS = "query L($first: Int) { campaigns(first: $first) { edges { node { id } } pageInfo { hasNextPage } } }"
# 994…: a district prefix neither the seed (990…) nor the segment tests (995…–999…) ever use.
SEGMENT_DSL = {"all": [{"field": "resident.region_code", "op": "prefix", "value": "994"}]}


def _mutation(name: str) -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return f"""mutation M($input: {input_type}!) {{
  {name}(input: $input) {{ __typename ... on Campaign {{ {CAMPAIGN} }} {ERROR} }} }}"""


async def _call(api: Api, token: str, document: str, field: str, values: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await data(api, document, {"input": values}, token))[field]
    return result


async def _move(api: Api, token: str, name: str, campaign_id: str, **extra: Any) -> dict[str, Any]:
    return await _call(api, token, _mutation(name), name, {"campaignId": campaign_id, **extra})


def _template(code: str, **overrides: Any) -> dict[str, Any]:
    return {
        "code": code,
        "category": "CAMPAIGN",
        "title": "惠企政策提醒",
        "body": "{name}，新的惠企政策已发布。",
        "deeplink": "zsb://policies/1",
        "channels": ["PUSH", "WECHAT"],
        "wechatTemplateId": "TPL-POLICY",
        "wechatFields": {"thing1": "惠企政策"},
        **overrides,
    }


def _now(api: Api) -> Any:
    services: Services = api.live.app.state.services
    return services.notifications.clock.now()


async def _draft(api: Api, author: str, **overrides: Any) -> dict[str, Any]:
    code = f"e_op_{uuid.uuid4().hex[:8]}"
    saved = await _call(api, author, SAVE_TEMPLATE, "saveNotificationTemplate", _template(code))
    assert saved["__typename"] == "NotificationTemplate", saved
    segment = await _call(api, author, CREATE_SEGMENT, "createSegment", {"name": f"e {code}", "dsl": SEGMENT_DSL})
    start = _now(api) + timedelta(days=30)
    values = {
        "name": f"政策推送 {code}",
        "segmentId": segment["id"],
        "templateCode": code,
        "channels": ["PUSH"],
        "scheduleAt": start.isoformat(),
        "windowEnd": (start + timedelta(days=1)).isoformat(),
        **overrides,
    }
    return await _call(api, author, _mutation("createCampaign"), "createCampaign", values)


class TestSaveNotificationTemplate:
    async def test_saves_a_new_version_each_time(self, api: Api) -> None:
        author, code = await operator(api, AUTHOR), f"e_tpl_{uuid.uuid4().hex[:8]}"
        first = await _call(api, author, SAVE_TEMPLATE, "saveNotificationTemplate", _template(code))
        second = await _call(api, author, SAVE_TEMPLATE, "saveNotificationTemplate", _template(code, title="新标题"))
        assert (first["version"], second["version"]) == (1, 2)
        assert (second["category"], second["fanout"], second["locale"]) == ("CAMPAIGN", "FIRST", "zh-CN")
        assert [(v["channel"], v["title"]) for v in second["variants"]] == [
            ("PUSH", "新标题"),
            ("WECHAT", "新标题"),
            ("INBOX", "新标题"),
        ]
        versions, after = [], None
        while True:
            listed = (await data(api, TEMPLATES, {"after": after}, author))["notificationTemplates"]
            versions += [edge["node"]["version"] for edge in listed["edges"] if edge["node"]["code"] == code]
            if not listed["pageInfo"]["hasNextPage"]:
                break
            after = listed["pageInfo"]["endCursor"]
        assert versions == [2]

    async def test_refuses_a_body_over_the_push_limit_and_stores_nothing(self, api: Api) -> None:
        author, code = await operator(api, AUTHOR), f"e_tpl_{uuid.uuid4().hex[:8]}"
        result = await _call(api, author, SAVE_TEMPLATE, "saveNotificationTemplate", _template(code, body="政" * 1500))
        assert (result["__typename"], result["code"]) == ("TemplateTooLargeError", "TEMPLATE_TOO_LARGE")
        assert not await NotificationTemplate.filter(code=code).exists()

    async def test_refuses_wechat_fields_that_are_not_texts(self, api: Api) -> None:
        author, code = await operator(api, AUTHOR), f"e_tpl_{uuid.uuid4().hex[:8]}"
        result = await _call(
            api, author, SAVE_TEMPLATE, "saveNotificationTemplate", _template(code, wechatFields={"thing1": 7})
        )
        assert (result["__typename"], result["path"]) == ("InvalidInputError", ["wechatFields"])
        assert not await NotificationTemplate.filter(code=code).exists()


class TestCreateSegment:
    async def test_saves_a_valid_segment(self, api: Api) -> None:
        author, name = await operator(api, AUTHOR), f"e seg {uuid.uuid4().hex[:8]}"
        result = await _call(api, author, CREATE_SEGMENT, "createSegment", {"name": name, "dsl": SEGMENT_DSL})
        assert (result["__typename"], result["name"], result["dsl"], result["version"]) == (
            "Segment",
            name,
            SEGMENT_DSL,
            1,
        )

    async def test_refuses_an_unknown_field_and_stores_nothing(self, api: Api) -> None:
        author, name = await operator(api, AUTHOR), f"e seg {uuid.uuid4().hex[:8]}"
        dsl = {"all": [{"field": "resident.salary", "op": "gte", "value": 1}]}
        result = await _call(api, author, CREATE_SEGMENT, "createSegment", {"name": name, "dsl": dsl})
        assert (result["__typename"], result["code"]) == ("InvalidSegmentError", "INVALID_SEGMENT")
        assert result["path"] is not None
        assert not await Segment.filter(name=name).exists()


class TestPreviewSegment:
    async def test_counts_the_people_a_segment_reaches(self, api: Api) -> None:
        author = await operator(api, AUTHOR)
        result = (await data(api, PREVIEW, {"input": {"dsl": SEGMENT_DSL}}, author))["previewSegment"]
        assert result == {"__typename": "SegmentPreview", "count": 0, "sample": []}

    async def test_refuses_raw_sql(self, api: Api) -> None:
        author = await operator(api, AUTHOR)
        dsl = {"all": [{"field": "resident.region_code", "op": "eq", "value": "1' OR 1=1 --"}]}
        result = (await data(api, PREVIEW, {"input": {"dsl": dsl}}, author))["previewSegment"]
        assert (result["__typename"], result["code"]) == ("InvalidSegmentError", "INVALID_SEGMENT")


class TestCreateCampaign:
    async def test_creates_a_draft_audited_with_its_author(self, api: Api) -> None:
        author = await operator(api, AUTHOR)
        draft = await _draft(api, author, recurrence={"at": "09:30"})
        assert (draft["__typename"], draft["status"], draft["runNo"]) == ("Campaign", "DRAFT", 0)
        assert draft["recurrence"] == {"every": "day", "at": "09:30"}
        assert draft["createdBy"] == draft["lastEditedBy"] and draft["submittedBy"] is None
        assert [(t["fromStatus"], t["toStatus"], t["actor"]) for t in draft["transitions"]] == [
            (None, "DRAFT", draft["createdBy"])
        ]

    async def test_refuses_a_schedule_in_the_past_and_stores_nothing(self, api: Api) -> None:
        author, name = await operator(api, AUTHOR), f"过去 {uuid.uuid4().hex[:8]}"
        past = _now(api) - timedelta(hours=1)
        result = await _draft(api, author, name=name, scheduleAt=past.isoformat())
        assert (result["__typename"], result["code"]) == ("ScheduleInPastError", "SCHEDULE_IN_PAST")
        assert not await Campaign.filter(name=name).exists()


class TestUpdateCampaign:
    async def test_refuses_a_schedule_in_the_past_and_keeps_the_campaign(self, api: Api) -> None:
        author = await operator(api, AUTHOR)
        draft = await _draft(api, author)
        past = _now(api) - timedelta(minutes=5)
        result = await _move(api, author, "updateCampaign", draft["id"], scheduleAt=past.isoformat())
        assert (result["__typename"], result["code"]) == ("ScheduleInPastError", "SCHEDULE_IN_PAST")
        row = await Campaign.get(id=draft["id"])
        assert row.schedule_at.isoformat() != past.isoformat() and row.version == 1


class TestCampaignStateMachine:
    async def test_goes_from_draft_to_scheduled_with_two_people_and_audits_every_step(self, api: Api) -> None:
        author, approver = await operator(api, AUTHOR), await operator(api, APPROVER)
        draft = await _draft(api, author)
        submitted = await _move(api, author, "submitCampaign", draft["id"])
        assert submitted["status"] == "PENDING_APPROVAL"
        approved = await _move(api, approver, "approveCampaign", draft["id"])
        assert approved["status"] == "SCHEDULED" and approved["approvedBy"] not in (None, draft["createdBy"])
        cancelled = await _move(api, author, "cancelCampaign", draft["id"])
        assert cancelled["status"] == "CANCELLED"
        read = (await data(api, CAMPAIGN_QUERY, {"id": draft["id"]}, author))["campaign"]
        assert [(t["fromStatus"], t["toStatus"]) for t in read["transitions"]] == [
            (None, "DRAFT"),
            ("DRAFT", "PENDING_APPROVAL"),
            ("PENDING_APPROVAL", "APPROVED"),
            ("APPROVED", "SCHEDULED"),
            ("SCHEDULED", "CANCELLED"),
        ]
        assert read["stats"]["campaignId"] == draft["id"] and read["stats"]["total"]["sent"] == 0

    async def test_refuses_a_transition_its_status_does_not_allow_and_changes_nothing(self, api: Api) -> None:
        author = await operator(api, AUTHOR)
        draft = await _draft(api, author)
        for operation in ("pauseCampaign", "resumeCampaign"):  # only a sending campaign pauses
            result = await _move(api, author, operation, draft["id"])
            assert (result["__typename"], result["code"]) == ("InvalidTransitionError", "INVALID_TRANSITION")
        cancelled = await _move(api, author, "cancelCampaign", draft["id"])
        again = await _move(api, author, "cancelCampaign", draft["id"])
        assert (cancelled["status"], again["__typename"]) == ("CANCELLED", "InvalidTransitionError")
        assert len((await data(api, CAMPAIGN_QUERY, {"id": draft["id"]}, author))["campaign"]["transitions"]) == 2

    async def test_refuses_self_approval_and_changes_nothing(self, api: Api) -> None:
        dual = await operator(api, LEAD)
        draft = await _draft(api, dual)
        await _move(api, dual, "submitCampaign", draft["id"])
        result = await _move(api, dual, "approveCampaign", draft["id"])
        assert (result["__typename"], result["code"]) == ("SelfApprovalError", "SELF_APPROVAL")
        assert (await Campaign.get(id=draft["id"])).status.value == "pending_approval"

    async def test_rejects_with_a_reason_back_to_draft(self, api: Api) -> None:
        author, approver = await operator(api, AUTHOR), await operator(api, APPROVER)
        draft = await _draft(api, author)
        await _move(api, author, "submitCampaign", draft["id"])
        empty = await _move(api, approver, "rejectCampaign", draft["id"], reason="  ")
        assert (empty["__typename"], empty["path"]) == ("InvalidInputError", ["reason"])
        rejected = await _move(api, approver, "rejectCampaign", draft["id"], reason="措辞需修改")
        assert rejected["status"] == "DRAFT"
        assert rejected["transitions"][-1]["reason"] == "措辞需修改"


class TestCampaignQueries:
    async def test_list_and_stats_name_a_new_campaign(self, api: Api) -> None:
        author = await operator(api, AUTHOR)
        draft = await _draft(api, author)
        listed = (await data(api, CAMPAIGNS, {"first": 100}, author))["campaigns"]
        assert draft["id"] in [edge["node"]["id"] for edge in listed["edges"]]
        stats = (await data(api, CAMPAIGN_STATS, {"id": draft["id"]}, author))["campaignStats"]
        assert stats == {"campaignId": draft["id"], "total": {"channel": "*", "targeted": 0, "sent": 0}, "channels": []}

    async def test_answer_null_for_an_unknown_campaign(self, api: Api) -> None:
        author, unknown = await operator(api, AUTHOR), str(uuid.uuid4())
        assert (await data(api, CAMPAIGN_QUERY, {"id": unknown}, author))["campaign"] is None
        assert (await data(api, CAMPAIGN_STATS, {"id": unknown}, author))["campaignStats"] is None
