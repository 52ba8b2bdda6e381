"""Issue 7's definition of done on `make run` as a newcomer runs it: `zsb migrate`, `zsb seed`, `zsb serve` with the
embedded defaults (in-process notification workers and scheduler, the sandboxes), then over HTTP an operator pair
previews a segment, creates, submits, approves and sends a campaign, and the seeded residents it targets see it in
their inbox and (outside quiet hours) in the APNs sandbox log. The conformance suite drives the workers by hand;
this is the one test of them running by themselves."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyotp
import pytest

from api.kit.clock import SHANGHAI
from api.models import PushPlatform
from api.seed.devices import demo_token
from api.seed.operators import DEMO_PASSWORD, demo_totp_secret
from tests.support.make_run import make_run_server


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from make_run_server(tmp_path_factory)


ELDERLY = {"field": "resident.age", "op": "gte", "value": 60}
SIGN_IN = """mutation O($input: OperatorSignInInput!) {
  operatorSignIn(input: $input) { __typename ... on OperatorAuthPayload { accessToken } ... on Error { code } } }"""
PREVIEW = """query P($input: PreviewSegmentInput!) {
  previewSegment(input: $input) {
    __typename ... on SegmentPreview { count sample { name } } ... on Error { code }
  }
}"""
SEGMENT = """mutation S($input: CreateSegmentInput!) {
  createSegment(input: $input) { __typename ... on Segment { id } ... on Error { code message } } }"""
CREATE = """mutation C($input: CreateCampaignInput!) {
  createCampaign(input: $input) { __typename ... on Campaign { id status } ... on Error { code message path } } }"""
SUBMIT = """mutation U($input: SubmitCampaignInput!) {
  submitCampaign(input: $input) { __typename ... on Campaign { status } ... on Error { code } } }"""
APPROVE = """mutation A($input: ApproveCampaignInput!) {
  approveCampaign(input: $input) { __typename ... on Campaign { status } ... on Error { code } } }"""
STATUS = "query Q($id: ID!) { campaign(id: $id) { status } }"
INBOX = "{ myInbox(first: 20) { unreadCount edges { node { title category } } } }"


def _gql(http: httpx.Client, query: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    answer = http.post("/graphql", json={"query": query, "variables": variables}, headers=headers).json()
    assert "errors" not in answer, answer
    data: dict[str, Any] = answer["data"]
    return data


def _operator(http: httpx.Client, username: str) -> str:
    code = pyotp.TOTP(demo_totp_secret(username)).now()
    result = _gql(http, SIGN_IN, {"input": {"username": username, "password": DEMO_PASSWORD, "totpCode": code}})
    assert result["operatorSignIn"]["__typename"] == "OperatorAuthPayload", result
    token: str = result["operatorSignIn"]["accessToken"]
    return token


def _resident(http: httpx.Client, phone: str) -> str:
    http.post(
        "/graphql", json={"query": f'mutation {{ requestSmsCode(input: {{phone: "{phone}"}}) {{ __typename }} }}'}
    )
    code = http.get("/sandbox/sms/messages", params={"phone": phone}).json()["messages"][-1]["params"]["code"]
    query = (
        f'mutation {{ signInWithSms(input: {{phone: "{phone}", code: "{code}"}}) '
        "{ ... on AuthPayload { accessToken } } }"
    )
    token: str = http.post("/graphql", json={"query": query}).json()["data"]["signInWithSms"]["accessToken"]
    return token


def _eventually(probe: Any, seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


class TestCampaignOnMakeRun:
    def test_an_operator_pair_sends_a_previewed_campaign_that_residents_receive(self, served: str) -> None:
        with httpx.Client(base_url=served, timeout=30) as http:
            # given the seeded author and approver, and the 60+ residents of the seed (王演示三, 朱演示十四, 高演示十五)
            author, approver = _operator(http, "campaign.author"), _operator(http, "campaign.approver")
            preview = _gql(http, PREVIEW, {"input": {"dsl": ELDERLY}}, author)["previewSegment"]
            assert preview["count"] == 3
            assert sorted(row["name"] for row in preview["sample"]) == sorted(["王**", "朱**", "高**"])
            # when the author creates, submits and the approver approves a campaign starting in a few seconds
            segment = _gql(http, SEGMENT, {"input": {"name": "60 岁以上居民", "dsl": ELDERLY}}, author)["createSegment"]
            start = datetime.now(UTC) + timedelta(seconds=3)
            campaign = _gql(
                http,
                CREATE,
                {
                    "input": {
                        "name": "高龄津贴政策提醒",
                        "segmentId": segment["id"],
                        "templateCode": "POLICY_ELDERLY_SUBSIDY",
                        "channels": ["PUSH"],
                        "scheduleAt": start.isoformat(),
                        "windowEnd": (start + timedelta(days=1)).isoformat(),
                    }
                },
                author,
            )["createCampaign"]
            assert campaign["status"] == "DRAFT", campaign
            assert _gql(http, SUBMIT, {"input": {"campaignId": campaign["id"]}}, author)["submitCampaign"] == {
                "__typename": "Campaign",
                "status": "PENDING_APPROVAL",
            }
            approved = _gql(http, APPROVE, {"input": {"campaignId": campaign["id"]}}, approver)["approveCampaign"]
            assert approved == {"__typename": "Campaign", "status": "SCHEDULED"}
            # then the in-process scheduler launches it and each targeted resident finds it in the inbox
            for phone in ("19900000003", "19900000014", "19900000015"):
                token = _resident(http, phone)

                def titles(token: str = token) -> list[str]:
                    inbox = _gql(http, INBOX, {}, token)["myInbox"]
                    return [edge["node"]["title"] for edge in inbox["edges"] if edge["node"]["category"] == "CAMPAIGN"]

                assert len(_eventually(titles)) == 1, phone
            # and a resident outside the segment does not
            other = _resident(http, "19900000001")
            assert all(e["node"]["category"] != "CAMPAIGN" for e in _gql(http, INBOX, {}, other)["myInbox"]["edges"])

            # and, outside quiet hours (21:00–08:00 in Shanghai, when campaigns wait), the phones got the push: the
            # campaign's one (priority 5), beside the transactional notices of their seeded applications (10)
            def pushed(n: int) -> list[Any]:
                token_hex = demo_token(n, PushPlatform.IOS)
                rows = http.get("/sandbox/apns/_control/requests", params={"token": token_hex}).json()
                return [row for row in rows if str(row["priority"]) == "5"]

            if 8 <= datetime.now(SHANGHAI).hour < 21:
                for n in (3, 14):
                    assert len(_eventually(lambda n=n: pushed(n))) == 1, n

                def completed() -> bool:
                    return bool(_gql(http, STATUS, {"id": campaign["id"]}, author)["campaign"]["status"] == "COMPLETED")

                assert _eventually(completed)
            else:  # deferred to 08:00: nothing reached a phone
                assert [pushed(n) for n in (3, 14)] == [[], []]
