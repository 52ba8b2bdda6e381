"""Applicant requests on an open case: withdraw, resubmit after a pre-review return, answer a 补正 round."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.models import Application, ApplicationMaterial, EventType, SupplementRequest
from tests.applications.cases import advance, open_round
from tests.applications.support import PROMISED_ITEM, footprint, item_row, resident_token, submitted, valid_form
from tests.support.client import Api

BASE = "__typename ... on Error { code message path } ... on ApplicationTransitionError { status allowedEvents } "
RESULT = BASE + "... on SubmissionRejectedError { problems { path field code } }"
WITHDRAW = (
    "mutation W($input: WithdrawApplicationInput!) { withdrawApplication(input: $input) { "
    + BASE
    + " ... on ApplicationWithdrawn { application { status statusLabel resultCode allowedActions } } } }"
)
RESUBMIT = (
    "mutation R($input: ResubmitApplicationInput!) { resubmitApplication(input: $input) { "
    + RESULT
    + " ... on ApplicationResubmitted { application { status projectNo timelineTotal } } } }"
)
SUPPLEMENT = (
    "mutation S($input: SupplementApplicationInput!) { supplementApplication(input: $input) { "
    + RESULT
    + " ... on ApplicationSupplemented { application { status openSupplement { round } "
    "materials { name providedVia supplementRound } } } } }"
)


class TestWithdrawApplication:
    async def test_before_a_decision_the_case_ends_withdrawn_with_result_5(self, api: Api) -> None:
        token = await resident_token(api, 3)
        app = await submitted(api, token)
        assert "WITHDRAW" in app["allowedActions"]

        result = (await api.data(WITHDRAW, {"input": {"id": app["id"], "reason": "不办了"}}, token))[
            "withdrawApplication"
        ]

        assert result["__typename"] == "ApplicationWithdrawn", result
        assert result["application"]["status"] == "WITHDRAWN"
        assert result["application"]["resultCode"] == 5
        assert result["application"]["allowedActions"] == []
        assert await footprint(app["id"]) == (1, 2, 2)

    async def test_after_a_decision_it_is_an_illegal_transition_and_nothing_changes(self, api: Api) -> None:
        token = await resident_token(api, 3)
        app = await submitted(api, token)
        now = api.live.clock.now()
        await advance(app["id"], EventType.PRECHECK_PASS, EventType.ACCEPT, EventType.DECIDE, now=now)
        before = await footprint(app["id"])

        result = (await api.data(WITHDRAW, {"input": {"id": app["id"]}}, token))["withdrawApplication"]

        assert result["__typename"] == "ApplicationTransitionError", result
        assert result["code"] == "ILLEGAL_TRANSITION"
        assert result["status"] == "DECIDED"
        assert "WITHDRAW" not in result["allowedEvents"]
        assert await footprint(app["id"]) == before
        assert (await Application.get(id=app["id"])).status.value == "DECIDED"

    async def test_someone_elses_case_is_not_found(self, api: Api) -> None:
        owner = await resident_token(api, 3)
        app = await submitted(api, owner)
        stranger = await resident_token(api, 4)

        result = (await api.data(WITHDRAW, {"input": {"id": app["id"]}}, stranger))["withdrawApplication"]

        assert (result["__typename"], result["code"]) == ("NotFoundError", "APPLICATION_NOT_FOUND")
        assert await footprint(app["id"]) == (1, 1, 1)


class TestResubmitApplication:
    async def test_after_a_precheck_return_the_same_number_goes_back_to_submitted(self, api: Api) -> None:
        token = await resident_token(api, 5)
        app = await submitted(api, token)
        await advance(app["id"], EventType.PRECHECK_RETURN, now=api.live.clock.now())
        form = valid_form(await item_row(PROMISED_ITEM))
        form["applicant"]["name"] = "陈演示五"

        result = (await api.data(RESUBMIT, {"input": {"id": app["id"], "formData": form}}, token))[
            "resubmitApplication"
        ]

        assert result["__typename"] == "ApplicationResubmitted", result
        assert result["application"] == {"status": "SUBMITTED", "projectNo": app["projectNo"], "timelineTotal": 3}
        assert (await Application.get(id=app["id"])).form_data["applicant"]["name"] == "陈演示五"

    async def test_a_form_still_failing_its_schema_changes_nothing(self, api: Api) -> None:
        token = await resident_token(api, 5)
        app = await submitted(api, token)
        await advance(app["id"], EventType.PRECHECK_RETURN, now=api.live.clock.now())
        before = await footprint(app["id"])
        form = valid_form(await item_row(PROMISED_ITEM))
        form["applicant"]["mobile"] = "12"

        result = (await api.data(RESUBMIT, {"input": {"id": app["id"], "formData": form}}, token))[
            "resubmitApplication"
        ]

        assert result["__typename"] == "SubmissionRejectedError"
        assert [p["path"] for p in result["problems"]] == ["formData/applicant/mobile"]
        assert await footprint(app["id"]) == before


class TestSupplementApplication:
    async def _case_awaiting_supplement(self, api: Api, token: str, due_in: timedelta) -> dict[str, Any]:
        app = await submitted(api, token)
        now = api.live.clock.now()
        await advance(app["id"], EventType.PRECHECK_PASS, EventType.ACCEPT, now=now)
        items: list[dict[str, object]] = [{"requirement_id": None, "name": "补充说明", "reason": "请说明出生地点"}]
        await open_round(app["id"], now, due_in=due_in, items=items)
        return app

    async def test_answering_every_line_resumes_the_case(self, api: Api) -> None:
        token = await resident_token(api, 6)
        app = await self._case_awaiting_supplement(api, token, timedelta(days=30))
        answer = {"item": 0, "via": "UPLOAD", "fileId": "upload/note.pdf"}

        result = (await api.data(SUPPLEMENT, {"input": {"id": app["id"], "round": 1, "materials": [answer]}}, token))[
            "supplementApplication"
        ]

        assert result["__typename"] == "ApplicationSupplemented", result
        assert result["application"]["status"] == "IN_PROGRESS"
        assert result["application"]["openSupplement"] is None
        assert ("补充说明", "UPLOAD", 1) in [
            (m["name"], m["providedVia"], m["supplementRound"]) for m in result["application"]["materials"]
        ]
        assert (await SupplementRequest.get(application_id=app["id"], round=1)).fulfilled_at is not None

    async def test_after_the_deadline_it_is_refused_and_nothing_changes(self, api: Api) -> None:
        token = await resident_token(api, 6)
        app = await self._case_awaiting_supplement(api, token, timedelta(seconds=1))
        api.live.clock.advance(timedelta(seconds=2))
        before = (await footprint(app["id"]), await ApplicationMaterial.filter(application_id=app["id"]).count())
        answer = {"item": 0, "via": "UPLOAD", "fileId": "upload/late.pdf"}

        result = (await api.data(SUPPLEMENT, {"input": {"id": app["id"], "round": 1, "materials": [answer]}}, token))[
            "supplementApplication"
        ]

        assert (result["__typename"], result["code"], result["path"]) == (
            "ConflictError",
            "SUPPLEMENT_EXPIRED",
            ["round"],
        )
        after = (await footprint(app["id"]), await ApplicationMaterial.filter(application_id=app["id"]).count())
        assert after == before
        assert (await SupplementRequest.get(application_id=app["id"], round=1)).fulfilled_at is None

    async def test_an_unanswered_line_is_refused(self, api: Api) -> None:
        token = await resident_token(api, 6)
        app = await self._case_awaiting_supplement(api, token, timedelta(days=30))
        before = await footprint(app["id"])

        result = (await api.data(SUPPLEMENT, {"input": {"id": app["id"], "round": 1, "materials": []}}, token))[
            "supplementApplication"
        ]

        assert result["__typename"] == "SubmissionRejectedError"
        assert [p["code"] for p in result["problems"]] == ["ITEM_NOT_ANSWERED"]
        assert await footprint(app["id"]) == before
