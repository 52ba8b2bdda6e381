"""rateService and ratingForm over HTTP: who may rate which moment when, and what a rating (or a 差评) stores."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from api.kit.clock import shanghai_date
from api.models import (
    ApplicationStatus,
    Evaluation,
    EvaluationStatus,
    EventType,
    OutboxEvent,
    Rectification,
    RectificationStatus,
)
from api.ratings.common import end_of_day
from api.seed.context import seed_id
from api.workdays import store as workdays
from tests.ratings.support import (
    MY_RATINGS,
    RATE,
    bad_input,
    call,
    case,
    org_id,
    rated,
    rating_input,
    snapshot,
)
from tests.support.client import Api

FORM = """
query F($kind: RatingFormKind!) {
  ratingForm(kind: $kind) { version kind levels { code stars label } indicators { code label } badReasons { code label }
  textMaxChars }
}
"""


class TestRatingForm:
    async def test_online_form_lists_the_four_indicators_and_the_reason_list_without_signing_in(self, api: Api) -> None:
        form = (await api.data(FORM, {"kind": "ONLINE"}))["ratingForm"]
        assert form["version"] == "2026.1"
        assert [i["label"] for i in form["indicators"]] == ["办事效率", "办事指南精确度", "办事便捷度", "平台操作性"]
        assert [(lv["code"], lv["stars"], lv["label"]) for lv in form["levels"]] == [
            (1, 5, "非常满意"),
            (2, 4, "满意"),
            (3, 3, "基本满意"),
            (4, 2, "不满意"),
            (5, 1, "非常不满意"),
        ]
        assert [r["label"] for r in form["badReasons"]] == [
            "办事效率低",
            "指南信息不准确",
            "多次跑动",
            "材料要求过多",
            "服务态度差",
            "系统操作不便",
            "其他",
        ]
        assert form["textMaxChars"] == 500

    async def test_offline_form_has_the_window_indicators(self, api: Api) -> None:
        form = (await api.data(FORM, {"kind": "OFFLINE"}))["ratingForm"]
        assert [i["label"] for i in form["indicators"]] == ["服务效率", "服务水平", "服务态度"]


class TestRateService:
    async def test_good_rating_of_a_completed_case_is_stored_once_with_its_scores(self, api: Api) -> None:
        # given a completed case of the signed-in resident
        me = await api.sign_in()
        app = await case(me.person_id, now=api.live.clock.now())
        scores = [{"indicator": "EFFICIENCY", "code": 1}, {"indicator": "CONVENIENCE", "code": 2}]
        # when they rate 办结 as 满意
        rating = await rated(api, me.access_token, rating_input(app, code=2, indicatorScores=scores, text=" 很快 "))
        # then one evaluation row, the case RATED, no loop and no 差评 notice
        assert (rating["moment"], rating["satisfactionCode"], rating["stars"], rating["isBad"]) == (
            "COMPLETE",
            2,
            4,
            False,
        )
        assert rating["indicatorScores"] == [
            {"indicator": "EFFICIENCY", "label": "办事效率", "code": 1, "stars": 5},
            {"indicator": "CONVENIENCE", "label": "办事便捷度", "code": 2, "stars": 4},
        ]
        assert (rating["text"], rating["anonymous"], rating["rectification"]) == ("很快", False, None)
        assert rating["targetOrgName"] == "白沙县医疗保障局"
        row = await Evaluation.get(application_id=app.id)
        assert (row.rater_person_id, row.real_name, row.target_org_id) == (uuid.UUID(me.person_id), True, org_id())
        assert (row.service_item_id, row.form_version, row.channel) == (app.service_item_id, "2026.1", "APP")
        state = await snapshot(app.id)
        assert (state["evaluation_status"], state["loops"], state["outbox"]) == (EvaluationStatus.RATED, [], 0)

    async def test_rating_a_moment_twice_is_a_conflict_and_the_first_rating_wins(self, api: Api) -> None:
        me = await api.sign_in()
        app = await case(me.person_id, now=api.live.clock.now())
        await rated(api, me.access_token, rating_input(app, code=1))
        before = await snapshot(app.id)
        # when rated again, even as a 差评
        result = await call(api, RATE, me.access_token, **bad_input(app))
        # then a typed conflict, and still the one first rating
        assert (result["__typename"], result["code"], result["path"]) == ("ConflictError", "ALREADY_RATED", ["moment"])
        assert await snapshot(app.id) == before
        assert [e.satisfaction_code for e in await Evaluation.filter(application_id=app.id)] == [1]

    async def test_other_moments_are_rated_separately(self, api: Api) -> None:
        me = await api.sign_in()
        app = await case(me.person_id, now=api.live.clock.now(), events=(EventType.DELIVERY_RECEIVED,))
        await rated(api, me.access_token, rating_input(app, "APPLY", 2))
        await rated(api, me.access_token, rating_input(app, "SIGN", 3))
        await rated(api, me.access_token, rating_input(app, "COMPLETE", 1))
        moments = sorted(e.service_moment.value for e in await Evaluation.filter(application_id=app.id))
        assert moments == ["APPLY", "COMPLETE", "SIGN"]

    async def test_completion_cannot_be_rated_before_the_case_is_completed(self, api: Api) -> None:
        # given a case still in progress
        me = await api.sign_in()
        app = await case(me.person_id, now=api.live.clock.now(), status=ApplicationStatus.IN_PROGRESS)
        before = await snapshot(app.id)
        # when its completion is rated
        result = await call(api, RATE, me.access_token, **rating_input(app))
        # then refused, nothing stored; 申报 is ratable already
        assert (result["__typename"], result["code"]) == ("ConflictError", "MOMENT_NOT_REACHED")
        assert await snapshot(app.id) == before
        await rated(api, me.access_token, rating_input(app, "APPLY"))

    async def test_a_moment_that_did_not_happen_cannot_be_rated(self, api: Api) -> None:
        me = await api.sign_in()
        app = await case(me.person_id, now=api.live.clock.now())
        for moment in ("PAY", "SUPPLEMENT", "SIGN"):
            result = await call(api, RATE, me.access_token, **rating_input(app, moment))
            assert (result["__typename"], result["code"]) == ("ConflictError", "MOMENT_NOT_REACHED"), moment
        assert await Evaluation.filter(application_id=app.id).count() == 0

    async def test_someone_else_cannot_rate_the_case(self, api: Api) -> None:
        # given a case of one resident
        owner = await api.sign_in()
        stranger = await api.sign_in()
        app = await case(owner.person_id, now=api.live.clock.now())
        before = await snapshot(app.id)
        # when another resident rates it
        result = await call(api, RATE, stranger.access_token, **bad_input(app))
        # then it is as if the case did not exist, and nothing is stored
        assert (result["__typename"], result["code"], result["path"]) == (
            "NotFoundError",
            "APPLICATION_NOT_FOUND",
            ["applicationId"],
        )
        assert await snapshot(app.id) == before

    async def test_the_agent_who_submitted_may_rate(self, api: Api) -> None:
        principal = await api.sign_in()
        agent = await api.sign_in()
        app = await case(principal.person_id, now=api.live.clock.now(), agent_person_id=agent.person_id)
        rating = await rated(api, agent.access_token, rating_input(app, code=2))
        assert (await Evaluation.get(id=rating["id"])).rater_person_id == uuid.UUID(agent.person_id)

    async def test_an_operator_cannot_rate(self, api: Api) -> None:
        from tests.ratings.support import handler

        token = await handler(api)
        me = await api.sign_in()
        app = await case(me.person_id, now=api.live.clock.now())
        body = await api.gql(RATE, {"input": rating_input(app)}, token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert await Evaluation.filter(application_id=app.id).count() == 0

    async def test_rating_after_the_window_is_refused(self, api: Api) -> None:
        # given a case completed 31 days ago (the window is 30 days)
        me = await api.sign_in()
        app = await case(me.person_id, now=api.live.clock.now(), completed_ago=timedelta(days=31))
        before = await snapshot(app.id)
        result = await call(api, RATE, me.access_token, **rating_input(app))
        assert (result["__typename"], result["code"]) == ("ConflictError", "RATING_WINDOW_CLOSED")
        assert await snapshot(app.id) == before

    async def test_rating_on_the_last_day_of_the_window_is_accepted(self, api: Api) -> None:
        me = await api.sign_in()
        app = await case(me.person_id, now=api.live.clock.now(), completed_ago=timedelta(days=29, hours=23))
        await rated(api, me.access_token, rating_input(app))

    async def test_a_bad_rating_without_a_reason_is_refused(self, api: Api) -> None:
        me = await api.sign_in()
        app = await case(me.person_id, now=api.live.clock.now())
        before = await snapshot(app.id)
        result = await call(api, RATE, me.access_token, **rating_input(app, code=4, text="不好"))
        assert (result["__typename"], result["code"], result["path"]) == (
            "InvalidInputError",
            "REASON_REQUIRED",
            ["reasons"],
        )
        assert await snapshot(app.id) == before

    async def test_malformed_ratings_are_refused_with_the_field_path(self, api: Api) -> None:
        me = await api.sign_in()
        app = await case(me.person_id, now=api.live.clock.now())
        before = await snapshot(app.id)
        cases = [
            (rating_input(app, code=0), ["satisfactionCode"]),
            (rating_input(app, code=6), ["satisfactionCode"]),
            (bad_input(app, reasons=["LOW_EFFICIENCY", "NOT_A_REASON"]), ["reasons", "1"]),
            (rating_input(app, code=1, reasons=["LOW_EFFICIENCY"]), ["reasons"]),
            (rating_input(app, indicatorScores=[{"indicator": "SERVICE_ATTITUDE", "code": 1}]), None),
            (rating_input(app, indicatorScores=[{"indicator": "EFFICIENCY", "code": 9}]), None),
            (rating_input(app, text="长" * 501), ["text"]),
            ({**rating_input(app), "applicationId": "not-an-id"}, ["applicationId"]),
        ]
        for data, path in cases:
            result = await call(api, RATE, me.access_token, **data)
            assert result["__typename"] == "InvalidInputError", (data, result)
            if path is not None:
                assert result["path"] == path
        assert await snapshot(app.id) == before

    async def test_a_bad_rating_opens_a_rectification_for_the_accepting_org(self, api: Api) -> None:
        # given a completed case
        me = await api.sign_in()
        now = api.live.clock.now()
        app = await case(me.person_id, now=now)
        # when rated 非常不满意 by real name
        rating = await rated(api, me.access_token, bad_input(app))
        # then a PENDING_CALLBACK loop assigned to the org, with working-day deadlines
        loop = rating["rectification"]
        assert (loop["status"], loop["calledBack"], loop["awaitingVerdict"]) == ("PENDING_CALLBACK", False, False)
        row = await Rectification.get(id=loop["id"])
        assert row.assigned_org_id == org_id()
        rated_at = (await Evaluation.get(id=rating["id"])).evaluated_at
        calendar = await workdays.calendar_for(shanghai_date(rated_at), "990122")
        assert row.due_at == end_of_day(calendar.add_working_days(shanghai_date(rated_at), 5))
        assert row.callback_due_at == end_of_day(calendar.add_working_days(shanghai_date(rated_at), 2))
        assert [(h["action"], h["to"]) for h in row.history] == [("OPENED", "PENDING_CALLBACK")]
        # and the case is RECTIFYING, with the 差评 notice and the org's due notice in the outbox
        state = await snapshot(app.id)
        assert state["evaluation_status"] is EvaluationStatus.RECTIFYING
        bad = await OutboxEvent.get(topic="ratings.bad_rating", key=rating["id"])
        assert (bad.payload["satisfactionCode"], bad.payload["reasons"]) == (5, ["LOW_EFFICIENCY", "MULTIPLE_TRIPS"])
        assert bad.payload["rectificationId"] == loop["id"]
        due = await OutboxEvent.get(topic="ratings.rectification_due", key=loop["id"])
        assert (due.state_version, due.payload["recipient"], due.payload["status"]) == (1, "ORG", "PENDING_CALLBACK")

    async def test_an_anonymous_bad_rating_skips_the_callback(self, api: Api) -> None:
        me = await api.sign_in()
        app = await case(me.person_id, now=api.live.clock.now())
        rating = await rated(api, me.access_token, bad_input(app, code=4, anonymous=True))
        row = await Rectification.get(id=rating["rectification"]["id"])
        assert (row.status, row.callback_due_at) == (RectificationStatus.VERIFYING, None)
        assert rating["anonymous"] is True
        evaluation = await Evaluation.get(id=rating["id"])
        assert evaluation.real_name is False

    async def test_my_ratings_lists_the_raters_own_ratings_newest_first(self, api: Api) -> None:
        me = await api.sign_in()
        other = await api.sign_in()
        now = api.live.clock.now()
        first = await case(me.person_id, now=now)
        second = await case(me.person_id, now=now)
        theirs = await case(other.person_id, now=now)
        await rated(api, me.access_token, rating_input(first))
        api.live.clock.advance(timedelta(seconds=1))
        await rated(api, me.access_token, bad_input(second))
        await rated(api, other.access_token, rating_input(theirs))
        page = (await api.data(MY_RATINGS, {"first": 1}, me.access_token))["myRatings"]
        assert [e["node"]["applicationId"] for e in page["edges"]] == [str(second.id)]
        assert page["pageInfo"]["hasNextPage"] is True
        rest = (await api.data(MY_RATINGS, {"first": 5, "after": page["pageInfo"]["endCursor"]}, me.access_token))[
            "myRatings"
        ]
        assert [e["node"]["applicationId"] for e in rest["edges"]] == [str(first.id)]
        assert rest["pageInfo"]["hasNextPage"] is False
        one = (await api.data(MY_RATINGS, {"app": str(first.id), "first": 5}, me.access_token))["myRatings"]
        assert [e["node"]["moment"] for e in one["edges"]] == ["COMPLETE"]


class TestRateServiceForEnterprises:
    async def test_the_legal_representative_rates_the_enterprises_case_and_a_stranger_cannot(self, api: Api) -> None:
        # given a case of 食品 enterprise submitted by its 经办人 (resident 11); its legal representative is resident 9
        shipin = seed_id("enterprise", "shipin")
        now = api.live.clock.now()
        app = await case(str(seed_id("person", 11)), now=now, enterprise_id=shipin)
        stranger = await api.sign_in()
        refused = await call(api, RATE, stranger.access_token, **rating_input(app))
        assert (refused["__typename"], refused["code"]) == ("NotFoundError", "APPLICATION_NOT_FOUND")
        assert await Evaluation.filter(application_id=app.id).count() == 0
        rep = await api.sign_in("19900000009")
        rating = await rated(api, rep.access_token, rating_input(app, code=2))
        assert (await Evaluation.get(id=rating["id"])).rater_person_id == seed_id("person", 9)


class TestRateServiceConcurrently:
    async def test_two_ratings_of_one_moment_at_once_store_one(self, api: Api) -> None:
        me = await api.sign_in()
        app = await case(me.person_id, now=api.live.clock.now())
        results = await asyncio.gather(
            call(api, RATE, me.access_token, **rating_input(app, code=1)),
            call(api, RATE, me.access_token, **bad_input(app)),
        )
        kinds = sorted(r["__typename"] for r in results)
        assert kinds == ["ConflictError", "ServiceRated"]
        assert await Evaluation.filter(application_id=app.id).count() == 1
        stored = await Evaluation.get(application_id=app.id)
        loops = await Rectification.filter(evaluation_id=stored.id).count()
        assert loops == (1 if stored.satisfaction_code == 5 else 0)
