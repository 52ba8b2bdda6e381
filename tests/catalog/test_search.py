"""searchServices, suggestServices and navigate over GraphQL, on items made here (unique names)."""

from __future__ import annotations

import random
import uuid
from typing import Any

from api.catalog import search
from api.models import (
    CatalogItem,
    FeeItem,
    ItemStatus,
    MaterialRequirement,
    SearchPhrase,
    SearchSynonym,
    ServiceItem,
    Situation,
)
from tests.support.client import Api

SEARCH = """
query S($q: String!, $first: Int = 10, $after: String, $region: String) {
  searchServices(query: $q, first: $first, after: $after, regionCode: $region) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { score matchedBy service { serviceCode name } } }
  }
}
"""
SUGGEST = "query G($p: String!) { suggestServices(prefix: $p, first: 5) { text kind serviceCode } }"
NAVIGATE = """
query N($code: String!, $answers: [NavigationAnswerInput!]) {
  navigate(serviceCode: $code, answers: $answers) {
    __typename
    ... on NavigationGuide {
      complete questions { situationId question options { key label } chosenOptionKey }
      materials { name requiredByOptionKey } fees { name amountFen amountYuan } visitsRequired
    }
    ... on Error { code path }
  }
}
"""


async def make_item(name: str, *, keywords: list[str] | None = None, region: str = "990100000000") -> ServiceItem:
    n = random.randrange(10**8)
    catalog = await CatalogItem.create(catalog_code=f"T{n}", name=name, task_type="20")
    return await ServiceItem.create(
        task_code=f"99TEST{n:08d}",
        catalog_item=catalog,
        dept_id=uuid.uuid4(),
        use_level=3,
        name=name,
        task_type="20",
        region_code=region,
        status=ItemStatus.PUBLISHED,
        server_types=["1"],
        keywords=keywords or [],
        limit_scene_num=1,
    )


async def refresh(api: Api) -> None:
    await search.invalidate(api.live.app.state.services.redis)


def names(data: dict[str, Any]) -> list[str]:
    return [e["node"]["service"]["name"] for e in data["searchServices"]["edges"]]


class TestSearchServices:
    async def test_a_name_with_a_missing_character_finds_the_item(self, api: Api) -> None:
        # given
        await make_item("演示测绘资质补领")
        await refresh(api)

        # when
        data = await api.data(SEARCH, {"q": "测绘资质补"})

        # then
        assert names(data)[0] == "演示测绘资质补领"
        assert "NAME" in data["searchServices"]["edges"][0]["node"]["matchedBy"]

    async def test_a_phrase_and_a_synonym_find_their_item(self, api: Api) -> None:
        # given
        item = await make_item("演示渔船登记证书核发")
        await SearchPhrase.create(phrase=f"渔船证书丢了{random.randrange(10**6)}", task_codes=[item.task_code])
        tag = random.randrange(10**6)
        await SearchSynonym.create(term=f"舢板{tag}", group_key=f"g{tag}")
        await SearchSynonym.create(term="渔船", group_key=f"g{tag}")
        await refresh(api)

        # when
        by_synonym = await api.data(SEARCH, {"q": f"舢板{tag}登记"})

        # then
        node = by_synonym["searchServices"]["edges"][0]["node"]
        assert node["service"]["name"] == "演示渔船登记证书核发"
        assert "SYNONYM" in node["matchedBy"]

    async def test_queries_without_words_answer_empty(self, api: Api) -> None:
        for query in ["", "   ", "😀😀😀", "。，！？"]:
            data = await api.data(SEARCH, {"q": query})
            assert data["searchServices"] == {
                "totalCount": 0,
                "pageInfo": {"hasNextPage": False, "endCursor": None},
                "edges": [],
            }, query

    async def test_hostile_queries_are_plain_text_and_change_nothing(self, api: Api) -> None:
        # given
        before = await ServiceItem.all().count()

        for query in ["' OR 1=1 --", ".*[(", "x" * 1000, "%_%", "\\x00"]:
            # when: api.data asserts the answer carries no error
            data = await api.data(SEARCH, {"q": query})

            # then: whatever matched is an ordinary hit list, never everything
            assert data["searchServices"]["totalCount"] < before, query
        assert await ServiceItem.all().count() == before

    async def test_pages_follow_the_cursor(self, api: Api) -> None:
        # given
        for suffix in ("甲", "乙", "丙"):
            await make_item(f"演示航标设置许可{suffix}")
        await refresh(api)

        # when
        first = await api.data(SEARCH, {"q": "航标设置", "first": 2})
        rest = await api.data(
            SEARCH, {"q": "航标设置", "first": 2, "after": first["searchServices"]["pageInfo"]["endCursor"]}
        )

        # then
        assert first["searchServices"]["totalCount"] == 3
        assert first["searchServices"]["pageInfo"]["hasNextPage"] is True
        assert len(names(first)) == 2 and len(names(rest)) == 1
        assert set(names(first) + names(rest)) == {f"演示航标设置许可{s}" for s in ("甲", "乙", "丙")}

    async def test_a_bad_cursor_is_a_coded_error(self, api: Api) -> None:
        # when
        body = await api.gql(SEARCH, {"q": "登记", "after": "nonsense!"})

        # then
        assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"

    async def test_another_county_items_are_left_out(self, api: Api) -> None:
        # given
        await make_item("演示林木采伐许可青石", region="990121000000")
        await make_item("演示林木采伐许可白沙", region="990122000000")
        await refresh(api)

        # when
        data = await api.data(SEARCH, {"q": "林木采伐许可", "region": "990121000000"})

        # then
        assert names(data) == ["演示林木采伐许可青石"]


class TestSuggestServices:
    async def test_names_starting_with_the_prefix(self, api: Api) -> None:
        # given
        item = await make_item("演示蜂农转场证明")
        await refresh(api)

        # when
        data = await api.data(SUGGEST, {"p": "演示蜂农"})

        # then
        assert data["suggestServices"] == [{"text": "演示蜂农转场证明", "kind": "NAME", "serviceCode": item.task_code}]

    async def test_an_emoji_prefix_suggests_nothing(self, api: Api) -> None:
        assert (await api.data(SUGGEST, {"p": "😀"}))["suggestServices"] == []


class TestNavigate:
    async def test_answers_narrow_the_materials(self, api: Api) -> None:
        # given
        item = await make_item("演示船员证申领")
        base = await MaterialRequirement.create(service_item=item, name="申请表", order=1)
        photo = await MaterialRequirement.create(service_item=item, name="照片", order=2)
        proxy = await MaterialRequirement.create(service_item=item, name="委托书", order=3)
        await FeeItem.create(service_item=item, name="工本费", standard="每证10元", amount_fen=1000)
        situation = await Situation.create(
            service_item=item,
            question="是否委托他人办理？",
            options=[
                {"key": "self", "label": "本人办理", "require": [], "exclude": []},
                {"key": "agent", "label": "委托办理", "require": [str(proxy.id)], "exclude": [str(photo.id)]},
            ],
        )
        assert base.name == "申请表"

        # when
        open_guide = (await api.data(NAVIGATE, {"code": item.task_code}))["navigate"]
        answered = (
            await api.data(
                NAVIGATE,
                {"code": item.task_code, "answers": [{"situationId": str(situation.id), "optionKey": "agent"}]},
            )
        )["navigate"]

        # then
        assert open_guide["complete"] is False
        assert open_guide["materials"] == [
            {"name": "申请表", "requiredByOptionKey": None},
            {"name": "照片", "requiredByOptionKey": None},
        ]
        assert answered["complete"] is True
        assert answered["questions"][0]["chosenOptionKey"] == "agent"
        assert answered["materials"] == [
            {"name": "申请表", "requiredByOptionKey": None},
            {"name": "委托书", "requiredByOptionKey": "agent"},
        ]
        assert answered["fees"] == [{"name": "工本费", "amountFen": "1000", "amountYuan": "10.00"}]
        assert answered["visitsRequired"] == 1

    async def test_an_unknown_service_is_not_found(self, api: Api) -> None:
        data = await api.data(NAVIGATE, {"code": "nope"})
        assert data["navigate"] == {"__typename": "NotFoundError", "code": "SERVICE_NOT_FOUND", "path": ["serviceCode"]}

    async def test_an_unknown_option_is_refused_with_its_path(self, api: Api) -> None:
        # given
        item = await make_item("演示引航员证核发")
        situation = await Situation.create(
            service_item=item, question="是否首次？", options=[{"key": "yes", "label": "是"}]
        )

        # when
        data = await api.data(
            NAVIGATE, {"code": item.task_code, "answers": [{"situationId": str(situation.id), "optionKey": "no"}]}
        )

        # then
        assert data["navigate"] == {
            "__typename": "InvalidInputError",
            "code": "UNKNOWN_OPTION",
            "path": ["answers", "0", "optionKey"],
        }
