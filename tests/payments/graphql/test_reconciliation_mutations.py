"""runReconciliation and resolveReconciliationDiff over HTTP: finance runs a past day's bill now, reads what
differs and closes a difference by hand; everyone else is refused and nothing runs."""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from typing import Any

from api.kit.clock import SHANGHAI, shanghai_date
from api.models.payment import ReconciliationDiff, ReconciliationRun
from payments.channels.base import BillLine
from tests.payments.graphql.support import DIFFS, finance, harness, payer
from tests.support.client import Api

RUN = """
mutation Run($input: RunReconciliationInput!) {
  runReconciliation(input: $input) {
    __typename
    ... on ReconciliationRun { id channel billDate status counts }
    ... on Error { code path }
  }
}
"""
RESOLVE = """
mutation Resolve($input: ResolveReconciliationDiffInput!) {
  resolveReconciliationDiff(input: $input) {
    __typename
    ... on ReconciliationDiff { id resolution resolvedBy }
    ... on Error { code path }
  }
}
"""


async def _run(api: Api, token: str, channel: str, bill_date: str) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(RUN, {"input": {"channel": channel, "billDate": bill_date}}, token))[
        "runReconciliation"
    ]
    return result


class TestRunReconciliation:
    async def test_finance_reconciles_a_past_day_and_resolves_what_needed_a_person(self, api: Api) -> None:
        # given: the Alipay bill of a past day names a trade we never had
        token = await finance(api)
        day = shanghai_date(api.live.clock.now()) - timedelta(days=61)
        stranger = f"PX{secrets.token_hex(8)}"
        at = datetime.combine(day, time(10, 30), SHANGHAI)
        harness(api).alipay.set_bill(day, [BillLine("pay", stranger, "2026" + secrets.token_hex(8), 100, at)])

        # when
        run = await _run(api, token, "ALIPAY", day.isoformat())

        # then
        assert (run["__typename"], run["status"], run["billDate"]) == ("ReconciliationRun", "DONE", day.isoformat())
        diffs = (await api.data(DIFFS, {"runId": run["id"]}, token))["reconciliationDiffs"]["edges"]
        assert [(d["node"]["kind"], d["node"]["outTradeNo"], d["node"]["resolution"]) for d in diffs] == [
            ("LOCAL_MISSING", stranger, "MANUAL")
        ]
        assert diffs[0]["node"]["critical"] is True

        # when: the same day again, then the difference closed by hand, twice
        again = await _run(api, token, "ALIPAY", day.isoformat())
        diff_id = diffs[0]["node"]["id"]
        resolved = (await api.data(RESOLVE, {"input": {"diffId": diff_id}}, token))["resolveReconciliationDiff"]
        twice = (await api.data(RESOLVE, {"input": {"diffId": diff_id}}, token))["resolveReconciliationDiff"]

        # then
        assert again["id"] == run["id"]
        assert await ReconciliationDiff.filter(run_id=run["id"]).count() == 1
        assert (resolved["__typename"], resolved["resolution"]) == ("ReconciliationDiff", "RESOLVED")
        assert resolved["resolvedBy"]
        assert (twice["__typename"], twice["code"]) == ("ConflictError", "DIFF_SETTLED")

    async def test_today_and_days_past_the_channels_keeping_are_refused_and_nothing_runs(self, api: Api) -> None:
        token = await finance(api)
        today = shanghai_date(api.live.clock.now())
        before = await ReconciliationRun.all().count()
        for day, code in ((today, "BILL_NOT_YET"), (today - timedelta(days=91), "BILL_TOO_OLD")):
            result = await _run(api, token, "WECHAT", day.isoformat())
            assert (result["__typename"], result["code"], result["path"]) == ("InvalidInputError", code, ["billDate"])
        assert await ReconciliationRun.all().count() == before

    async def test_a_resident_may_neither_run_nor_resolve(self, api: Api) -> None:
        session, _ = await payer(api)
        day = (shanghai_date(api.live.clock.now()) - timedelta(days=62)).isoformat()
        before = await ReconciliationRun.all().count()
        run = await api.gql(RUN, {"input": {"channel": "ALIPAY", "billDate": day}}, session.access_token)
        resolve = await api.gql(RESOLVE, {"input": {"diffId": "x"}}, session.access_token)
        assert run["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert resolve["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert await ReconciliationRun.all().count() == before

    async def test_an_unknown_difference_is_not_found(self, api: Api) -> None:
        token = await finance(api)
        for diff_id in ("not-a-uuid", "00000000-0000-4000-8000-000000000000"):
            result = (await api.data(RESOLVE, {"input": {"diffId": diff_id}}, token))["resolveReconciliationDiff"]
            assert (result["__typename"], result["code"]) == ("NotFoundError", "DIFF_NOT_FOUND")
