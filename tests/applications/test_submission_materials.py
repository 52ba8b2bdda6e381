"""submitApplication materials provided without an upload: a material verified at a window for an earlier case of
the same applicant (REUSED, grade B) and a commitment (告知承诺, COMMITMENT, grade D) where the requirement allows
one. Refusals name the material's path, and `footprint` proves that nothing was written.

Window verification against the original is recorded by the counter's own system, not through this API, so the
tests mark the earlier material verified in the database.
"""

from __future__ import annotations

from typing import Any

from api.models import ApplicationMaterial, MaterialRequirement, ProvidedVia
from tests.applications.party_support import acting_for, apply, for_enterprise, published
from tests.applications.support import (
    PROMISED_ITEM,
    footprint,
    item_row,
    resident_token,
    submit,
    submitted,
    upload_materials,
)
from tests.support.client import Api

# 道路货物运输经营许可 (交通运输局): for enterprises; 拟投入车辆承诺书 and 安全生产管理制度文本 allow a commitment.
ROAD_FREIGHT = "990100003000"
LOGISTICS = "wuliu"  # legal representative resident 5


async def requirements_of(name: str) -> dict[str, MaterialRequirement]:
    item = await item_row(name)
    return {r.name: r for r in await MaterialRequirement.filter(service_item_id=item.id)}


async def verified(application_id: str, requirement: MaterialRequirement) -> ApplicationMaterial:
    """The case's material for `requirement`, as a window marks it checked against the original."""
    material = await ApplicationMaterial.get(application_id=application_id, requirement_id=requirement.id)
    material.verified_by = "溪城区政务服务中心 窗口 3"
    material.verified_at = material.created_at
    await material.save(update_fields=["verified_by", "verified_at"])
    return material


def replacing(materials: list[dict[str, Any]], claim: dict[str, Any]) -> list[dict[str, Any]]:
    """The materials with the claim for the same requirement swapped in."""
    return [claim if m["requirementId"] == claim["requirementId"] else m for m in materials]


def reuse(requirement: MaterialRequirement, material: ApplicationMaterial) -> dict[str, Any]:
    return {"requirementId": str(requirement.id), "via": "REUSED", "reusedMaterialId": str(material.id)}


async def uploads() -> list[dict[str, Any]]:
    return await upload_materials(await item_row(PROMISED_ITEM))


class TestReusedMaterials:
    async def test_a_material_verified_for_an_earlier_case_is_reused_with_grade_b(self, api: Api) -> None:
        # given: resident 13's earlier case, whose 分娩记录 a window verified
        token = await resident_token(api, 13)
        requirement = (await requirements_of(PROMISED_ITEM))["分娩记录"]
        earlier = await verified((await submitted(api, token))["id"], requirement)

        # when
        result = await submit(
            api, token, PROMISED_ITEM, materials=replacing(await uploads(), reuse(requirement, earlier))
        )

        # then
        assert result["__typename"] == "ApplicationSubmitted", result
        shown = next(m for m in result["application"]["materials"] if m["requirementId"] == str(requirement.id))
        assert (shown["providedVia"], shown["trustGrade"], shown["fileId"]) == ("REUSED", "B", earlier.file_id)
        row = await ApplicationMaterial.get(application_id=result["application"]["id"], requirement_id=requirement.id)
        assert (row.provided_via, row.trust_grade, row.file_id, row.name) == (
            ProvidedVia.REUSED,
            "B",
            earlier.file_id,
            "分娩记录",
        )

    async def test_an_unverified_material_is_not_reused(self, api: Api) -> None:
        # given: an earlier case of the same resident, its materials never checked at a window
        token = await resident_token(api, 13)
        requirement = (await requirements_of(PROMISED_ITEM))["分娩记录"]
        earlier_id = (await submitted(api, token))["id"]
        material = await ApplicationMaterial.get(application_id=earlier_id, requirement_id=requirement.id)
        materials = replacing(await uploads(), reuse(requirement, material))
        index = next(i for i, m in enumerate(materials) if m["via"] == "REUSED")
        before = await footprint()

        # when
        result = await submit(api, token, PROMISED_ITEM, materials=materials)

        # then
        assert result["__typename"] == "SubmissionRejectedError", result
        assert [(p["path"], p["code"], p["field"]) for p in result["problems"]] == [
            (f"materials/{index}/reusedMaterialId", "REUSED_NOT_FOUND", "分娩记录")
        ]
        assert await footprint() == before

    async def test_another_persons_verified_material_is_refused(self, api: Api) -> None:
        # given: a verified material of resident 12, claimed by resident 13
        requirement = (await requirements_of(PROMISED_ITEM))["分娩记录"]
        theirs = await verified((await submitted(api, await resident_token(api, 12)))["id"], requirement)
        token = await resident_token(api, 13)
        before = await footprint()

        # when
        result = await submit(
            api, token, PROMISED_ITEM, materials=replacing(await uploads(), reuse(requirement, theirs))
        )

        # then
        assert result["__typename"] == "SubmissionRejectedError", result
        assert [p["code"] for p in result["problems"]] == ["REUSED_NOT_FOUND"]
        assert await footprint() == before

    async def test_a_verified_material_of_another_kind_is_not_reused_for_this_one(self, api: Api) -> None:
        # given: resident 13's verified 分娩记录, claimed as the application form
        token = await resident_token(api, 13)
        requirements = await requirements_of(PROMISED_ITEM)
        birth_record = await verified((await submitted(api, token))["id"], requirements["分娩记录"])
        form = next(r for name, r in requirements.items() if name.endswith("申请表"))
        materials = replacing(await uploads(), reuse(form, birth_record))
        index = next(i for i, m in enumerate(materials) if m["via"] == "REUSED")
        before = await footprint()

        # when
        result = await submit(api, token, PROMISED_ITEM, materials=materials)

        # then
        assert result["__typename"] == "SubmissionRejectedError", result
        assert [(p["path"], p["code"]) for p in result["problems"]] == [
            (f"materials/{index}/reusedMaterialId", "REUSED_OTHER_MATERIAL")
        ]
        assert await footprint() == before


class TestCommitmentMaterials:
    async def test_a_commitment_where_the_requirement_allows_one_is_grade_d(self, api: Api) -> None:
        # given: the logistics company's legal representative, committing to both materials that allow it
        item = await published(ROAD_FREIGHT)
        committable = await MaterialRequirement.filter(service_item_id=item.id, allow_commitment=True)
        assert sorted(r.name for r in committable) == ["安全生产管理制度文本", "拟投入车辆承诺书"]
        token = await acting_for(api, 5, LOGISTICS)
        # The vehicles' commitment replaces a required upload; the safety rules are 容缺 and not uploaded at all.
        materials = [
            m for m in await upload_materials(item) if m["requirementId"] not in {str(r.id) for r in committable}
        ]
        materials += [{"requirementId": str(r.id), "via": "COMMITMENT"} for r in committable]

        # when
        result = await apply(api, token, item, materials=materials, **for_enterprise(LOGISTICS))

        # then
        assert result["__typename"] == "ApplicationSubmitted", result
        rows = await ApplicationMaterial.filter(
            application_id=result["application"]["id"], requirement_id__in=[r.id for r in committable]
        ).order_by("name")
        assert [(m.name, m.provided_via, m.trust_grade, m.file_id) for m in rows] == [
            ("安全生产管理制度文本", ProvidedVia.COMMITMENT, "D", ""),
            ("拟投入车辆承诺书", ProvidedVia.COMMITMENT, "D", ""),
        ]

    async def test_a_commitment_elsewhere_is_refused_and_nothing_is_stored(self, api: Api) -> None:
        # given: a commitment in place of every required upload that allows none
        item = await published(ROAD_FREIGHT)
        token = await acting_for(api, 5, LOGISTICS)
        requirements = {str(r.id): r for r in await MaterialRequirement.filter(service_item_id=item.id)}
        materials = [
            m if requirements[m["requirementId"]].allow_commitment else {**m, "via": "COMMITMENT", "fileId": None}
            for m in await upload_materials(item)
        ]
        refused = [
            (f"materials/{i}/via", "COMMITMENT_NOT_ALLOWED", requirements[m["requirementId"]].name)
            for i, m in enumerate(materials)
            if m["via"] == "COMMITMENT"
        ]
        assert len(refused) >= 2
        before = await footprint()

        # when
        result = await apply(api, token, item, materials=materials, **for_enterprise(LOGISTICS))

        # then
        assert result["__typename"] == "SubmissionRejectedError", result
        assert [(p["path"], p["code"], p["field"]) for p in result["problems"]] == refused
        assert await footprint() == before
