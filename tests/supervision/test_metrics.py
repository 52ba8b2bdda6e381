"""serviceMetrics: 三率一数 and the A4 indicators with exact figures on a test-owned department and period."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from api.kit.clock import SHANGHAI
from api.models import (
    Application,
    ApplicationChannel,
    ApplicationStatus,
    CatalogItem,
    DeliveryMethod,
    ItemStatus,
    Organization,
    ServiceItem,
)
from api.seed.context import seed_id
from tests.catalog.support import operator_token
from tests.supervision.support import case, department
from tests.support.client import Api

RATIO = "numerator denominator percent"
METRICS = (
    "query M($input: ServiceMetricsInput!) { serviceMetrics(input: $input) { __typename "
    "... on ServiceMetrics { orgId itemId from to "
    f"fullOnlineItems {{ {RATIO} }} onlineApplications {{ {RATIO} }} onlineCompletions {{ {RATIO} }} "
    f"meanItemVisits meanCaseVisits zeroVisitCases {{ {RATIO} }} timeReductionPercent timeReductionItems "
    f"instantItems {{ {RATIO} }} onlineItemsMaxOneVisit {{ {RATIO} }} onlineItemsZeroVisit {{ {RATIO} }} "
    f"targets {{ name targetPercent met actual {{ {RATIO} }} }} }} "
    "... on Error { code message path } } }"
)
PERIOD = {"from": "2025-03-01", "to": "2025-03-31"}


def _limit(value: int | None, unit: str = "WORKING_DAY") -> dict[str, Any]:
    return {} if value is None else {"value": value, "unit": unit, "note": ""}


async def _item(
    org: Organization,
    *,
    legal: dict[str, Any],
    promise: dict[str, Any],
    depth: int,
    scenes: int,
    project_type: str = "2",
    status: ItemStatus = ItemStatus.PUBLISHED,
) -> ServiceItem:
    n = uuid.uuid4().hex[:10]
    catalog = await CatalogItem.create(id=uuid.uuid4(), catalog_code=f"T{n}", name=f"目录{n}", task_type="01")
    return await ServiceItem.create(
        id=uuid.uuid4(),
        task_code=f"{org.uscc}3T{n}",
        catalog_item=catalog,
        dept_id=org.id,
        use_level=3,
        name=f"测试事项{n}",
        task_type="01",
        legal_limit=legal,
        promise_limit=promise,
        project_type=project_type,
        online_depth_level=depth,
        limit_scene_num=scenes,
        region_code=org.region_code,
        status=status,
        is_synthetic=True,
    )


def _sh(y: int, m: int, d: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


async def _scope() -> tuple[Organization, list[ServiceItem]]:
    """Five published items and a draft; seven cases around March 2025 (Asia/Shanghai)."""
    org = await department()
    a = await _item(org, legal=_limit(20), promise=_limit(10), depth=4, scenes=0)  # 50 %
    b = await _item(org, legal=_limit(14, "NATURAL_DAY"), promise=_limit(7, "NATURAL_DAY"), depth=3, scenes=1)  # 50 %
    c = await _item(org, legal=_limit(5), promise=_limit(0), depth=4, scenes=0, project_type="1")  # 100 %
    d = await _item(org, legal=_limit(None), promise=_limit(5), depth=2, scenes=2)  # no legal limit: not counted
    f = await _item(org, legal=_limit(10), promise=_limit(7, "NATURAL_DAY"), depth=1, scenes=3)  # 5 of 10: 50 %
    await _item(org, legal=_limit(10), promise=_limit(1), depth=4, scenes=0, status=ItemStatus.DRAFT)
    done = ApplicationStatus.COMPLETED
    await case(
        org,
        task_code=a.task_code,
        channel=ApplicationChannel.APP,
        apply_time=_sh(2025, 3, 5),
        status=done,
        result_time=_sh(2025, 3, 10),
        delivery_method=DeliveryMethod.ELECTRONIC,
    )
    await case(
        org,
        task_code=a.task_code,
        channel=ApplicationChannel.WINDOW,
        apply_time=_sh(2025, 3, 6),
        status=done,
        result_time=_sh(2025, 3, 12),
        delivery_method=DeliveryMethod.PICKUP,
        visits_count=2,
    )
    await case(
        org,
        task_code=b.task_code,
        channel=ApplicationChannel.WECHAT_MP,
        apply_time=_sh(2025, 3, 20),
        status=done,
        result_time=_sh(2025, 3, 25),
    )
    await case(org, task_code=b.task_code, channel=ApplicationChannel.H5, apply_time=_sh(2025, 3, 28))
    await case(
        org,
        task_code=c.task_code,
        channel=ApplicationChannel.APP,
        apply_time=_sh(2025, 2, 27),
        status=done,
        result_time=_sh(2025, 3, 3),
        delivery_method=DeliveryMethod.EMS,
        visits_count=1,
    )
    # the period's edges are Shanghai days: 04-01 00:30 is outside, 03-31 23:30 inside
    await case(org, task_code=c.task_code, channel=ApplicationChannel.APP, apply_time=_sh(2025, 4, 1, 0, 30))
    await case(
        org,
        task_code=d.task_code,
        channel=ApplicationChannel.PC,
        apply_time=_sh(2025, 3, 31, 23, 30),
        status=ApplicationStatus.SUBMITTED,
        accept_time=None,
    )
    return org, [a, b, c, d, f]


def _ratio(numerator: int, denominator: int, percent: float | None) -> dict[str, Any]:
    return {"numerator": numerator, "denominator": denominator, "percent": percent}


def _target(name: str, target: float, met: bool, actual: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "targetPercent": target, "met": met, "actual": actual}


class TestServiceMetrics:
    async def test_exact_figures_of_a_department_and_month(self, api: Api) -> None:
        # given
        org, _ = await _scope()
        token = await operator_token(api, "supervisor.city")
        # when
        result = (await api.data(METRICS, {"input": {"orgId": str(org.id), **PERIOD}}, token))["serviceMetrics"]
        # then
        assert result == {
            "__typename": "ServiceMetrics",
            "orgId": str(org.id),
            "itemId": None,
            "from": "2025-03-01",
            "to": "2025-03-31",
            "fullOnlineItems": _ratio(2, 5, 40.0),
            "onlineApplications": _ratio(4, 5, 80.0),  # APP, WECHAT_MP, H5, PC of 5 applied (WINDOW is not)
            "onlineCompletions": _ratio(2, 4, 50.0),  # electronic delivery; online channel without delivery
            "meanItemVisits": 1.2,
            "meanCaseVisits": 0.75,
            "zeroVisitCases": _ratio(2, 4, 50.0),
            "timeReductionPercent": 62.5,  # (50 + 50 + 100 + 50) / 4
            "timeReductionItems": 4,
            "instantItems": _ratio(1, 5, 20.0),
            "onlineItemsMaxOneVisit": _ratio(3, 4, 75.0),
            "onlineItemsZeroVisit": _ratio(2, 4, 50.0),
            "targets": [
                _target("ONLINE_ITEMS_MAX_ONE_VISIT", 70.0, True, _ratio(3, 4, 75.0)),
                _target("ONLINE_ITEMS_ZERO_VISIT", 20.0, True, _ratio(2, 4, 50.0)),
            ],
        }

    async def test_one_item(self, api: Api) -> None:
        # given
        org, items = await _scope()
        token = await operator_token(api, "catalog.admin")
        # when scoped to item A (two cases: one online, one at the window)
        variables = {"input": {"orgId": str(org.id), "itemId": str(items[0].id), **PERIOD}}
        result = (await api.data(METRICS, variables, token))["serviceMetrics"]
        # then
        assert result["itemId"] == str(items[0].id)
        assert result["fullOnlineItems"] == _ratio(1, 1, 100.0)
        assert (result["timeReductionPercent"], result["timeReductionItems"]) == (50.0, 1)
        assert result["onlineApplications"] == _ratio(1, 2, 50.0)
        assert result["onlineCompletions"] == _ratio(1, 2, 50.0)
        assert (result["meanCaseVisits"], result["zeroVisitCases"]) == (1.0, _ratio(1, 2, 50.0))

    async def test_a_target_missed_and_an_empty_period(self, api: Api) -> None:
        # given a department whose online items all need two visits, with no cases in the period
        org = await department()
        await _item(org, legal=_limit(10), promise=_limit(10), depth=3, scenes=2)
        token = await operator_token(api, "supervisor.city")
        # when
        result = (await api.data(METRICS, {"input": {"orgId": str(org.id), **PERIOD}}, token))["serviceMetrics"]
        # then
        assert result["targets"] == [
            _target("ONLINE_ITEMS_MAX_ONE_VISIT", 70.0, False, _ratio(0, 1, 0.0)),
            _target("ONLINE_ITEMS_ZERO_VISIT", 20.0, False, _ratio(0, 1, 0.0)),
        ]
        assert result["timeReductionPercent"] == 0.0
        assert (result["onlineApplications"], result["meanCaseVisits"]) == (_ratio(0, 0, None), None)

    async def test_a_case_handler_gets_its_own_department(self, api: Api) -> None:
        # given the 市场监管局's handler, asking without an org
        token = await operator_token(api, "handler.scjg")
        variables = {"input": {"from": "2025-03-01", "to": "2025-03-31"}}
        # when
        result = (await api.data(METRICS, variables, token))["serviceMetrics"]
        # then scoped to its department
        assert result["orgId"] == str(seed_id("organization", "scjg"))
        # and another department is refused
        other = await department()
        body = await api.gql(METRICS, {"input": {"orgId": str(other.id), **PERIOD}}, token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    async def test_bad_input_is_typed(self, api: Api) -> None:
        token = await operator_token(api, "supervisor.city")
        backwards = {"from": "2025-03-31", "to": "2025-03-01"}
        cases = [
            (backwards, "InvalidInputError", "INVALID_PERIOD", ["to"]),
            ({"itemId": str(uuid.uuid4()), **PERIOD}, "NotFoundError", "ITEM_NOT_FOUND", ["itemId"]),
            ({"orgId": "nope", **PERIOD}, "InvalidInputError", "INVALID_ID", ["orgId"]),
        ]
        for given, typename, code, path in cases:
            result = (await api.data(METRICS, {"input": given}, token))["serviceMetrics"]
            assert (result["__typename"], result["code"], result["path"]) == (typename, code, path)

    async def test_other_roles_are_refused(self, api: Api) -> None:
        resident = (await api.sign_in("19900000002")).access_token
        finance = await operator_token(api, "finance.city")
        for token in (resident, finance):
            body = await api.gql(METRICS, {"input": PERIOD}, token)
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert (await api.gql(METRICS, {"input": PERIOD}))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    async def test_exact_counts_do_not_depend_on_other_departments(self, api: Api) -> None:
        # given two identical scopes
        first, _ = await _scope()
        second, _ = await _scope()
        token = await operator_token(api, "supervisor.city")
        # when
        one = (await api.data(METRICS, {"input": {"orgId": str(first.id), **PERIOD}}, token))["serviceMetrics"]
        two = (await api.data(METRICS, {"input": {"orgId": str(second.id), **PERIOD}}, token))["serviceMetrics"]
        # then only the org differs
        assert {**one, "orgId": None} == {**two, "orgId": None}
        assert await Application.filter(accepting_org_id=first.id).count() == 7
