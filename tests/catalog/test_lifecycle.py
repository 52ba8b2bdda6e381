"""Operator side of the catalog: drafts, review, publishing with Q01–Q15, suspension, cancellation, audit."""

from __future__ import annotations

from typing import Any

import pytest

from api.kit.ids import parse_uuid
from api.models import CatalogAudit, MaterialRequirement, ServiceItem
from tests.catalog.support import (
    CANCEL,
    CREATE,
    PUBLISH,
    RESUME,
    SERVICE_ITEM,
    SUBMIT,
    SUSPEND,
    UPDATE,
    call,
    department,
    draft,
    fresh_service_code,
    operator_token,
    published,
)
from tests.support.client import Api

AUDIT = """
query A($id: ID!) { serviceItemAudit(serviceItemId: $id) { action operatorId serviceItemId detail at } }
"""


async def _row(item_id: str) -> ServiceItem:
    return await ServiceItem.get(id=parse_uuid(item_id))


async def _counts() -> tuple[int, int, int]:
    return await ServiceItem.all().count(), await CatalogAudit.all().count(), await MaterialRequirement.all().count()


class TestCreateServiceItemDraft:
    async def test_a_new_item_starts_as_version_1_draft_with_an_audit_row(self, api: Api) -> None:
        # given
        token = await operator_token(api)
        code = await fresh_service_code("01")
        # when
        result = await call(api, CREATE, token, serviceCode=code, name=" 测试许可 ", taskType="01")
        # then
        assert result["__typename"] == "ServiceItemChanged"
        item = result["item"]
        assert (item["serviceCode"], item["version"], item["status"], item["name"]) == (code, 1, "DRAFT", "测试许可")
        assert item["departmentName"] == "云溪市市场监督管理局"
        assert item["regionCode"] == (await department()).region_code
        audits = await CatalogAudit.filter(service_item_id=parse_uuid(item["id"]))
        assert [a.action for a in audits] == ["CREATE"]

    @pytest.mark.parametrize(
        ("code_of", "expected"),
        [
            (lambda c: c[:-1], "INVALID_SERVICE_CODE"),  # 30 characters
            (lambda c: ("1" if c[17] != "1" else "2").join([c[:17], c[18:]]), "INVALID_SERVICE_CODE"),  # USCC check
            (lambda c: c[:18] + "8" + c[19:], "INVALID_SERVICE_CODE"),  # 行使层级 8
            (lambda c: c[:19] + "99-012345000", "INVALID_SERVICE_CODE"),  # a hyphen in the 基本编码
            (lambda c: "114507210081153718" + c[18:], "UNKNOWN_DEPARTMENT"),  # valid USCC, no such department
            (lambda c: "   ", "INVALID_SERVICE_CODE"),
        ],
    )
    async def test_a_malformed_code_is_refused_and_nothing_is_created(
        self, api: Api, code_of: Any, expected: str
    ) -> None:
        token = await operator_token(api)
        code = code_of(await fresh_service_code())
        before = await _counts()
        result = await call(api, CREATE, token, serviceCode=code, name="x")
        assert (result["__typename"], result["code"], result["path"]) == (
            "InvalidInputError",
            expected,
            ["serviceCode"],
        )
        assert await _counts() == before

    async def test_an_empty_name_is_refused(self, api: Api) -> None:
        token = await operator_token(api)
        before = await _counts()
        result = await call(api, CREATE, token, serviceCode=await fresh_service_code(), name="  ")
        assert (result["__typename"], result["code"], result["path"]) == ("InvalidInputError", "EMPTY", ["name"])
        assert await _counts() == before

    async def test_a_second_draft_of_the_same_item_is_a_conflict(self, api: Api) -> None:
        token = await operator_token(api)
        item = await draft(api, token)
        before = await _counts()
        result = await call(api, CREATE, token, serviceCode=item["serviceCode"])
        assert (result["__typename"], result["code"]) == ("ConflictError", "DRAFT_EXISTS")
        assert await _counts() == before

    async def test_a_citizen_and_a_case_handler_are_forbidden(self, api: Api) -> None:
        citizen = (await api.sign_in()).access_token
        handler = await operator_token(api, "handler.scjg")
        code = await fresh_service_code()
        before = await _counts()
        for token in (citizen, handler):
            body = await api.gql(CREATE, {"input": {"serviceCode": code, "name": "x"}}, token)
            assert body["data"] is None
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        body = await api.gql(CREATE, {"input": {"serviceCode": code, "name": "x"}})
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert await _counts() == before


class TestUpdateServiceItemDraft:
    async def test_every_group_is_stored_and_depth_is_derived(self, api: Api) -> None:
        token = await operator_token(api)
        item = await draft(api, token)
        row = await _row(item["id"])
        assert row.online_depth_level == 4  # components 2, 4, 5, 6 and no visits
        assert row.promise_limit == {"value": 10, "unit": "WORKING_DAY", "note": ""}
        assert row.consult == {"phone": "0991-12345678", "note": "咨询"}
        materials = await MaterialRequirement.filter(service_item_id=row.id).order_by("order")
        assert [(m.order, m.name, m.source) for m in materials] == [
            (1, "营业执照", "ISSUING_AUTHORITY"),
            (2, "食品经营许可申请书", "APPLICANT"),
        ]
        assert item["promisedLimit"]["text"] == "10个工作日"

    async def test_too_many_materials_change_nothing(self, api: Api) -> None:
        token = await operator_token(api)
        item = await draft(api, token)
        before = await _counts()
        many = [{"name": f"材料{i}"} for i in range(16)]
        result = await call(api, UPDATE, token, serviceItemId=item["id"], materials=many, name="改名")
        assert (result["__typename"], result["code"], result["path"]) == (
            "InvalidInputError",
            "TOO_MANY_ITEMS",
            ["materials"],
        )
        assert await _counts() == before
        assert (await _row(item["id"])).name == "食品经营许可（测试）"

    @pytest.mark.parametrize(
        ("change", "code", "path"),
        [
            ({"projectType": "7"}, "INVALID_CODE", ["projectType"]),
            ({"serverTypes": ["1", "8"]}, "INVALID_CODE", ["serverTypes"]),
            ({"onlineDepthComponents": [9]}, "INVALID_CODE", ["onlineDepthComponents"]),
            ({"taskType": "77"}, "INVALID_TASK_TYPE", ["taskType"]),
            ({"regionCode": "99x"}, "INVALID_REGION", ["regionCode"]),
            ({"name": ""}, "EMPTY", ["name"]),
            ({"name": None}, "NULL", ["name"]),
            ({"visitsRequired": -1}, "OUT_OF_RANGE", ["visitsRequired"]),
            (
                {"fees": [{"name": "工本费", "standard": "10元", "amountFen": "1e3"}]},
                "INVALID_FEN",
                ["fees", "0", "amountFen"],
            ),
            (
                {"windows": [{"name": "", "address": "a", "hours": "h", "phone": "p"}]},
                "EMPTY",
                ["windows", "0", "windowName"],
            ),
            (
                {"situations": [{"question": "q", "options": [{"label": "l", "requireMaterials": [9]}]}]},
                "UNKNOWN_MATERIAL",
                ["situations", "0", "options", "0", "requireMaterials"],
            ),
        ],
    )
    async def test_bad_values_are_refused_with_their_path(
        self, api: Api, change: dict[str, Any], code: str, path: list[str]
    ) -> None:
        token = await operator_token(api)
        item = await draft(api, token)
        row_before = await _row(item["id"])
        before = await _counts()
        result = await call(api, UPDATE, token, serviceItemId=item["id"], **change)
        assert (result["__typename"], result["code"], result["path"]) == ("InvalidInputError", code, path)
        assert await _counts() == before
        assert (await _row(item["id"])).updated_at == row_before.updated_at

    async def test_a_version_in_review_cannot_be_edited(self, api: Api) -> None:
        token = await operator_token(api)
        item = await draft(api, token)
        await call(api, SUBMIT, token, serviceItemId=item["id"])
        before = await _counts()
        result = await call(api, UPDATE, token, serviceItemId=item["id"], name="改名")
        assert (result["__typename"], result["code"], result["status"]) == (
            "IllegalTransitionError",
            "ILLEGAL_TRANSITION",
            "IN_REVIEW",
        )
        assert await _counts() == before

    @pytest.mark.parametrize("item_id", ["", "not-a-uuid", "00000000-0000-0000-0000-000000000000"])
    async def test_an_unknown_or_malformed_id_is_refused(self, api: Api, item_id: str) -> None:
        token = await operator_token(api)
        before = await _counts()
        result = await call(api, UPDATE, token, serviceItemId=item_id, name="x")
        assert result["__typename"] in ("InvalidInputError", "NotFoundError")
        assert result["path"] == ["serviceItemId"]
        assert await _counts() == before


# One violating change per rule, applied to an otherwise publishable draft.
VIOLATIONS: list[tuple[str, dict[str, Any]]] = [
    ("Q01", {"promiseLimit": {"value": 0}, "projectType": "2"}),
    ("Q02", {"resultName": "卫生许可证", "resultType": "APPROVAL"}),
    ("Q03", {"resultName": "关于同意的批复", "resultType": "CERTIFICATE"}),
    ("Q04", {"visitsRequired": 1, "visitsReason": "", "onlineDepthComponents": [1, 3]}),
    ("Q05", {"handleForms": ["1"]}),
    ("Q06", {"visitsRequired": 1, "visitsReason": "核验原件", "onlineDepthLevel": 4}),
    ("Q07", {"isFee": True, "isPayOnline": True, "feeBasis": "", "fees": []}),
    ("Q08", {"isFee": False, "isPayOnline": True}),
    ("Q09", {"supervise": {"phone": "0991-12345678"}}),
    ("Q10", {"serverTypes": ["1", "2"], "personTopics": []}),
    ("Q11", {"faqs": []}),
    ("Q12", {"workflowSteps": [{"name": "受理"}, {"name": "办结"}]}),
    ("Q13", {"resultSampleFileId": ""}),
    ("Q14", {"taskType": "05"}),
    ("Q15", {"onlineDepthLevel": 2}),
]


class TestPublishServiceItem:
    async def test_a_complete_item_is_published_with_effective_from_and_audit(self, api: Api) -> None:
        token = await operator_token(api)
        item = await published(api, token)
        assert (item["status"], item["acceptsApplications"], item["statusNote"]) == ("PUBLISHED", True, "")
        assert item["effectiveFrom"] is not None
        actions = [
            a.action for a in await CatalogAudit.filter(service_item_id=parse_uuid(item["id"])).order_by("created_at")
        ]
        assert actions == ["CREATE", "UPDATE", "SUBMIT", "PUBLISH"]

    @pytest.mark.parametrize(("rule", "change"), VIOLATIONS, ids=[v[0] for v in VIOLATIONS])
    async def test_each_rule_blocks_publishing(self, api: Api, rule: str, change: dict[str, Any]) -> None:
        token = await operator_token(api)
        item = await draft(api, token, **change)
        await call(api, SUBMIT, token, serviceItemId=item["id"])
        audits = await CatalogAudit.all().count()
        result = await call(api, PUBLISH, token, serviceItemId=item["id"])
        assert (result["__typename"], result["code"]) == ("PublishRejected", "PUBLISH_REJECTED")
        assert rule in {v["rule"] for v in result["violations"]}, result["violations"]
        assert all(v["path"] and v["message"] for v in result["violations"])
        row = await _row(item["id"])
        assert (row.status.value, row.effective_from) == ("IN_REVIEW", None)
        assert await CatalogAudit.all().count() == audits

    async def test_an_empty_draft_reports_every_missing_element_at_once(self, api: Api) -> None:
        token = await operator_token(api)
        code = await fresh_service_code("01")
        item = (await call(api, CREATE, token, serviceCode=code, name="空事项"))["item"]
        await call(api, SUBMIT, token, serviceItemId=item["id"])
        result = await call(api, PUBLISH, token, serviceItemId=item["id"])
        rules = sorted({v["rule"] for v in result["violations"]})
        assert rules == ["Q01", "Q05", "Q09", "Q10", "Q11", "Q12"]

    async def test_a_draft_must_be_reviewed_first(self, api: Api) -> None:
        token = await operator_token(api)
        item = await draft(api, token)
        result = await call(api, PUBLISH, token, serviceItemId=item["id"])
        assert (result["__typename"], result["status"]) == ("IllegalTransitionError", "DRAFT")
        assert (await _row(item["id"])).status.value == "DRAFT"

    async def test_a_new_version_supersedes_the_previous_one(self, api: Api) -> None:
        token = await operator_token(api)
        v1 = await published(api, token)
        created = await call(api, CREATE, token, serviceCode=v1["serviceCode"])
        v2 = created["item"]
        assert (v2["version"], v2["status"], v2["name"]) == (2, "DRAFT", v1["name"])
        assert await MaterialRequirement.filter(service_item_id=parse_uuid(v2["id"])).count() == 2
        await call(api, UPDATE, token, serviceItemId=v2["id"], name="新版名称")
        await call(api, SUBMIT, token, serviceItemId=v2["id"])
        result = await call(api, PUBLISH, token, serviceItemId=v2["id"])
        assert result["item"]["status"] == "PUBLISHED"
        current = (await api.data(SERVICE_ITEM, {"code": v1["serviceCode"]}))["serviceItem"]
        assert (current["version"], current["name"], current["latestVersion"]) == (2, "新版名称", 2)
        old = (await api.data(SERVICE_ITEM, {"code": v1["serviceCode"], "version": 1}))["serviceItem"]
        assert (old["status"], old["acceptsApplications"], old["name"]) == ("SUPERSEDED", False, v1["name"])
        assert old["cancelAt"] == result["item"]["effectiveFrom"]


class TestSuspendResumeCancel:
    async def test_suspend_then_resume_then_cancel(self, api: Api) -> None:
        token = await operator_token(api)
        item = await published(api, token)
        suspended = await call(api, SUSPEND, token, serviceItemId=item["id"], reason="系统升级")
        assert suspended["item"]["status"] == "SUSPENDED"
        shown = (await api.data(SERVICE_ITEM, {"code": item["serviceCode"]}))["serviceItem"]
        assert (shown["status"], shown["acceptsApplications"], shown["statusNote"]) == (
            "SUSPENDED",
            False,
            "该事项暂停办理",
        )
        assert (await call(api, RESUME, token, serviceItemId=item["id"]))["item"]["status"] == "PUBLISHED"
        cancelled = await call(api, CANCEL, token, serviceItemId=item["id"], reason="事项取消")
        assert (cancelled["item"]["status"], cancelled["item"]["statusNote"]) == ("CANCELLED", "该事项已取消")
        shown = (await api.data(SERVICE_ITEM, {"code": item["serviceCode"]}))["serviceItem"]
        assert shown["status"] == "CANCELLED"
        actions = [
            a.action for a in await CatalogAudit.filter(service_item_id=parse_uuid(item["id"])).order_by("created_at")
        ]
        assert actions[-3:] == ["SUSPEND", "RESUME", "CANCEL"]

    @pytest.mark.parametrize(
        ("document", "extra", "status"),
        [(RESUME, {}, "PUBLISHED"), (SUBMIT, {}, "PUBLISHED"), (PUBLISH, {}, "PUBLISHED")],
    )
    async def test_illegal_transitions_change_nothing(
        self, api: Api, document: str, extra: dict[str, Any], status: str
    ) -> None:
        token = await operator_token(api)
        item = await published(api, token)
        audits = await CatalogAudit.all().count()
        result = await call(api, document, token, serviceItemId=item["id"], **extra)
        assert (result["__typename"], result["code"], result["status"]) == (
            "IllegalTransitionError",
            "ILLEGAL_TRANSITION",
            status,
        )
        assert (await _row(item["id"])).status.value == status
        assert await CatalogAudit.all().count() == audits

    async def test_drafts_cannot_be_suspended_or_cancelled_and_a_reason_is_required(self, api: Api) -> None:
        token = await operator_token(api)
        item = await draft(api, token)
        assert (await call(api, SUSPEND, token, serviceItemId=item["id"], reason="x"))["status"] == "DRAFT"
        assert (await call(api, CANCEL, token, serviceItemId=item["id"], reason="x"))["status"] == "DRAFT"
        empty = await call(api, CANCEL, token, serviceItemId=item["id"], reason=" ")
        assert (empty["__typename"], empty["code"], empty["path"]) == ("InvalidInputError", "EMPTY", ["reason"])
        assert (await _row(item["id"])).status.value == "DRAFT"


class TestServiceItemAudit:
    async def test_catalog_admins_read_the_trail_newest_first(self, api: Api) -> None:
        token = await operator_token(api)
        item = await published(api, token)
        entries = (await api.data(AUDIT, {"id": item["id"]}, token))["serviceItemAudit"]
        assert [e["action"] for e in entries] == ["PUBLISH", "SUBMIT", "UPDATE", "CREATE"]
        assert {e["serviceItemId"] for e in entries} == {item["id"]}
        assert entries[-1]["detail"] == {"service_code": item["serviceCode"], "version": 1}

    async def test_others_are_forbidden(self, api: Api) -> None:
        token = await operator_token(api)
        item = await draft(api, token)
        citizen = (await api.sign_in()).access_token
        body = await api.gql(AUDIT, {"id": item["id"]}, citizen)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


VALIDATE = "query V($id: ID!) { serviceItemViolations(serviceItemId: $id) { rule message path } }"


class TestServiceItemViolations:
    async def test_validates_a_draft_without_changing_it(self, api: Api) -> None:
        token = await operator_token(api)
        clean = await draft(api, token)
        broken = await draft(api, token, **VIOLATIONS[0][1])
        audits = await CatalogAudit.all().count()
        assert (await api.data(VALIDATE, {"id": clean["id"]}, token))["serviceItemViolations"] == []
        found = (await api.data(VALIDATE, {"id": broken["id"]}, token))["serviceItemViolations"]
        assert VIOLATIONS[0][0] in {v["rule"] for v in found}
        assert (await _row(broken["id"])).status.value == "DRAFT"
        assert await CatalogAudit.all().count() == audits

    async def test_an_unknown_id_is_null(self, api: Api) -> None:
        token = await operator_token(api)
        data = await api.data(VALIDATE, {"id": "00000000-0000-0000-0000-000000000000"}, token)
        assert data["serviceItemViolations"] is None
