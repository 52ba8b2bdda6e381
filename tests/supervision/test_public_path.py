"""The deadline scan on a case submitted, accepted and paused through the public API, as time passes."""

from __future__ import annotations

from datetime import date, timedelta

from api.kit.clock import shanghai_date
from api.models import Application, EfficiencyAlert
from tests.applications import handling_support as handling
from tests.applications import support
from tests.catalog.support import operator_token
from tests.supervision.support import run_scan
from tests.supervision.test_alerts import ALERTS
from tests.support.client import Api

DEPT = support.DEPARTMENT_OF[support.PROMISED_ITEM]


async def _rules(application_id: str) -> list[tuple[str, str]]:
    rows = await EfficiencyAlert.filter(application_id=application_id).values_list("rule_code", "level")
    return sorted((str(rule), str(level)) for rule, level in rows)


async def _timer(application_id: str) -> str:
    return str((await Application.get(id=application_id)).timer_state.value)


def _advance_to(api: Api, day: date) -> None:
    while shanghai_date(api.live.clock.now()) < day:
        api.live.clock.advance(timedelta(days=1))


class TestScanOnAHandledCase:
    async def test_normal_paused_near_due_then_red_each_alert_once(self, api: Api) -> None:
        # given a 承诺件 submitted by a resident and accepted by its department's handler
        resident = await handling.resident_token(api)
        handler = await support.handler_token(api, DEPT)
        case = await handling.accepted_case(api, resident, handler)
        cid = case["id"]
        promise = date.fromisoformat(case["promiseDate"])
        # when scanned on the acceptance day: on track
        await run_scan(api.live)
        assert (await _timer(cid), await _rules(cid)) == ("NORMAL", [])
        # when a special procedure pauses the clock: PAUSED, nothing raised
        await handling.done(
            api,
            handler,
            "startSpecialProcedure",
            applicationId=cid,
            kind="2",
            subtype="EXPERT_REVIEW",
            reasonBasis="组织专家评审",
            plannedDays=1,
        )
        await run_scan(api.live)
        assert (await _timer(cid), await _rules(cid)) == ("PAUSED", [])
        # and ends the same day (no working day paused, the promise stays)
        resumed = await handling.done(api, handler, "endSpecialProcedure", applicationId=cid, result="评审通过")
        assert resumed["promiseDate"] == case["promiseDate"]
        await run_scan(api.live)
        assert await _timer(cid) == "NORMAL"
        # when the promise day comes (the first step, due earlier, has overrun too)
        step_due = (await Application.get(id=cid)).step_due_date
        assert step_due is not None and step_due < promise
        _advance_to(api, promise)
        await run_scan(api.live)
        await run_scan(api.live)
        # then 提示 and 黄牌, once each; the timer shows the higher
        assert await _rules(cid) == [("PROMISE_NEAR_DUE", "NOTICE"), ("STEP_OVERDUE", "YELLOW")]
        assert await _timer(cid) == "YELLOW"
        # when the promise has passed
        api.live.clock.advance(timedelta(days=1))
        await run_scan(api.live)
        await run_scan(api.live)
        # then one 红牌 more, and the case shows RED
        assert await _rules(cid) == [
            ("PROMISE_NEAR_DUE", "NOTICE"),
            ("PROMISE_OVERDUE", "RED"),
            ("STEP_OVERDUE", "YELLOW"),
        ]
        assert await _timer(cid) == "RED"
        # and the supervisor finds the 红牌 by its 办件编号
        supervisor = await operator_token(api, "supervisor.city")
        mine, after = [], None
        for _ in range(50):  # other tests' cases went overdue in the same scan: read every page
            variables = {"level": "RED", "status": "OPEN", "first": 50, "after": after}
            page = (await api.data(ALERTS, variables, supervisor))["efficiencyAlerts"]
            mine += [e["node"] for e in page["edges"] if e["node"]["applicationId"] == cid]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert [(n["ruleCode"], n["projectNo"]) for n in mine] == [("PROMISE_OVERDUE", case["projectNo"])]
