"""Supervisors list, acknowledge and resolve alerts and record violations; case handlers only read their own."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from api.models import EfficiencyAlert, Organization, OutboxEvent
from api.seed.context import seed_id
from tests.catalog.support import operator_token
from tests.supervision.support import ALERT_TOPIC, case, department, run_scan, today
from tests.support.client import Api

ALERT_FIELDS = """
id level ruleCode ruleTitle status reason raisedAt acknowledgedAt resolvedAt resolution applicationId projectNo
itemName rectificationId responsibleOrgId responsibleOrgName
"""
ALERTS = (
    "query L($level: EfficiencyAlertLevel, $status: EfficiencyAlertStatus, $orgId: ID, $first: Int, $after: String) "
    "{ efficiencyAlerts(level: $level, status: $status, orgId: $orgId, first: $first, after: $after) "
    "{ edges { cursor node { " + ALERT_FIELDS + " } } pageInfo { hasNextPage endCursor } } }"
)
RESULT = (
    "__typename ... on AlertChanged { alert { " + ALERT_FIELDS + " } } "
    "... on IllegalAlertStepError { status } ... on Error { code message path }"
)
ACKNOWLEDGE = "mutation A($input: AcknowledgeAlertInput!) { acknowledgeAlert(input: $input) { " + RESULT + " } }"
RESOLVE = "mutation R($input: ResolveAlertInput!) { resolveAlert(input: $input) { " + RESULT + " } }"
RECORD = (
    "mutation V($input: RecordViolationInput!) { recordViolation(input: $input) { __typename "
    "... on ViolationRecorded { alert { " + ALERT_FIELDS + " } } ... on Error { code message path } } }"
)


async def _supervisor(api: Api) -> str:
    return await operator_token(api, "supervisor.city")


async def _overdue_alerts(api: Api, org: Organization, n: int = 1) -> list[EfficiencyAlert]:
    day, _ = await today(api.live)
    cases = [await case(org, promise_date=day - timedelta(days=1)) for _ in range(n)]
    await run_scan(api.live)
    return [await EfficiencyAlert.get(application_id=c.id) for c in cases]


async def _state(alert_id: uuid.UUID) -> tuple[Any, ...]:
    row = await EfficiencyAlert.get(id=alert_id)
    return (row.acknowledged_at, row.acknowledged_by, row.resolved_at, row.resolved_by, row.resolution)


class TestEfficiencyAlerts:
    async def test_a_supervisor_lists_a_department_newest_first_in_pages(self, api: Api) -> None:
        # given three RED alerts of one department
        org = await department()
        raised = await _overdue_alerts(api, org, 3)
        token = await _supervisor(api)
        # when the first page of two is read, then the rest
        first = (await api.data(ALERTS, {"orgId": str(org.id), "first": 2}, token))["efficiencyAlerts"]
        rest = (
            await api.data(ALERTS, {"orgId": str(org.id), "first": 2, "after": first["pageInfo"]["endCursor"]}, token)
        )["efficiencyAlerts"]
        # then every alert once, newest first (same moment: by id, descending)
        ids = [e["node"]["id"] for e in first["edges"] + rest["edges"]]
        assert ids == sorted((str(a.id) for a in raised), reverse=True)
        assert (first["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasNextPage"]) == (True, False)
        node = first["edges"][0]["node"]
        alert = next(a for a in raised if str(a.id) == node["id"])
        assert {k: node[k] for k in ("level", "ruleCode", "ruleTitle", "status", "reason", "responsibleOrgName")} == {
            "level": "RED",
            "ruleCode": "PROMISE_OVERDUE",
            "ruleTitle": "超过承诺办结时间未办结",
            "status": "OPEN",
            "reason": alert.reason,
            "responsibleOrgName": org.name,
        }
        assert node["applicationId"] == str(alert.application_id)
        assert node["projectNo"] is not None and node["projectNo"] in alert.reason

    async def test_filters_by_level_and_status(self, api: Api) -> None:
        # given a RED alert (acknowledged) and a RED alert (open) of one department
        org = await department()
        acked, open_ = await _overdue_alerts(api, org, 2)
        token = await _supervisor(api)
        assert (await api.data(ACKNOWLEDGE, {"input": {"alertId": str(acked.id)}}, token))["acknowledgeAlert"][
            "__typename"
        ] == "AlertChanged"

        # when
        async def ids(**variables: Any) -> list[str]:
            data = await api.data(ALERTS, {"orgId": str(org.id), **variables}, token)
            return [e["node"]["id"] for e in data["efficiencyAlerts"]["edges"]]

        # then
        assert await ids(status="OPEN") == [str(open_.id)]
        assert await ids(status="ACKNOWLEDGED") == [str(acked.id)]
        assert await ids(status="RESOLVED") == []
        assert await ids(level="YELLOW") == []
        assert sorted(await ids(level="RED")) == sorted([str(acked.id), str(open_.id)])

    async def test_a_case_handler_reads_its_own_department_only(self, api: Api) -> None:
        # given an alert in the 市场监管局 and one in a test department
        scjg = await Organization.get(id=seed_id("organization", "scjg"))
        (own,) = await _overdue_alerts(api, scjg)
        await _overdue_alerts(api, await department())
        token = await operator_token(api, "handler.scjg")
        # when the handler lists without and with its own org
        data = await api.data(ALERTS, {"first": 50}, token)
        mine = await api.data(ALERTS, {"orgId": str(scjg.id), "first": 50}, token)
        # then only its department's alerts
        orgs = {e["node"]["responsibleOrgId"] for e in data["efficiencyAlerts"]["edges"]}
        assert orgs == {str(scjg.id)}
        assert str(own.id) in {e["node"]["id"] for e in mine["efficiencyAlerts"]["edges"]}

    async def test_a_case_handler_asking_for_another_department_is_refused(self, api: Api) -> None:
        org = await department()
        token = await operator_token(api, "handler.scjg")
        body = await api.gql(ALERTS, {"orgId": str(org.id)}, token)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    async def test_residents_and_anonymous_callers_are_refused(self, api: Api) -> None:
        resident = (await api.sign_in("19900000001")).access_token
        assert (await api.gql(ALERTS, {}, resident))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert (await api.gql(ALERTS, {}))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


class TestAcknowledgeAlert:
    async def test_an_open_alert_is_acknowledged_once(self, api: Api) -> None:
        # given an open alert
        org = await department()
        (alert,) = await _overdue_alerts(api, org)
        token = await _supervisor(api)
        # when acknowledged
        result = (await api.data(ACKNOWLEDGE, {"input": {"alertId": str(alert.id)}}, token))["acknowledgeAlert"]
        # then
        assert result["__typename"] == "AlertChanged"
        assert (result["alert"]["status"], result["alert"]["resolvedAt"]) == ("ACKNOWLEDGED", None)
        after = await _state(alert.id)
        assert after[0] is not None and after[2] is None
        # when acknowledged again: a typed error, nothing changes
        again = (await api.data(ACKNOWLEDGE, {"input": {"alertId": str(alert.id)}}, token))["acknowledgeAlert"]
        assert (again["__typename"], again["code"], again["status"], again["path"]) == (
            "IllegalAlertStepError",
            "ALERT_ALREADY_ACKNOWLEDGED",
            "ACKNOWLEDGED",
            ["alertId"],
        )
        assert await _state(alert.id) == after

    async def test_a_resolved_alert_cannot_be_acknowledged(self, api: Api) -> None:
        org = await department()
        (alert,) = await _overdue_alerts(api, org)
        token = await _supervisor(api)
        await api.data(RESOLVE, {"input": {"alertId": str(alert.id), "resolution": "已督促办结"}}, token)
        before = await _state(alert.id)
        # when
        result = (await api.data(ACKNOWLEDGE, {"input": {"alertId": str(alert.id)}}, token))["acknowledgeAlert"]
        # then
        assert (result["__typename"], result["code"], result["status"]) == (
            "IllegalAlertStepError",
            "ALERT_RESOLVED",
            "RESOLVED",
        )
        assert await _state(alert.id) == before

    async def test_unknown_and_malformed_ids(self, api: Api) -> None:
        token = await _supervisor(api)
        missing = (await api.data(ACKNOWLEDGE, {"input": {"alertId": str(uuid.uuid4())}}, token))["acknowledgeAlert"]
        garbage = (await api.data(ACKNOWLEDGE, {"input": {"alertId": "nope"}}, token))["acknowledgeAlert"]
        assert (missing["__typename"], missing["code"]) == ("NotFoundError", "ALERT_NOT_FOUND")
        assert (garbage["__typename"], garbage["code"], garbage["path"]) == (
            "InvalidInputError",
            "INVALID_ID",
            ["alertId"],
        )

    async def test_a_case_handler_may_not_acknowledge(self, api: Api) -> None:
        # given an alert of the handler's own department
        scjg = await Organization.get(id=seed_id("organization", "scjg"))
        (alert,) = await _overdue_alerts(api, scjg)
        before = await _state(alert.id)
        token = await operator_token(api, "handler.scjg")
        # when
        body = await api.gql(ACKNOWLEDGE, {"input": {"alertId": str(alert.id)}}, token)
        # then refused, unchanged
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert await _state(alert.id) == before


class TestResolveAlert:
    async def test_resolves_once_with_the_resolution(self, api: Api) -> None:
        # given an open alert
        org = await department()
        (alert,) = await _overdue_alerts(api, org)
        token = await _supervisor(api)
        # when resolved straight away
        result = (
            await api.data(RESOLVE, {"input": {"alertId": str(alert.id), "resolution": "  已约谈责任人  "}}, token)
        )["resolveAlert"]
        # then it is acknowledged and resolved at once
        assert result["__typename"] == "AlertChanged"
        node = result["alert"]
        assert (node["status"], node["resolution"]) == ("RESOLVED", "已约谈责任人")
        assert node["acknowledgedAt"] == node["resolvedAt"]
        after = await _state(alert.id)
        # when resolved twice: a typed error, nothing changes
        again = (await api.data(RESOLVE, {"input": {"alertId": str(alert.id), "resolution": "再次"}}, token))[
            "resolveAlert"
        ]
        assert (again["__typename"], again["code"], again["status"]) == (
            "IllegalAlertStepError",
            "ALERT_RESOLVED",
            "RESOLVED",
        )
        assert await _state(alert.id) == after

    async def test_an_empty_resolution_is_refused(self, api: Api) -> None:
        org = await department()
        (alert,) = await _overdue_alerts(api, org)
        token = await _supervisor(api)
        before = await _state(alert.id)
        result = (await api.data(RESOLVE, {"input": {"alertId": str(alert.id), "resolution": "  "}}, token))[
            "resolveAlert"
        ]
        assert (result["__typename"], result["code"], result["path"]) == (
            "InvalidInputError",
            "RESOLUTION_REQUIRED",
            ["resolution"],
        )
        assert await _state(alert.id) == before


class TestRecordViolation:
    async def test_records_a_red_alert_once_with_its_outbox_row(self, api: Api) -> None:
        # given a case of a test department
        org = await department()
        app = await case(org)
        token = await _supervisor(api)
        variables = {"input": {"applicationId": str(app.id), "rule": "ILLEGAL_FEES", "reason": "收取了无依据的工本费"}}
        # when
        result = (await api.data(RECORD, variables, token))["recordViolation"]
        # then
        assert result["__typename"] == "ViolationRecorded"
        node = result["alert"]
        assert {k: node[k] for k in ("level", "ruleCode", "status", "reason", "responsibleOrgId", "projectNo")} == {
            "level": "RED",
            "ruleCode": "VIOLATION_ILLEGAL_FEES",
            "status": "OPEN",
            "reason": "违规收费：收取了无依据的工本费",
            "responsibleOrgId": str(org.id),
            "projectNo": app.project_no,
        }
        event = await OutboxEvent.get(topic=ALERT_TOPIC, key=node["id"])
        assert event.payload["level"] == "RED"
        # when recorded again: a conflict, nothing new
        again = (await api.data(RECORD, variables, token))["recordViolation"]
        assert (again["__typename"], again["code"]) == ("ConflictError", "VIOLATION_ALREADY_RECORDED")
        assert await EfficiencyAlert.filter(application_id=app.id).count() == 1
        assert await OutboxEvent.filter(topic=ALERT_TOPIC, key=node["id"]).count() == 1

    async def test_bad_input_changes_nothing(self, api: Api) -> None:
        org = await department()
        app = await case(org)
        token = await _supervisor(api)
        cases = [
            ({"applicationId": str(app.id), "rule": "NOT_ONLINE", "reason": " "}, "InvalidInputError", ["reason"]),
            ({"applicationId": str(uuid.uuid4()), "rule": "NOT_ONLINE", "reason": "x"}, "NotFoundError", None),
            ({"applicationId": "x", "rule": "NOT_ONLINE", "reason": "x"}, "InvalidInputError", ["applicationId"]),
        ]
        for given, typename, path in cases:
            result = (await api.data(RECORD, {"input": given}, token))["recordViolation"]
            assert result["__typename"] == typename
            if path:
                assert result["path"] == path
        assert await EfficiencyAlert.filter(application_id=app.id).count() == 0

    async def test_another_role_is_refused(self, api: Api) -> None:
        org = await department()
        app = await case(org)
        token = await operator_token(api, "catalog.admin")
        variables = {"input": {"applicationId": str(app.id), "rule": "NOT_ONLINE", "reason": "应网办未网办"}}
        body = await api.gql(RECORD, variables, token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert await EfficiencyAlert.filter(application_id=app.id).count() == 0
