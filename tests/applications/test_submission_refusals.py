"""submitApplication refusals: each is typed, names its path, and leaves no row, event or outbox row behind."""

from __future__ import annotations

from api.models import LicenseUse, MaterialRequirement, ServiceItem
from api.seed import catalog_licence_types as types
from api.seed.context import seed_id
from api.seed.licenses import licence_id
from tests.applications.support import (
    FIVE_MATERIALS_ITEM,
    INSTANT_ITEM,
    PROMISED_ITEM,
    SUBMIT,
    footprint,
    item_row,
    resident_token,
    submit,
    submit_input,
)
from tests.catalog.support import CANCEL, SUSPEND, call, operator_token, published
from tests.support.client import Api


async def _hukou_requirement(name: str) -> MaterialRequirement:
    item = await item_row(name)
    return await MaterialRequirement.get(service_item_id=item.id, name="居民户口簿")


class TestSubmitApplicationRefusals:
    async def test_a_licence_the_applicant_does_not_hold(self, api: Api) -> None:
        token = await resident_token(api, 8)
        hukou = await _hukou_requirement(INSTANT_ITEM)
        someone_elses = licence_id("person:9", types.HOUSEHOLD_REGISTER)
        before, uses = await footprint(), await LicenseUse.all().count()
        claim = {"requirementId": str(hukou.id), "via": "ELICENSE", "licenseId": str(someone_elses)}
        base = await submit_input(INSTANT_ITEM)

        result = await submit(api, token, INSTANT_ITEM, materials=[*base["materials"], claim])

        assert result["__typename"] == "SubmissionRejectedError", result
        index = len(base["materials"])
        assert [(p["path"], p["code"]) for p in result["problems"]] == [
            (f"materials/{index}/licenseId", "LICENSE_NOT_HELD")
        ]
        assert (await footprint(), await LicenseUse.all().count()) == (before, uses)

    async def test_a_licence_of_a_type_the_material_does_not_accept(self, api: Api) -> None:
        token = await resident_token(api, 1)
        hukou = await _hukou_requirement(INSTANT_ITEM)
        own_driving_licence = licence_id("person:1", types.DRIVING_LICENCE)
        before = await footprint()
        base = await submit_input(INSTANT_ITEM)
        claim = {"requirementId": str(hukou.id), "via": "ELICENSE", "licenseId": str(own_driving_licence)}

        result = await submit(api, token, INSTANT_ITEM, materials=[*base["materials"], claim])

        assert [p["code"] for p in result["problems"]] == ["LICENSE_TYPE_NOT_ACCEPTED"]
        assert await footprint() == before

    async def test_form_data_failing_the_schema_lists_every_field_path(self, api: Api) -> None:
        token = await resident_token(api, 8)
        base = await submit_input(PROMISED_ITEM)
        form = base["formData"]
        form["applicant"]["id_number"] = "123"
        del form["applicant"]["mobile"]
        before = await footprint()

        result = await submit(api, token, PROMISED_ITEM, formData=form)

        assert result["__typename"] == "SubmissionRejectedError", result
        assert result["code"] == "FORM_INVALID"
        assert result["path"] == ["formData", "applicant/id_number"]
        assert [(p["path"], p["field"], p["code"]) for p in result["problems"]] == [
            ("formData/applicant/id_number", "applicant/id_number", "BAD_FORMAT"),
            ("formData/applicant/mobile", "applicant/mobile", "REQUIRED"),
        ]
        assert await footprint() == before

    async def test_a_missing_required_material_is_listed_by_requirement(self, api: Api) -> None:
        token = await resident_token(api, 8)
        before = await footprint()

        result = await submit(api, token, PROMISED_ITEM, materials=[])

        assert result["__typename"] == "SubmissionRejectedError"
        assert result["code"] == "MATERIALS_MISSING"
        assert sorted(p["field"] for p in result["problems"]) == sorted(["出生医学证明首次签发申请表", "分娩记录"])
        assert await footprint() == before

    async def test_a_commitment_where_the_requirement_allows_none(self, api: Api) -> None:
        token = await resident_token(api, 8)
        base = await submit_input(PROMISED_ITEM)
        materials = [{**base["materials"][0], "via": "COMMITMENT", "fileId": None}, *base["materials"][1:]]
        before = await footprint()

        result = await submit(api, token, PROMISED_ITEM, materials=materials)

        assert [(p["path"], p["code"]) for p in result["problems"]] == [("materials/0/via", "COMMITMENT_NOT_ALLOWED")]
        assert await footprint() == before

    async def test_a_window_channel_is_not_accepted_from_this_api(self, api: Api) -> None:
        token = await resident_token(api, 8)
        before = await footprint()

        result = await submit(api, token, PROMISED_ITEM, channel="WINDOW")

        assert (result["__typename"], result["code"], result["path"]) == (
            "InvalidInputError",
            "CHANNEL_NOT_ACCEPTED",
            ["channel"],
        )
        assert await footprint() == before

    async def test_an_assurance_level_below_the_items_minimum(self, api: Api) -> None:
        token = await resident_token(api, 6)  # an L1 resident; 婚姻登记 needs L2
        before = await footprint()
        code = "990700002000"

        body = await api.data(
            SUBMIT,
            {"input": {**(await submit_input(PROMISED_ITEM)), "serviceCode": await _code(code), "materials": []}},
            token,
        )

        result = body["submitApplication"]
        assert (result["__typename"], result["code"]) == ("ForbiddenError", "ASSURANCE_TOO_LOW")
        assert await footprint() == before

    async def test_an_unknown_service_code(self, api: Api) -> None:
        token = await resident_token(api, 8)
        result = await submit(api, token, PROMISED_ITEM, serviceCode="NOPE")
        assert (result["__typename"], result["code"], result["path"]) == (
            "NotFoundError",
            "ITEM_NOT_FOUND",
            ["serviceCode"],
        )

    async def test_a_window_only_item_is_not_applied_for_online(self, api: Api) -> None:
        # given 见义勇为人员奖励, 网办深度 Ⅰ: consultation online, the application at the window
        token = await resident_token(api, 8)
        item = await ServiceItem.get(name="见义勇为人员奖励", status="PUBLISHED")
        assert item.online_depth_level == 1
        before = await footprint()

        # when
        result = await submit(api, token, PROMISED_ITEM, serviceCode=item.task_code, materials=[])

        # then
        assert (result["__typename"], result["code"], result["path"]) == (
            "ConflictError",
            "ITEM_NOT_ONLINE",
            ["serviceCode"],
        )
        assert await footprint() == before

    async def test_a_suspended_then_a_cancelled_item(self, api: Api) -> None:
        # given an item the catalog admin published, then suspended
        admin = await operator_token(api)
        item = await published(api, admin)
        await call(api, SUSPEND, admin, serviceItemId=item["id"], reason="系统升级")
        token = await resident_token(api, 8)
        before = await footprint()

        # when / then: suspended, then cancelled, each refused with nothing stored
        result = await submit(api, token, PROMISED_ITEM, serviceCode=item["serviceCode"], materials=[])
        assert (result["__typename"], result["code"]) == ("ConflictError", "ITEM_SUSPENDED")
        await call(api, CANCEL, admin, serviceItemId=item["id"], reason="事项取消")
        result = await submit(api, token, PROMISED_ITEM, serviceCode=item["serviceCode"], materials=[])
        assert (result["__typename"], result["code"]) == ("ConflictError", "ITEM_CANCELLED")
        assert await footprint() == before


async def _code(basic: str) -> str:
    return (await ServiceItem.get(task_code__endswith=basic, status="PUBLISHED")).task_code


class TestIdempotency:
    async def test_a_retry_returns_the_same_application_and_records_nothing_more(self, api: Api) -> None:
        token = await resident_token(api, 9)
        data = await submit_input(FIVE_MATERIALS_ITEM)
        first = (await api.data(SUBMIT, {"input": data}, token))["submitApplication"]
        assert first["__typename"] == "ApplicationSubmitted", first
        before = await footprint()

        again = (await api.data(SUBMIT, {"input": data}, token))["submitApplication"]

        assert again["replayed"] is True and first["replayed"] is False
        assert again["application"]["id"] == first["application"]["id"]
        assert again["application"]["projectNo"] == first["application"]["projectNo"]
        assert await footprint() == before

    async def test_the_same_key_with_another_request_is_a_conflict(self, api: Api) -> None:
        token = await resident_token(api, 9)
        data = await submit_input(PROMISED_ITEM)
        await api.data(SUBMIT, {"input": data}, token)
        before = await footprint()
        changed = {**data, "channel": "H5"}

        result = (await api.data(SUBMIT, {"input": changed}, token))["submitApplication"]

        assert (result["__typename"], result["code"]) == ("ConflictError", "IDEMPOTENCY_KEY_REUSED")
        assert await footprint() == before


class TestWalletMaterials:
    async def test_five_materials_by_every_way(self, api: Api) -> None:
        # given 最低生活保障: form (upload), ID card (data sharing), 户口簿 (wallet), 承诺书 (commitment),
        # and the optional 残疾人证 that the 情形 answer makes required (upload)
        token = await resident_token(api, 10)
        item = await item_row(FIVE_MATERIALS_ITEM)
        reqs = {r.name: r for r in await MaterialRequirement.filter(service_item_id=item.id)}
        situation = seed_id("situation", "990500003000:1")
        materials = [
            {"requirementId": str(reqs["最低生活保障申请表"].id), "via": "UPLOAD", "fileId": "f/form.pdf"},
            {"requirementId": str(reqs["家庭收入及财产状况申报承诺书"].id), "via": "COMMITMENT"},
            {"requirementId": str(reqs["残疾人证或重病诊断证明"].id), "via": "UPLOAD", "fileId": "f/d.pdf"},
        ]

        result = await submit(
            api,
            token,
            FIVE_MATERIALS_ITEM,
            materials=materials,
            situations=[{"situationId": str(situation), "optionKey": "a"}],
        )

        assert result["__typename"] == "ApplicationSubmitted", result
        got = sorted((m["name"], m["providedVia"], m["trustGrade"]) for m in result["application"]["materials"])
        assert got == sorted(
            [
                ("最低生活保障申请表", "UPLOAD", "C"),
                ("申请人居民身份证", "DATA_SHARING", "A"),
                ("居民户口簿", "ELICENSE", "A"),
                ("家庭收入及财产状况申报承诺书", "COMMITMENT", "D"),
                ("残疾人证或重病诊断证明", "UPLOAD", "C"),
            ]
        )
