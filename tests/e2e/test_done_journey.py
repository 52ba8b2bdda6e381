"""Issue 4's definition of done, as one journey over HTTP with seeded people and operators: a resident applies
reusing an e-licence, the department's handler accepts, asks for a supplement, decides and issues the result into
the wallet, the resident rates 差评, and the department's rectification ticket appears (and only there)."""

from __future__ import annotations

from typing import Any

from api.models import (
    ELicense,
    ItemStatus,
    LicenseStatus,
    LicenseUse,
    LicenseUseType,
    MaterialRequirement,
    Person,
    RectificationStatus,
    ServiceItem,
)
from tests.applications import support
from tests.applications.handling_support import done
from tests.support.client import Api

SUPPLEMENT = """
mutation S($input: SupplementApplicationInput!) {
  supplementApplication(input: $input) { __typename ... on Error { code message path } }
}
"""
RATE = """
mutation R($input: RateServiceInput!) {
  rateService(input: $input) {
    __typename ... on ServiceRated { rating { id satisfactionCode isBad } } ... on Error { code message path }
  }
}
"""
TICKETS = """
query T { rectifications(first: 50) { edges { node { id status dueAt callbackDueAt rating { projectNo } } } } }
"""
WALLET = "query { myLicenses(first: 100) { edges { node { id name } } } }"


# 居民身份证补领 (市公安局): a 承诺件 whose result is an e-licence and whose 居民户口簿 the wallet can provide.
ITEM = "居民身份证补领"
DEPT = "ga"


# Resident 7 (L3): no other test asserts this wallet's exact content, which the issued result adds to.
RESIDENT = 7


async def _holder_of_an_accepted_licence(item: ServiceItem) -> tuple[int, MaterialRequirement, ELicense]:
    """The seeded resident's valid licence that one of the item's requirements accepts."""
    person = await Person.get(mobile=f"1990000{RESIDENT:04d}")
    for requirement in await MaterialRequirement.filter(service_item_id=item.id).order_by("order"):
        codes = requirement.elicense_type_codes or []
        licence = await ELicense.filter(
            type_code__in=codes, status=LicenseStatus.VALID, holder_person_id=person.id
        ).first()
        if licence is not None:
            return RESIDENT, requirement, licence
    raise AssertionError(f"the seed has no resident holding a licence that {item.name} accepts")


async def _tickets(api: Api, token: str) -> list[dict[str, Any]]:
    edges = (await api.data(TICKETS, token=token))["rectifications"]["edges"]
    return [edge["node"] for edge in edges]


class TestDoneMeansJourney:
    async def test_apply_with_an_elicense_through_result_rating_and_rectification(self, api: Api) -> None:
        # given a seeded resident holding a licence the item accepts, and the department's seeded handler
        item = await ServiceItem.get(name=ITEM, status=ItemStatus.PUBLISHED)
        n, requirement, licence = await _holder_of_an_accepted_licence(item)
        resident = await support.resident_token(api, n)
        handler = await support.handler_token(api, DEPT)
        other_handler = await support.handler_token(api, "scjg")
        uploads = [m for m in await support.upload_materials(item) if m["requirementId"] != str(requirement.id)]
        wallet_material = {"requirementId": str(requirement.id), "via": "ELICENSE", "licenseId": str(licence.id)}

        # when the resident applies, reusing the licence instead of an upload
        request = {
            "idempotencyKey": support.idempotency_key(),
            "serviceCode": item.task_code,
            "channel": "APP",
            "formData": support.valid_form(item),
            "materials": [wallet_material, *uploads],
        }
        submitted = (await api.data(support.SUBMIT, {"input": request}, resident))["submitApplication"]
        assert submitted["__typename"] == "ApplicationSubmitted", submitted
        case = submitted["application"]

        # then the material is the licence, grade A, and its use is recorded
        cid = case["id"]
        reused = next(m for m in case["materials"] if m["requirementId"] == str(requirement.id))
        assert (reused["providedVia"], reused["trustGrade"], reused["licenseId"]) == ("ELICENSE", "A", str(licence.id))
        assert await LicenseUse.filter(
            elicense_id=licence.id, application_id=cid, use_type=LicenseUseType.ATTACH_TO_APPLICATION
        ).exists()

        # when the handler accepts and asks for a supplement, and the resident answers it
        await done(api, handler, "passApplicationPrecheck", applicationId=cid)
        await done(api, handler, "acceptApplication", applicationId=cid)
        items = [{"requirementId": str(requirement.id), "reason": "户口簿信息与申请表不一致，请核对"}]
        asked = await done(api, handler, "requestApplicationSupplement", applicationId=cid, items=items)
        assert asked["status"] == "SUPPLEMENT_REQUIRED"
        answer = {"id": cid, "round": 1, "materials": [{"item": 0, "via": "UPLOAD", "fileId": "upload/again.pdf"}]}
        supplemented = (await api.data(SUPPLEMENT, {"input": answer}, resident))["supplementApplication"]
        assert supplemented["__typename"] == "ApplicationSupplemented", supplemented

        # and the handler runs the steps, decides and issues the result
        for step in ("承办", "审核", "批准"):
            await done(api, handler, "completeApplicationStep", applicationId=cid, step=step, outcome="PASS")
        await done(api, handler, "decideApplication", applicationId=cid, decision="APPROVED")
        issued = await done(api, handler, "issueApplicationResult", applicationId=cid)

        # then the case is complete and the new licence is in the resident's wallet
        assert (issued["status"], issued["resultCode"], issued["evaluationStatus"]) == ("COMPLETED", 0, "PENDING")
        [new_licence] = issued["resultLicenseIds"]
        wallet = (await api.data(WALLET, token=resident))["myLicenses"]["edges"]
        assert new_licence in [edge["node"]["id"] for edge in wallet]

        # when the resident rates the service 差评
        rating = {"applicationId": cid, "moment": "COMPLETE", "satisfactionCode": 5, "reasons": ["LOW_EFFICIENCY"]}
        rated = (await api.data(RATE, {"input": rating}, resident))["rateService"]

        # then the department's handler finds the rectification ticket, waiting for the callback
        assert rated["__typename"] == "ServiceRated", rated
        assert rated["rating"]["isBad"] is True
        project_no = case["projectNo"]
        ticket = next(t for t in await _tickets(api, handler) if t["rating"]["projectNo"] == project_no)
        assert ticket["status"] == RectificationStatus.PENDING_CALLBACK.value
        assert ticket["callbackDueAt"] is not None and ticket["dueAt"] > ticket["callbackDueAt"]
        # and another department's handler does not see it
        assert project_no not in [t["rating"]["projectNo"] for t in await _tickets(api, other_handler)]
        after = await support.application(api, resident, cid)
        assert after is not None and after["evaluationStatus"] == "RECTIFYING"
