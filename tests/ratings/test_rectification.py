"""The 差评 loop over HTTP: the department's steps, the rater's verdicts, appeals, and who may see and act."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from api.kit.clock import shanghai_date
from api.models import (
    Application,
    Evaluation,
    EvaluationStatus,
    OutboxEvent,
    Rectification,
    RectificationStatus,
)
from api.ratings.common import end_of_day
from api.workdays import store as workdays
from tests.catalog.support import counting_sql
from tests.ratings.support import (
    CALLBACK,
    CLASSIFY,
    COMPLETE,
    DECIDE_APPEAL,
    OTHER_DEPT,
    RECTIFICATION,
    RECTIFICATIONS,
    VERDICT,
    bad_input,
    call,
    case,
    handler,
    org_id,
    rated,
    step,
    supervisor,
)
from tests.support.client import Api, Session


async def bad_rating(api: Api, **extra: Any) -> tuple[Session, Application, dict[str, Any]]:
    me = await api.sign_in()
    app = await case(me.person_id, now=api.live.clock.now())
    rating = await rated(api, me.access_token, bad_input(app, **extra))
    return me, app, rating


async def row_state(rectification_id: str) -> tuple[Any, ...]:
    row = await Rectification.get(id=rectification_id)
    outbox = await OutboxEvent.filter(key=rectification_id).count()
    return (row.status, row.updated_at, len(row.history), row.callback_at, row.category, row.reopen_count, outbox)


async def verdict(api: Api, token: str, rectification_id: str, value: str) -> dict[str, Any]:
    result = await call(api, VERDICT, token, rectificationId=rectification_id, verdict=value)
    assert result["__typename"] == "RectificationRated", result
    loop: dict[str, Any] = result["rating"]["rectification"]
    return loop


async def due_notices(rectification_id: str) -> list[tuple[int, str, str]]:
    rows = await OutboxEvent.filter(topic="ratings.rectification_due", key=rectification_id).order_by("state_version")
    return [(r.state_version, str(r.payload["recipient"]), str(r.payload["status"])) for r in rows]


class TestRectificationVisibility:
    async def test_the_responsible_department_lists_it_and_another_department_cannot_see_it(self, api: Api) -> None:
        # given a 差评 of a case accepted by 白沙县医疗保障局
        _, app, rating = await bad_rating(api)
        rid = rating["rectification"]["id"]
        mine, other = await handler(api), await handler(api, OTHER_DEPT)
        # when the department lists its PENDING_CALLBACK tickets
        listed = (await api.data(RECTIFICATIONS, {"status": ["PENDING_CALLBACK"], "first": 10}, mine))["rectifications"]
        # then the ticket is there, with the case and the rater's contact for the callback
        node = next(e["node"] for e in listed["edges"] if e["node"]["id"] == rid)
        assert (node["assignedOrgId"], node["assignedOrgName"]) == (str(org_id()), "白沙县医疗保障局")
        assert node["rating"]["projectNo"] == app.project_no
        assert (node["rating"]["raterName"], node["rating"]["raterMobile"]) == ("测试联系人", "19900001234")
        assert node["allowedSteps"] == ["CALLBACK"]
        assert all(e["node"]["assignedOrgId"] == str(org_id()) for e in listed["edges"])
        # and another department neither lists it, nor reads it, nor may ask for the first one's list
        theirs = (await api.data(RECTIFICATIONS, {"first": 10}, other))["rectifications"]
        assert rid not in {e["node"]["id"] for e in theirs["edges"]}
        assert (await api.data(RECTIFICATION, {"id": rid}, other))["rectification"] is None
        body = await api.gql(RECTIFICATIONS, {"org": str(org_id()), "first": 5}, other)
        assert body["errors"][0]["extensions"]["code"] == "NOT_ASSIGNED_ORG"
        # while a supervisor sees every org's
        everything = (await api.data(RECTIFICATION, {"id": rid}, await supervisor(api)))["rectification"]
        assert everything["status"] == "PENDING_CALLBACK"

    async def test_another_department_cannot_act_on_it_and_nothing_changes(self, api: Api) -> None:
        _, _, rating = await bad_rating(api)
        rid = rating["rectification"]["id"]
        other = await handler(api, OTHER_DEPT)
        before = await row_state(rid)
        attempts = [
            (CALLBACK, {"result": "已回访"}),
            (CLASSIFY, {"category": "IMMEDIATE"}),
            (COMPLETE, {"rectificationText": "已整改", "feedback": "已整改"}),
        ]
        for document, extra in attempts:
            result = await call(api, document, other, rectificationId=rid, **extra)
            assert (result["__typename"], result["code"]) == ("ForbiddenError", "NOT_ASSIGNED_ORG")
        assert await row_state(rid) == before

    async def test_anonymous_ratings_hide_the_rater_from_the_department(self, api: Api) -> None:
        _, _, rating = await bad_rating(api, anonymous=True)
        node = (await api.data(RECTIFICATION, {"id": rating["rectification"]["id"]}, await handler(api)))[
            "rectification"
        ]
        assert (node["status"], node["callbackDueAt"], node["allowedSteps"]) == ("VERIFYING", None, ["CLASSIFY"])
        assert (node["rating"]["anonymous"], node["rating"]["raterName"], node["rating"]["raterMobile"]) == (
            True,
            None,
            None,
        )


class TestRectificationLoop:
    async def test_callback_classify_complete_then_unsatisfied_twice_escalates(self, api: Api) -> None:
        # given a real-name 差评 and the responsible department's handler
        me, app, rating = await bad_rating(api)
        rid = rating["rectification"]["id"]
        token = await handler(api)
        # when the department skips the callback, the step is refused and nothing changes
        before = await row_state(rid)
        refused = await call(api, CLASSIFY, token, rectificationId=rid, category="IMMEDIATE")
        assert (refused["__typename"], refused["status"], refused["allowedSteps"]) == (
            "RectificationStepRefusedError",
            "PENDING_CALLBACK",
            ["CALLBACK"],
        )
        assert await row_state(rid) == before
        # callback → VERIFYING, classify → RECTIFYING, complete → CLOSED awaiting the rater's verdict
        called = await step(api, CALLBACK, token, rectificationId=rid, result="电话回访，核实情况属实")
        assert (called["status"], called["callbackResult"]) == ("VERIFYING", "电话回访，核实情况属实")
        classified = await step(api, CLASSIFY, token, rectificationId=rid, category="IMMEDIATE")
        assert (classified["status"], classified["category"]) == ("RECTIFYING", "IMMEDIATE")
        done = await step(
            api, COMPLETE, token, rectificationId=rid, rectificationText="增设导办员", feedback="已增设导办员，欢迎再来"
        )
        assert (done["status"], done["awaitingVerdict"], done["feedback"]) == ("CLOSED", True, "已增设导办员，欢迎再来")
        assert (await Application.get(id=app.id)).evaluation_status is EvaluationStatus.RECTIFIED
        # when the rater is unsatisfied the first time: reopened once with a new deadline
        api.live.clock.advance(timedelta(minutes=1))
        reopened = await verdict(api, me.access_token, rid, "UNSATISFIED")
        assert (reopened["status"], reopened["reopenCount"], reopened["escalated"]) == ("RECTIFYING", 1, False)
        row = await Rectification.get(id=rid)
        reopened_at = datetime.fromisoformat(row.history[-1]["at"])
        calendar = await workdays.calendar_for(shanghai_date(reopened_at), "990122")
        assert row.due_at == end_of_day(calendar.add_working_days(shanghai_date(reopened_at), 5))
        assert (await Application.get(id=app.id)).evaluation_status is EvaluationStatus.RECTIFYING
        # the department completes again, and the rater is unsatisfied a second time: closed and escalated
        await step(api, COMPLETE, token, rectificationId=rid, rectificationText="流程再造", feedback="已优化流程")
        final = await verdict(api, me.access_token, rid, "UNSATISFIED")
        assert (final["status"], final["reopenCount"], final["escalated"], final["awaitingVerdict"]) == (
            "CLOSED",
            1,
            True,
            False,
        )
        assert (await Application.get(id=app.id)).evaluation_status is EvaluationStatus.RECTIFIED
        # a third verdict is refused and changes nothing
        before = await row_state(rid)
        again = await call(api, VERDICT, me.access_token, rectificationId=rid, verdict="SATISFIED")
        assert (again["__typename"], again["status"]) == ("RectificationStepRefusedError", "CLOSED")
        assert await row_state(rid) == before
        # every transition is in the history, and notices went where someone had to act
        row = await Rectification.get(id=rid)
        assert [(h["action"], h["actorKind"], h["to"]) for h in row.history] == [
            ("OPENED", "SYSTEM", "PENDING_CALLBACK"),
            ("CALLBACK", "ORG", "VERIFYING"),
            ("CLASSIFIED", "ORG", "RECTIFYING"),
            ("COMPLETED", "ORG", "CLOSED"),
            ("REOPENED", "RATER", "RECTIFYING"),
            ("COMPLETED", "ORG", "CLOSED"),
            ("ESCALATED", "RATER", "CLOSED"),
        ]
        assert row.history[1]["actorId"] is not None and row.history[4]["actorId"] == me.person_id
        assert await due_notices(rid) == [
            (1, "ORG", "PENDING_CALLBACK"),
            (4, "RATER", "CLOSED"),
            (5, "ORG", "RECTIFYING"),
            (6, "RATER", "CLOSED"),
        ]

    async def test_a_satisfied_rater_closes_the_loop(self, api: Api) -> None:
        me, app, rating = await bad_rating(api, code=4)
        rid = rating["rectification"]["id"]
        token = await handler(api)
        await step(api, CALLBACK, token, rectificationId=rid, result="已回访")
        await step(api, CLASSIFY, token, rectificationId=rid, category="LEDGER_DEADLINE", text="列入台账")
        await step(api, COMPLETE, token, rectificationId=rid, rectificationText="已整改", feedback="已整改完毕")
        loop = await verdict(api, me.access_token, rid, "BASICALLY_SATISFIED")
        assert (loop["status"], loop["verdict"], loop["escalated"], loop["awaitingVerdict"]) == (
            "CLOSED",
            "BASICALLY_SATISFIED",
            False,
            False,
        )
        assert (await Application.get(id=app.id)).evaluation_status is EvaluationStatus.RECTIFIED

    async def test_no_legal_basis_needs_an_explanation_which_the_rater_judges(self, api: Api) -> None:
        me, _, rating = await bad_rating(api, anonymous=True)
        rid = rating["rectification"]["id"]
        token = await handler(api)
        # without the explanation: refused, nothing changes
        before = await row_state(rid)
        missing = await call(api, CLASSIFY, token, rectificationId=rid, category="NO_LEGAL_BASIS")
        assert (missing["__typename"], missing["path"]) == ("InvalidInputError", ["text"])
        assert await row_state(rid) == before
        # a callback is impossible for an anonymous rating
        callback = await call(api, CALLBACK, token, rectificationId=rid, result="x")
        assert (callback["__typename"], callback["status"]) == ("RectificationStepRefusedError", "VERIFYING")
        explained = await step(
            api, CLASSIFY, token, rectificationId=rid, category="NO_LEGAL_BASIS", text="该材料为法定要求"
        )
        assert (explained["status"], explained["feedback"], explained["awaitingVerdict"]) == (
            "EXPLAINED",
            "该材料为法定要求",
            True,
        )
        # the rater rejects the explanation once: the department reconsiders
        loop = await verdict(api, me.access_token, rid, "UNSATISFIED")
        assert (loop["status"], loop["reopenCount"]) == ("VERIFYING", 1)

    async def test_only_the_rater_gives_the_verdict(self, api: Api) -> None:
        _, _, rating = await bad_rating(api)
        rid = rating["rectification"]["id"]
        token = await handler(api)
        await step(api, CALLBACK, token, rectificationId=rid, result="已回访")
        await step(api, CLASSIFY, token, rectificationId=rid, category="IMMEDIATE")
        await step(api, COMPLETE, token, rectificationId=rid, rectificationText="已整改", feedback="已整改")
        stranger = await api.sign_in()
        before = await row_state(rid)
        result = await call(api, VERDICT, stranger.access_token, rectificationId=rid, verdict="UNSATISFIED")
        assert (result["__typename"], result["code"]) == ("NotFoundError", "RECTIFICATION_NOT_FOUND")
        assert await row_state(rid) == before


class TestRectificationAppeal:
    async def _appealed(self, api: Api) -> tuple[Application, str, str]:
        _, app, rating = await bad_rating(api)
        rid = rating["rectification"]["id"]
        token = await handler(api)
        await step(api, CALLBACK, token, rectificationId=rid, result="回访发现评价人并未办理业务")
        appealed = await step(api, CLASSIFY, token, rectificationId=rid, category="MISJUDGED", text="误评")
        assert (appealed["status"], appealed["appeal"]["reason"], appealed["appeal"]["decision"]) == (
            "APPEALED",
            "误评",
            None,
        )
        assert (await due_notices(rid))[-1] == (3, "SUPERVISOR", "APPEALED")
        return app, rid, token

    async def test_an_upheld_appeal_excludes_the_rating_from_statistics(self, api: Api) -> None:
        app, rid, token = await self._appealed(api)
        # a case handler may not decide it
        refused = await api.gql(DECIDE_APPEAL, {"input": {"rectificationId": rid, "upheld": True}}, token)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        decided = await step(api, DECIDE_APPEAL, await supervisor(api), rectificationId=rid, upheld=True)
        assert (decided["status"], decided["appeal"]["decision"], decided["awaitingVerdict"]) == (
            "CLOSED",
            "UPHELD",
            False,
        )
        evaluation = await Evaluation.get(application_id=app.id)
        assert evaluation.excluded_from_stats is True
        assert (await Application.get(id=app.id)).evaluation_status is EvaluationStatus.RECTIFIED

    async def test_a_rejected_appeal_resumes_the_loop_with_the_deadline_moved_by_its_duration(self, api: Api) -> None:
        app, rid, token = await self._appealed(api)
        due_before = (await Rectification.get(id=rid)).due_at
        filed_at = datetime.fromisoformat((await Rectification.get(id=rid)).appeal["filedAt"])
        api.live.clock.advance(timedelta(minutes=10))
        boss = await supervisor(api)
        # a rejection needs its reason
        missing = await call(api, DECIDE_APPEAL, boss, rectificationId=rid, upheld=False)
        assert (missing["__typename"], missing["path"]) == ("InvalidInputError", ["comment"])
        decided = await step(api, DECIDE_APPEAL, boss, rectificationId=rid, upheld=False, comment="证据不足")
        assert (decided["status"], decided["appeal"]["decision"], decided["allowedSteps"]) == (
            "VERIFYING",
            "REJECTED",
            ["CLASSIFY"],
        )
        row = await Rectification.get(id=rid)
        decided_at = datetime.fromisoformat(row.history[-1]["at"])
        assert row.due_at == due_before + (decided_at - filed_at)
        assert (await Evaluation.get(application_id=app.id)).excluded_from_stats is False
        # one appeal per loop
        again = await call(api, CLASSIFY, token, rectificationId=rid, category="MISJUDGED", text="再申诉")
        assert again["__typename"] == "RectificationStepRefusedError"
        assert (await Rectification.get(id=rid)).status is RectificationStatus.VERIFYING

    async def test_an_appeal_after_the_window_is_refused(self, api: Api) -> None:
        _, _, rating = await bad_rating(api)
        rid = rating["rectification"]["id"]
        token = await handler(api)
        await step(api, CALLBACK, token, rectificationId=rid, result="已回访")
        # assigned three weeks ago: past 5 working days, whatever the holidays
        await Evaluation.filter(id=rating["id"]).update(evaluated_at=api.live.clock.now() - timedelta(days=21))
        before = await row_state(rid)
        result = await call(api, CLASSIFY, token, rectificationId=rid, category="MISJUDGED", text="误评")
        assert (result["__typename"], result["code"]) == ("ConflictError", "APPEAL_WINDOW_CLOSED")
        assert await row_state(rid) == before


class TestRectificationConcurrency:
    async def test_two_handlers_acting_at_once_move_the_loop_once(self, api: Api) -> None:
        _, _, rating = await bad_rating(api)
        rid = rating["rectification"]["id"]
        first, second = await handler(api), await handler(api)
        results = await asyncio.gather(
            call(api, CALLBACK, first, rectificationId=rid, result="甲回访"),
            call(api, CALLBACK, second, rectificationId=rid, result="乙回访"),
        )
        kinds = [r["__typename"] for r in results]
        # the second either lost the race on write (Conflict) or read the moved loop (step refused)
        assert kinds.count("RectificationChanged") == 1
        assert {k for k in kinds if k != "RectificationChanged"} <= {"ConflictError", "RectificationStepRefusedError"}
        row = await Rectification.get(id=rid)
        assert (row.status, len(row.history)) == (RectificationStatus.VERIFYING, 2)


class TestRectificationListCost:
    async def test_a_page_costs_the_same_statements_for_one_or_many_tickets(self, api: Api) -> None:
        token = await handler(api)
        for _ in range(3):
            await bad_rating(api)
        with counting_sql() as one:
            await api.data(RECTIFICATIONS, {"first": 1}, token)
        with counting_sql() as many:
            await api.data(RECTIFICATIONS, {"first": 3}, token)
        assert len(one) == len(many) == 5  # tickets, evaluations, cases, org names, the record of the read
