"""Operator handling over GraphQL: access, the lifecycle table, acceptance deadlines, steps, decisions, refusals.

Every refusal proves that nothing changed: the row's projection, its timeline and the outbox.
"""

from __future__ import annotations

from typing import Any

from api.applications.policy import current
from api.kit.clock import shanghai_date
from api.models import Application, ApplicationEvent, Operator, OutboxEvent, ServiceItem
from tests.applications import support
from tests.applications.handling_support import (
    accepted_case,
    act,
    assert_journal_consistent,
    calendar_of,
    done,
    resident_token,
    snapshot,
)
from tests.catalog.support import operator_token
from tests.support.client import Api

DEPT = support.DEPARTMENT_OF[support.PROMISED_ITEM]  # wjw
NO_SUCH_ID = "00000000-0000-4000-8000-000000000000"


async def tokens(api: Api) -> tuple[str, str]:
    return await resident_token(api), await support.handler_token(api, DEPT)


class TestAcceptApplication:
    async def test_acceptance_sets_the_promised_and_legal_dates_on_the_working_day_calendar(self, api: Api) -> None:
        # given a case that passed pre-review
        resident, handler = await tokens(api)
        case = await support.submitted(api, resident, support.PROMISED_ITEM)
        await done(api, handler, "passApplicationPrecheck", applicationId=case["id"], opinion="材料齐全")
        # when the handler accepts it
        accepted = await done(api, handler, "acceptApplication", applicationId=case["id"])
        # then the dates follow the item's limits from the acceptance day
        app = await Application.get(id=case["id"])
        item = await ServiceItem.get(id=app.service_item_id)
        assert app.accept_time is not None
        today = shanghai_date(app.accept_time)
        calendar = await calendar_of(case["id"], today)
        promise = item.promise_limit
        legal = item.legal_limit
        assert app.promise_date == calendar.add_limit(today, promise["value"], promise["unit"])
        assert app.legal_date == calendar.add_limit(today, legal["value"], legal["unit"])
        assert accepted["status"] == "IN_PROGRESS"
        assert accepted["promiseDate"] == app.promise_date.isoformat()
        assert accepted["acceptDocNo"] == f"受〔{today.year}〕{app.project_no}号"
        assert accepted["currentStep"] == "承办"
        sla = current().step_sla_working_days
        assert app.step_due_date == calendar.add_working_days(today, sla)
        assert [e["type"] for e in accepted["timeline"]] == ["SUBMIT", "PRECHECK_PASS", "ACCEPT"]
        accept_event = accepted["timeline"][-1]
        handler_name = (await Operator.get(username=f"handler.{DEPT}")).name
        assert (accept_event["actorType"], accept_event["actorName"]) == ("STAFF", handler_name)
        row = await OutboxEvent.get(key=case["id"], topic="application.accepted")
        assert row.state_version == 3
        assert row.payload["acceptDocNo"] == accepted["acceptDocNo"]
        await assert_journal_consistent(case["id"])

    async def test_accepting_a_commitment_case_before_pre_review_is_an_illegal_transition(self, api: Api) -> None:
        # given a freshly submitted 承诺件
        resident, handler = await tokens(api)
        case = await support.submitted(api, resident, support.PROMISED_ITEM)
        before = await snapshot(case["id"])
        # when the handler tries to accept it straight away
        result = await act(api, handler, "acceptApplication", applicationId=case["id"])
        # then the typed error names the status and what is allowed, and nothing changed
        assert result["__typename"] == "ApplicationTransitionError"
        assert result["code"] == "ILLEGAL_TRANSITION"
        assert result["status"] == "SUBMITTED"
        assert result["allowedEvents"] == [
            "PRECHECK_PASS",
            "PRECHECK_RETURN",
            "TERMINATE",
            "URGE",
            "VISIT",
            "WITHDRAW",
        ]
        assert await snapshot(case["id"]) == before

    async def test_a_handler_of_another_department_is_refused_and_nothing_changes(self, api: Api) -> None:
        # given a case of 卫健委 awaiting acceptance
        resident, handler = await tokens(api)
        case = await support.submitted(api, resident, support.PROMISED_ITEM)
        await done(api, handler, "passApplicationPrecheck", applicationId=case["id"])
        before = await snapshot(case["id"])
        other = await support.handler_token(api, "scjg")
        # when the 市场监管 handler tries to accept it
        result = await act(api, other, "acceptApplication", applicationId=case["id"])
        # then
        assert result["__typename"] == "ForbiddenError"
        assert result["code"] == "FORBIDDEN"
        assert await snapshot(case["id"]) == before

    async def test_a_supervisor_or_a_catalog_admin_cannot_handle(self, api: Api) -> None:
        resident = await resident_token(api)
        case = await support.submitted(api, resident, support.PROMISED_ITEM)
        before = await snapshot(case["id"])
        for username in ("supervisor.city", "catalog.admin"):
            token = await operator_token(api, username)
            body = await api.gql(
                "mutation M($input: PassApplicationPrecheckInput!) { passApplicationPrecheck(input: $input) "
                "{ __typename } }",
                {"input": {"applicationId": case["id"]}},
                token,
            )
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
        resident_body = await api.gql(
            "mutation M($input: AcceptApplicationInput!) { acceptApplication(input: $input) { __typename } }",
            {"input": {"applicationId": case["id"]}},
            resident,
        )
        assert resident_body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert await snapshot(case["id"]) == before

    async def test_an_unknown_or_malformed_id_is_a_typed_error(self, api: Api) -> None:
        _, handler = await tokens(api)
        missing = await act(api, handler, "acceptApplication", applicationId=NO_SUCH_ID)
        assert (missing["__typename"], missing["code"]) == ("NotFoundError", "APPLICATION_NOT_FOUND")
        malformed = await act(api, handler, "acceptApplication", applicationId="nope")
        assert (malformed["__typename"], malformed["path"]) == ("InvalidInputError", ["applicationId"])


class TestReturnApplicationPrecheck:
    async def test_a_return_lists_every_point_once_and_tells_the_applicant(self, api: Api) -> None:
        resident, handler = await tokens(api)
        case = await support.submitted(api, resident, support.PROMISED_ITEM)
        requirement = case["materials"][0]["requirementId"]
        items = [
            {"requirementId": requirement, "reason": "扫描件不清晰"},
            {"name": "申请表签字", "reason": "缺少申请人签字"},
        ]
        # when
        returned = await done(api, handler, "returnApplicationPrecheck", applicationId=case["id"], items=items)
        # then
        assert returned["status"] == "PRECHECK_RETURNED"
        row = await OutboxEvent.get(key=case["id"], topic="application.precheck_returned")
        notice: list[dict[str, Any]] = row.payload["items"]  # type: ignore[assignment]
        assert notice == [
            {"requirement_id": requirement, "name": case["materials"][0]["name"], "reason": "扫描件不清晰"},
            {"requirement_id": None, "name": "申请表签字", "reason": "缺少申请人签字"},
        ]
        await assert_journal_consistent(case["id"])

    async def test_a_notice_without_a_reason_changes_nothing(self, api: Api) -> None:
        resident, handler = await tokens(api)
        case = await support.submitted(api, resident, support.PROMISED_ITEM)
        before = await snapshot(case["id"])
        for items, path in (
            ([], ["items"]),
            ([{"name": "申请表", "reason": "  "}], ["items", "0", "reason"]),
            ([{"requirementId": NO_SUCH_ID, "reason": "x"}], ["items", "0", "requirementId"]),
        ):
            result = await act(api, handler, "returnApplicationPrecheck", applicationId=case["id"], items=items)
            assert (result["__typename"], result["path"]) == ("InvalidInputError", path)
        assert await snapshot(case["id"]) == before


class TestDeclineApplication:
    async def test_not_accepted_needs_reason_and_notice_and_ends_with_result_6(self, api: Api) -> None:
        resident, handler = await tokens(api)
        case = await support.submitted(api, resident, support.PROMISED_ITEM)
        await done(api, handler, "passApplicationPrecheck", applicationId=case["id"])
        before = await snapshot(case["id"])
        missing = await act(
            api, handler, "declineApplication", applicationId=case["id"], reason="不符合条件", noticeNo=""
        )
        assert (missing["__typename"], missing["path"]) == ("InvalidInputError", ["noticeNo"])
        assert await snapshot(case["id"]) == before
        # when
        declined = await done(
            api,
            handler,
            "declineApplication",
            applicationId=case["id"],
            reason="不属于本机关职权范围",
            noticeNo="卫不受〔2026〕7号",
        )
        # then
        assert (declined["status"], declined["resultCode"]) == ("NOT_ACCEPTED", 6)
        assert declined["resultReason"] == "不属于本机关职权范围"
        assert declined["resultTime"] is not None
        assert declined["allowedActions"] == []
        await assert_journal_consistent(case["id"])


class TestCompleteApplicationStep:
    async def test_steps_pass_and_return_and_a_stale_step_is_refused(self, api: Api) -> None:
        resident, handler = await tokens(api)
        case = await accepted_case(api, resident, handler)
        # 承办 passes to 审核
        moved = await done(
            api, handler, "completeApplicationStep", applicationId=case["id"], step="承办", outcome="PASS"
        )
        assert moved["currentStep"] == "审核"
        # a second click on the old page is refused, nothing changed
        before = await snapshot(case["id"])
        stale = await act(
            api, handler, "completeApplicationStep", applicationId=case["id"], step="承办", outcome="PASS"
        )
        assert (stale["__typename"], stale["code"]) == ("ConflictError", "STEP_MISMATCH")
        assert await snapshot(case["id"]) == before
        # a return needs an opinion, then goes back one step
        bare = await act(
            api, handler, "completeApplicationStep", applicationId=case["id"], step="审核", outcome="RETURN"
        )
        assert (bare["__typename"], bare["path"]) == ("InvalidInputError", ["opinion"])
        back = await done(
            api,
            handler,
            "completeApplicationStep",
            applicationId=case["id"],
            step="审核",
            outcome="RETURN",
            opinion="补充核查意见",
        )
        assert back["currentStep"] == "承办"
        assert back["timeline"][-1]["actionResult"] == "RETURN"
        await assert_journal_consistent(case["id"])


class TestDecideApplication:
    async def test_deciding_before_every_step_passed_is_refused(self, api: Api) -> None:
        resident, handler = await tokens(api)
        case = await accepted_case(api, resident, handler)
        before = await snapshot(case["id"])
        result = await act(api, handler, "decideApplication", applicationId=case["id"], decision="APPROVED")
        assert (result["__typename"], result["code"]) == ("ConflictError", "WORKFLOW_INCOMPLETE")
        assert await snapshot(case["id"]) == before

    async def test_a_rejection_states_its_reason_and_completes_with_result_1_and_no_licence(self, api: Api) -> None:
        resident, handler = await tokens(api)
        case = await accepted_case(api, resident, handler)
        for step in ("承办", "审核", "批准"):
            await done(api, handler, "completeApplicationStep", applicationId=case["id"], step=step, outcome="PASS")
        before = await snapshot(case["id"])
        bare = await act(api, handler, "decideApplication", applicationId=case["id"], decision="REJECTED")
        assert (bare["__typename"], bare["path"]) == ("InvalidInputError", ["reason"])
        assert await snapshot(case["id"]) == before
        # when
        decided = await done(
            api,
            handler,
            "decideApplication",
            applicationId=case["id"],
            decision="REJECTED",
            reason="出生信息与医院记录不符",
        )
        completed = await done(api, handler, "issueApplicationResult", applicationId=case["id"])
        # then
        assert decided["status"] == "DECIDED"
        assert (completed["status"], completed["resultCode"]) == ("COMPLETED", 1)
        assert completed["resultReason"] == "出生信息与医院记录不符"
        assert completed["resultLicenseIds"] == []
        assert completed["evaluationStatus"] == "PENDING"
        decided_row = await OutboxEvent.get(key=case["id"], topic="application.decided")
        assert decided_row.payload["decision"] == "REJECTED"
        await assert_journal_consistent(case["id"])


class TestTerminateApplication:
    async def test_termination_needs_code_2_or_3_and_a_reason(self, api: Api) -> None:
        resident, handler = await tokens(api)
        case = await accepted_case(api, resident, handler)
        before = await snapshot(case["id"])
        wrong = await act(api, handler, "terminateApplication", applicationId=case["id"], resultCode=4, reason="转报")
        assert (wrong["__typename"], wrong["path"]) == ("InvalidInputError", ["resultCode"])
        bare = await act(api, handler, "terminateApplication", applicationId=case["id"], resultCode=3, reason="")
        assert (bare["__typename"], bare["path"]) == ("InvalidInputError", ["reason"])
        assert await snapshot(case["id"]) == before
        ended = await done(
            api, handler, "terminateApplication", applicationId=case["id"], resultCode=3, reason="录入错误"
        )
        assert (ended["status"], ended["resultCode"], ended["resultReason"]) == ("TERMINATED", 3, "录入错误")
        # a terminated case takes no further event
        again = await act(api, handler, "terminateApplication", applicationId=case["id"], resultCode=2, reason="x")
        assert (again["__typename"], again["status"], again["allowedEvents"]) == (
            "ApplicationTransitionError",
            "TERMINATED",
            [],
        )
        await assert_journal_consistent(case["id"])


class TestRecordApplicationVisit:
    async def test_a_visit_counts_without_moving_the_status(self, api: Api) -> None:
        resident, handler = await tokens(api)
        case = await accepted_case(api, resident, handler)
        visited = await done(api, handler, "recordApplicationVisit", applicationId=case["id"], note="现场核验原件")
        assert visited["status"] == "IN_PROGRESS"
        assert (await Application.get(id=case["id"])).visits_count == 1
        assert visited["timeline"][-1]["type"] == "VISIT"
        assert await OutboxEvent.filter(key=case["id"], state_version=visited["timeline"][-1]["seq"]).count() == 0
        await assert_journal_consistent(case["id"])


class TestCaseQueue:
    QUERY = (
        "query Q($status: [ApplicationStatus!], $first: Int, $after: String) { caseQueue(status: $status, "
        "first: $first, after: $after) { edges { cursor node { id status applyTime } } pageInfo { hasNextPage "
        "endCursor } } }"
    )

    async def _all(self, api: Api, token: str, status: list[str]) -> list[dict[str, Any]]:
        nodes: list[dict[str, Any]] = []
        after = None
        while True:
            page = (await api.data(self.QUERY, {"status": status, "first": 50, "after": after}, token))["caseQueue"]
            nodes += [edge["node"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return nodes
            after = page["pageInfo"]["endCursor"]

    async def test_the_queue_lists_the_department_cases_oldest_first_page_by_page(self, api: Api) -> None:
        resident, handler = await tokens(api)
        first = await support.submitted(api, resident, support.PROMISED_ITEM)
        second = await support.submitted(api, resident, support.PROMISED_ITEM)
        # when
        queued = await self._all(api, handler, ["SUBMITTED"])
        page = (await api.data(self.QUERY, {"status": ["SUBMITTED"], "first": 1}, handler))["caseQueue"]
        # then
        ids = [n["id"] for n in queued]
        assert ids.index(first["id"]) < ids.index(second["id"])
        assert [n["applyTime"] for n in queued] == sorted(n["applyTime"] for n in queued)
        expected_ids = {
            str(a.id)
            for a in await Application.filter(
                accepting_org_id=(await Application.get(id=first["id"])).accepting_org_id, status="SUBMITTED"
            )
        }
        assert set(ids) == expected_ids
        assert len(page["edges"]) == 1 and page["pageInfo"]["hasNextPage"]
        other = await support.handler_token(api, "scjg")
        assert first["id"] not in [n["id"] for n in await self._all(api, other, ["SUBMITTED"])]

    async def test_the_queue_is_for_case_handlers(self, api: Api) -> None:
        token = await operator_token(api, "supervisor.city")
        body = await api.gql(self.QUERY, {}, token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def _events(application_id: str) -> list[str]:
    return [e.event_type.value for e in await ApplicationEvent.filter(application_id=application_id).order_by("seq")]
