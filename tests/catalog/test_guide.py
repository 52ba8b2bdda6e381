"""Public side of the catalog: item lookup, browsing, the full guide with wallet coverage, bundles."""

from __future__ import annotations

import uuid
from datetime import date

from api.models import Bundle, ELicense, ServiceItem
from tests.catalog.support import SERVICE_ITEM, counting_sql, operator_token, published, valid_guide
from tests.support.client import Api

GUIDE = """
query G($code: String!) { serviceGuide(serviceCode: $code) {
  item { serviceCode version status departmentName }
  byLaw powerSource useLevel
  legalLimit { value unit unitLabel text } promiseLimit { value unitLabel text } projectType
  windows { name address hours phone mapUrl traffic } transactTime
  consult { phone note } supervise { phone note } intermediaryService specialProcedureText
  specialProcedures { kind subtype maxDays dayUnit }
  serverTypes handleForms acceptCondition
  materials { id name necessity forms originalCount copyCount source issuingOrg blankFormFileId sampleFileId
              elicenseTypeCodes allowCommitment }
  situations { question options { label requiresMaterialIds excludesMaterialIds } }
  handleFlow visitsReason onlineDepthComponents minAssuranceLevel isFee fees { name amountFen amountYuan }
  faqs { question answer } result { name type sampleFileId } plainGuide
  walletCoverage { materialId materialName licenseTypeCode }
} }
"""
BROWSE = """
query B($first: Int, $after: String, $audience: ServiceAudience, $dept: ID) {
  browseServices(first: $first, after: $after, audience: $audience, departmentId: $dept) {
    edges { cursor node { serviceCode version name status forEnterprises } }
    pageInfo { hasNextPage endCursor } totalCount
  }
}
"""
LICENCE_TYPE = "99010000000001338W001"


async def _licence(person_id: str, status: str = "01") -> ELicense:
    return await ELicense.create(
        cert_identifier=f"test-{uuid.uuid4()}",
        type_code=LICENCE_TYPE,
        type_name="营业执照",
        cert_number="X1",
        name="营业执照",
        issuer_name="云溪市市场监督管理局",
        issuer_uscc="1199010000000000X0",
        area_code="990100000000",
        holder_name="测试",
        holder_id_type="10",
        holder_id_hash="h",
        holder_person_id=uuid.UUID(person_id),
        issue_date=date(2025, 1, 1),
        valid_from=date(2025, 1, 1),
        status=status,
    )


class TestServiceGuide:
    async def test_every_element_is_shown_and_the_wallet_covers_a_material(self, api: Api) -> None:
        token = await operator_token(api)
        item = await published(api, token)
        citizen = await api.sign_in()
        await _licence(citizen.person_id)
        await _licence(citizen.person_id, status="03")  # not valid: ignored
        guide = (await api.data(GUIDE, {"code": item["serviceCode"]}, citizen.access_token))["serviceGuide"]
        assert guide["item"]["status"] == "PUBLISHED"
        assert guide["legalLimit"] == {"value": 20, "unit": "WORKING_DAY", "unitLabel": "工作日", "text": "20个工作日"}
        assert guide["windows"] == [
            {
                "name": "综合窗口1号",
                "address": "云溪市政务服务中心一楼",
                "hours": "工作日 9:00-17:00",
                "phone": "0991-12345670",
                "mapUrl": "https://map.example/1",
                "traffic": "公交3路政务中心站",
            }
        ]
        assert guide["consult"] == {"phone": "0991-12345678", "note": "咨询"}
        assert guide["specialProcedures"] == [
            {"kind": "2", "subtype": "SITE_INSPECTION", "maxDays": 10, "dayUnit": "WORKING_DAY"}
        ]
        first, second = guide["materials"]
        assert (first["source"], first["issuingOrg"], first["originalCount"], first["copyCount"]) == (
            "ISSUING_AUTHORITY",
            "市场监督管理部门",
            1,
            1,
        )
        assert (second["necessity"], second["blankFormFileId"], second["sampleFileId"], second["allowCommitment"]) == (
            "TOLERATED_LATER",
            "file-blank",
            "file-sample",
            True,
        )
        assert guide["situations"][0]["options"][0]["requiresMaterialIds"] == [first["id"]]
        assert guide["situations"][0]["options"][1]["excludesMaterialIds"] == [second["id"]]
        assert guide["faqs"] == [{"question": "多久能拿到许可证?", "answer": "承诺10个工作日。"}]
        assert guide["result"] == {
            "name": "食品经营许可证",
            "type": "CERTIFICATE",
            "sampleFileId": "file-result-sample",
        }
        assert guide["walletCoverage"] == [
            {"materialId": first["id"], "materialName": "营业执照", "licenseTypeCode": LICENCE_TYPE}
        ]
        anonymous = (await api.data(GUIDE, {"code": item["serviceCode"]}))["serviceGuide"]
        assert anonymous["walletCoverage"] is None

    async def test_the_number_of_sql_statements_does_not_grow_with_the_guide(self, api: Api) -> None:
        token = await operator_token(api)
        small = await published(api, token)
        many = valid_guide()["materials"] * 7 + [{"name": "补充材料"}]
        big = await published(
            api,
            token,
            materials=many,
            faqs=[{"question": f"问{i}", "answer": "答"} for i in range(10)],
            windows=valid_guide()["windows"] * 5,
        )
        citizen = await api.sign_in()
        counts = []
        for item in (small, big):
            with counting_sql() as statements:
                await api.data(GUIDE, {"code": item["serviceCode"]}, citizen.access_token)
            counts.append(len([s for s in statements if "SELECT" in s.upper()]))
        assert counts[0] == counts[1]
        assert 8 <= counts[0] <= 12, counts  # item, 6 part lists, department, wallet (+ token checks)

    async def test_unknown_and_malformed_codes_answer_null(self, api: Api) -> None:
        for code in ("", "   ", "1" * 31, "x" * 500, "'; drop table service_item; --"):
            assert (await api.data(GUIDE, {"code": code}))["serviceGuide"] is None
            assert (await api.data(SERVICE_ITEM, {"code": code}))["serviceItem"] is None

    async def test_drafts_are_not_public(self, api: Api) -> None:
        token = await operator_token(api)
        item = await published(api, token)
        draft_v2 = await ServiceItem.filter(task_code=item["serviceCode"]).count()
        assert draft_v2 == 1
        assert (await api.data(SERVICE_ITEM, {"code": item["serviceCode"], "version": 2}))["serviceItem"] is None
        assert (await api.data(SERVICE_ITEM, {"code": item["serviceCode"], "version": -1}))["serviceItem"] is None


class TestBrowseServices:
    async def test_pages_follow_the_cursor_without_overlap(self, api: Api) -> None:
        token = await operator_token(api)
        items = [await published(api, token) for _ in range(3)]
        dept = str((await ServiceItem.get(task_code=items[0]["serviceCode"])).dept_id)
        seen: list[str] = []
        after = None
        while True:
            page = (await api.data(BROWSE, {"first": 2, "after": after, "dept": dept}))["browseServices"]
            seen += [e["node"]["serviceCode"] for e in page["edges"]]
            assert all(e["node"]["status"] == "PUBLISHED" for e in page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert len(seen) == len(set(seen)) == page["totalCount"]
        assert {i["serviceCode"] for i in items} <= set(seen)
        assert seen == sorted(seen)

    async def test_first_is_clamped_and_audience_filters(self, api: Api) -> None:
        token = await operator_token(api)
        await published(api, token)
        page = (await api.data(BROWSE, {"first": 1000, "audience": "ENTERPRISE"}))["browseServices"]
        assert len(page["edges"]) <= 100
        assert all(e["node"]["forEnterprises"] for e in page["edges"])

    async def test_garbage_arguments_are_typed_errors(self, api: Api) -> None:
        for variables, code in (
            ({"after": "garbage!!"}, "INVALID_CURSOR"),
            ({"after": "WzFd"}, "INVALID_CURSOR"),  # a valid cursor of another list: [1]
            ({"first": -1}, "INVALID_PAGE"),
            ({"dept": "nope"}, "INVALID_ID"),
        ):
            body = await api.gql(BROWSE, variables)
            assert body["data"] is None
            assert body["errors"][0]["extensions"]["code"] == code


class TestBundles:
    async def test_members_resolve_to_their_current_published_versions(self, api: Api) -> None:
        token = await operator_token(api)
        a, b = await published(api, token), await published(api, token)
        code = f"test-{uuid.uuid4().hex[:8]}"
        await Bundle.create(
            code=code,
            name="测试一件事",
            audience="ENTERPRISE",
            task_codes=[a["serviceCode"], "missing-code", b["serviceCode"]],
            shared_form_schema={"type": "object"},
        )
        query = (
            "query B($c: String!) { bundle(code: $c) { code name audience sharedFormSchema "
            "items { serviceCode version } } }"
        )
        bundle = (await api.data(query, {"c": code}))["bundle"]
        assert bundle == {
            "code": code,
            "name": "测试一件事",
            "audience": "ENTERPRISE",
            "sharedFormSchema": {"type": "object"},
            "items": [{"serviceCode": a["serviceCode"], "version": 1}, {"serviceCode": b["serviceCode"], "version": 1}],
        }
        assert (await api.data(query, {"c": "nope"}))["bundle"] is None
        listed = (await api.data("{ bundles(audience: ENTERPRISE) { code audience } }"))["bundles"]
        assert {"code": code, "audience": "ENTERPRISE"} in listed
        assert all(b["audience"] == "ENTERPRISE" for b in listed)
