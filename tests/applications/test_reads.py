"""application(id), myApplications and the anonymous applicationProgress lookup."""

from __future__ import annotations

from api.applications import lookup
from tests.applications.handling_support import done
from tests.applications.support import (
    APPLICATION,
    PROMISED_ITEM,
    handler_token,
    resident_token,
    service_code,
    submitted,
)
from tests.support.client import Api

MINE = """
query M($first: Int, $after: String, $filter: MyApplicationsFilter) {
  myApplications(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id projectNo status statusLabel } } pageInfo { hasNextPage endCursor }
  }
}
"""
PROGRESS = """
query P($input: ApplicationProgressInput!) {
  applicationProgress(input: $input) {
    __typename
    ... on ApplicationProgress { projectNo itemName statusLabel steps { type label } }
    ... on Error { code path }
    ... on RateLimitedError { retryAfterMs }
  }
}
"""


class TestApplication:
    async def test_the_applicant_the_departments_handler_and_nobody_else(self, api: Api) -> None:
        token = await resident_token(api, 12)
        app = await submitted(api, token)

        mine = (await api.data(APPLICATION, {"id": app["id"]}, token))["application"]
        other = (await api.data(APPLICATION, {"id": app["id"]}, await resident_token(api, 13)))["application"]
        handler = (await api.data(APPLICATION, {"id": app["id"]}, await handler_token(api, "wjw")))["application"]
        wrong_dept = (await api.data(APPLICATION, {"id": app["id"]}, await handler_token(api, "ga")))["application"]

        assert mine["projectNo"] == app["projectNo"] and mine["timeline"][0]["actorType"] == "APPLICANT"
        assert mine["allowedActions"] == ["WITHDRAW"]
        assert other is None and wrong_dept is None
        assert handler["id"] == app["id"] and "PRECHECK_PASS" in handler["allowedActions"]

    async def test_a_timeline_read_again_after_a_step_shows_the_step(self, api: Api) -> None:
        # given a case whose timeline was read (and remembered by its last seq)
        token = await resident_token(api, 12)
        app = await submitted(api, token)
        first = (await api.data(APPLICATION, {"id": app["id"]}, token))["application"]
        assert [e["type"] for e in first["timeline"]] == ["SUBMIT"]

        # when the department passes its pre-review
        handler = await handler_token(api, "wjw")
        await done(api, handler, "passApplicationPrecheck", applicationId=app["id"])

        # then both readers see the new entry at once
        for reader in (token, handler):
            again = (await api.data(APPLICATION, {"id": app["id"]}, reader))["application"]
            assert [e["type"] for e in again["timeline"]] == ["SUBMIT", "PRECHECK_PASS"]


class TestMyApplications:
    async def test_newest_first_with_cursors_and_a_status_group(self, api: Api) -> None:
        token = await resident_token(api, 16)
        ids = [(await submitted(api, token, PROMISED_ITEM))["id"] for _ in range(3)]
        mine = {"serviceCode": await service_code(PROMISED_ITEM)}

        first = (await api.data(MINE, {"first": 2, "filter": mine}, token))["myApplications"]
        after = first["pageInfo"]["endCursor"]
        rest = (await api.data(MINE, {"first": 2, "after": after, "filter": mine}, token))["myApplications"]
        finished = (await api.data(MINE, {"filter": {**mine, "group": "FINISHED"}}, token))["myApplications"]

        # the three just submitted are the newest (the demo seed's own cases of resident 16 are older)
        assert [e["node"]["id"] for e in first["edges"] + rest["edges"]][:3] == ids[::-1]
        assert first["pageInfo"]["hasNextPage"] is True
        assert not {e["node"]["id"] for e in finished["edges"]} & set(ids)


class TestApplicationProgress:
    async def test_the_right_password_shows_public_steps_only(self, api: Api) -> None:
        token = await resident_token(api, 14)
        app = await submitted(api, token, queryPassword="slip-2468")

        result = (await api.data(PROGRESS, {"input": {"projectNo": app["projectNo"], "queryPassword": "slip-2468"}}))[
            "applicationProgress"
        ]

        assert result == {
            "__typename": "ApplicationProgress",
            "projectNo": app["projectNo"],
            "itemName": app["itemName"],
            "statusLabel": "待预审",
            "steps": [{"type": "SUBMIT", "label": "已提交申请"}],
        }

    async def test_a_wrong_password_and_an_unknown_number_answer_alike(self, api: Api) -> None:
        token = await resident_token(api, 14)
        app = await submitted(api, token, queryPassword="slip-2468")

        wrong = await api.data(PROGRESS, {"input": {"projectNo": app["projectNo"], "queryPassword": "guess-1"}})
        unknown = await api.data(
            PROGRESS, {"input": {"projectNo": app["projectNo"][:-4] + "9999", "queryPassword": "x"}}
        )

        assert wrong["applicationProgress"] == unknown["applicationProgress"]
        assert wrong["applicationProgress"]["code"] == "NO_MATCH"

    async def test_each_ip_is_rate_limited(self, api: Api) -> None:
        variables = {"input": {"projectNo": "0" * 43, "queryPassword": "whatever"}}
        answers = [
            (await api.data(PROGRESS, variables))["applicationProgress"]["__typename"]
            for _ in range(lookup.per_minute() + 1)
        ]
        assert answers[:-1] == ["NotFoundError"] * lookup.per_minute()
        assert answers[-1] == "RateLimitedError"
