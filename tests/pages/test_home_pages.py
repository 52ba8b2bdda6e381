"""市民主页 and 法人空间 over HTTP: sections, recommendation reasons, membership, policy matching, SQL statements per
page, query cost and payload size (the bill sections have their own module, test_bills_due)."""

from __future__ import annotations

import gzip
import uuid
from datetime import timedelta
from typing import Any

from api.catalog import search
from api.lifespan import Services
from api.models import EnterpriseSize, LicenseStatus, Person, Policy
from api.seed.context import seed_id
from tests.pages.support import (
    ENTERPRISE_HOME,
    HOME,
    bill,
    bundle,
    counting_sql,
    enterprise_of,
    fresh_district,
    inbox,
    item,
    licence,
    resident,
    staff_agent,
    today,
    unique,
    views,
    ward_of,
)
from tests.support.client import Api

MAX_STATEMENTS = 8
MARK_READ = "mutation M($input: MarkReadInput!) { markRead(input: $input) { ... on InboxMarkedRead { marked } } }"


async def home(api: Api, token: str) -> dict[str, Any]:
    page: dict[str, Any] = (await api.data(HOME, token=token))["myHomePage"]
    return page


def reasons(page: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [
        (r["reason"], (r["item"] or {}).get("serviceCode") or (r["bundle"] or {}).get("code"))
        for r in page["recommendations"]
    ]


def popular_codes(page: dict[str, Any]) -> list[str | None]:
    return [code for reason, code in reasons(page) if reason == "POPULAR_IN_REGION"]


class TestMyHomePageSections:
    async def test_a_resident_sees_every_section_with_only_valid_licences_expiring_within_90_days(
        self, api: Api
    ) -> None:
        # given
        session, me = await resident(api)
        type_code = unique("T", 21)
        soon = await licence(api, person_id=me, type_code=type_code, type_name="测试许可证", valid_in_days=10)
        later = await licence(api, person_id=me, type_code=type_code, type_name="测试许可证", valid_in_days=45)
        await licence(api, person_id=me, type_code=type_code, type_name="测试许可证", valid_in_days=120)
        await licence(
            api,
            person_id=me,
            type_code=type_code,
            type_name="测试许可证",
            valid_in_days=5,
            status=LicenseStatus.SUSPENDED,
        )

        # when
        page = await home(api, session.access_token)

        # then
        assert page["applicationsInProgress"] == []
        assert page["billsDue"] == []
        assert page["unreadMessageCount"] == 0
        assert [(x["id"], x["daysLeft"]) for x in page["expiringLicenses"]] == [(str(soon.id), 10), (str(later.id), 45)]
        assert page["expiringLicenses"][0]["validTo"] == (today(api) + timedelta(days=10)).isoformat()
        assert page["expiringLicenses"][0]["typeCode"] == type_code
        assert [s["key"] for s in page["shortcuts"]][:3] == ["LICENSE_WALLET", "MY_APPLICATIONS", "PAYMENTS"]

    async def test_the_unread_count_is_the_callers_unread_inbox_items_and_drops_when_one_is_read(
        self, api: Api
    ) -> None:
        # given: 3 unread and 2 read items, and another resident's unread item
        session, me = await resident(api)
        _, other = await resident(api)
        mine = await inbox(api, me, unread=3, read=2)
        await inbox(api, other, unread=1)

        # when
        before = await home(api, session.access_token)
        marked = await api.data(MARK_READ, {"input": {"ids": [str(mine[-1].id)]}}, session.access_token)
        after = await home(api, session.access_token)

        # then
        assert before["unreadMessageCount"] == 3
        assert marked["markRead"] == {"marked": 1}
        assert after["unreadMessageCount"] == 2

    async def test_an_operator_token_or_no_token_is_refused(self, api: Api) -> None:
        # when
        response = await api.post({"query": HOME})

        # then
        assert response.status_code == 200
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


class TestRecommendations:
    async def test_an_expiring_licence_recommends_the_item_renewing_its_type_first(self, api: Api) -> None:
        # given
        session, me = await resident(api)
        type_code = unique("T", 21)
        renewal = await item("测试许可证延续", elicense_type_code=type_code, keywords=["延续"])
        await item("测试许可证核发", elicense_type_code=type_code, popularity=10_000)  # issues, does not say renewal
        held = await licence(api, person_id=me, type_code=type_code, type_name="测试许可证", valid_in_days=20)

        # when
        page = await home(api, session.access_token)

        # then
        first = page["recommendations"][0]
        assert (first["reason"], first["item"]["serviceCode"], first["licenseId"]) == (
            "LICENSE_EXPIRY",
            renewal.task_code,
            str(held.id),
        )
        assert "20天后到期" in first["text"]

    async def test_an_item_without_a_result_type_renews_by_result_name_and_renewal_keywords(self, api: Api) -> None:
        # given
        session, me = await resident(api)
        type_name = unique("测试证", 12)
        renewal = await item("测试证换领", result_name=type_name, keywords=["换领"])
        await licence(api, person_id=me, type_code=unique("T", 21), type_name=type_name, valid_in_days=60)

        # when
        page = await home(api, session.access_token)

        # then
        assert reasons(page)[0] == ("LICENSE_EXPIRY", renewal.task_code)

    async def test_no_renewal_is_recommended_for_a_licence_expiring_later_than_90_days(self, api: Api) -> None:
        # given
        session, me = await resident(api)
        type_code = unique("T", 21)
        await item("测试许可证延续", elicense_type_code=type_code, keywords=["延续"])
        await licence(api, person_id=me, type_code=type_code, type_name="测试许可证", valid_in_days=91)

        # when
        page = await home(api, session.access_token)

        # then
        assert "LICENSE_EXPIRY" not in [reason for reason, _ in reasons(page)]

    async def test_recently_viewed_items_come_most_recent_first(self, api: Api) -> None:
        # given
        session, me = await resident(api)
        first, second = await item("测试浏览一"), await item("测试浏览二")
        await views(me, [first])
        await views(me, [second])

        # when
        page = await home(api, session.access_token)

        # then
        viewed = [code for reason, code in reasons(page) if reason == "RECENTLY_VIEWED"]
        assert viewed == [second.task_code, first.task_code]

    async def test_popular_items_are_those_serving_the_callers_region(self, api: Api) -> None:
        # given: a region of its own (98 is unassigned), its city level item popular, another region's more so
        district = fresh_district()
        city = district[:4] + "00000000"
        session, _ = await resident(api, region_code=district)
        served = await item("测试本市热门", region_code=city, popularity=9_000_000)
        elsewhere = await item("测试外地热门", region_code="970100000000", popularity=9_999_999)
        for_companies = await item("测试本市企业", region_code=city, popularity=9_500_000, person_topics=[])

        # when
        page = await home(api, session.access_token)

        # then
        popular = [code for reason, code in reasons(page) if reason == "POPULAR_IN_REGION"]
        assert popular[0] == served.task_code
        assert elsewhere.task_code not in popular
        assert for_companies.task_code not in popular

    async def test_a_publish_refreshes_the_cached_recommendations(self, api: Api) -> None:
        # given: a region of its own, its popular item cached by the first page
        district = fresh_district()
        city = district[:4] + "00000000"
        session, _ = await resident(api, region_code=district)
        before = await item("测试本市热门", region_code=city, popularity=8_000_000)
        assert popular_codes(await home(api, session.access_token))[0] == before.task_code
        newer = await item("测试本市新热门", region_code=district, popularity=8_500_000, announce=False)
        assert newer.task_code not in popular_codes(await home(api, session.access_token))  # not announced yet

        # when: what every publish, suspension or cancellation does
        services: Services = api.live.app.state.services
        await search.invalidate(services.redis)

        # then
        assert popular_codes(await home(api, session.access_token))[:2] == [newer.task_code, before.task_code]

    async def test_a_guardian_of_a_newborn_gets_the_newborn_bundle(self, api: Api) -> None:
        # given
        session, me = await resident(api, birth_date=today(api) - timedelta(days=30 * 365))
        await bundle("新生儿出生一件事", "NEWBORN")
        await ward_of(api, me, born_days_ago=100)

        # when
        page = await home(api, session.access_token)

        # then
        life = [r for r in page["recommendations"] if r["reason"] == "LIFE_EVENT"]
        assert [(r["lifeEvent"], r["item"]) for r in life] == [("NEWBORN", None)]
        assert life[0]["bundle"]["name"] == "新生儿出生一件事"

    async def test_a_guardian_of_an_older_child_gets_no_life_event(self, api: Api) -> None:
        # given
        session, me = await resident(api, birth_date=today(api) - timedelta(days=40 * 365))
        await bundle("新生儿出生一件事", "NEWBORN")
        await ward_of(api, me, born_days_ago=3 * 365)

        # when
        page = await home(api, session.access_token)

        # then
        assert [r for r in page["recommendations"] if r["reason"] == "LIFE_EVENT"] == []

    async def test_a_resident_of_60_or_more_gets_the_retirement_bundle(self, api: Api) -> None:
        # given
        session, _ = await resident(api, birth_date=today(api) - timedelta(days=61 * 366))
        await bundle("退休一件事", "RETIREMENT")

        # when
        page = await home(api, session.access_token)

        # then
        life = [r for r in page["recommendations"] if r["reason"] == "LIFE_EVENT"]
        assert [r["lifeEvent"] for r in life] == ["RETIREMENT"]


class TestEnterpriseHomePage:
    async def test_the_legal_representative_sees_the_page(self, api: Api) -> None:
        # given
        rep_hash = unique("h", 64)
        session, me = await resident(api, id_number_hash=rep_hash)
        enterprise = await enterprise_of(rep_hash)
        held = await licence(
            api, enterprise_id=enterprise.id, type_code=unique("T", 21), type_name="营业执照", valid_in_days=None
        )
        expiring = await licence(
            api, enterprise_id=enterprise.id, type_code=unique("T", 21), type_name="食品经营许可证", valid_in_days=30
        )
        _, agent = await resident(api)
        await staff_agent(api, enterprise, agent, me)

        # when
        page = (await api.data(ENTERPRISE_HOME, {"id": str(enterprise.id)}, session.access_token))["enterpriseHomePage"]

        # then
        assert page["role"] == "LEGAL_REPRESENTATIVE"
        assert page["enterprise"]["id"] == str(enterprise.id)
        assert [(x["id"], x["daysLeft"]) for x in page["licenses"]] == [(str(expiring.id), 30), (str(held.id), None)]
        assert [a["agentPersonId"] for a in page["agents"]] == [str(agent)]
        assert page["applications"] == []
        assert page["pendingPayments"] == []

    async def test_a_live_agent_sees_the_page_as_agent(self, api: Api) -> None:
        # given
        rep_hash = unique("h", 64)
        _, rep = await resident(api, id_number_hash=rep_hash)
        enterprise = await enterprise_of(rep_hash)
        agent_session, agent = await resident(api)
        await staff_agent(api, enterprise, agent, rep)

        # when
        page = (await api.data(ENTERPRISE_HOME, {"id": str(enterprise.id)}, agent_session.access_token))[
            "enterpriseHomePage"
        ]

        # then
        assert page["role"] == "AGENT"

    async def test_a_non_member_is_refused_and_nothing_is_returned(self, api: Api) -> None:
        # given
        session, _ = await resident(api)
        seeded = seed_id("enterprise", "canyin")

        for enterprise_id in (str(seeded), str(uuid.uuid4()), "not-a-uuid"):
            # when
            body = await api.gql(ENTERPRISE_HOME, {"id": enterprise_id}, session.access_token)

            # then
            assert body["data"] is None
            assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


class TestPolicyMatching:
    async def test_only_active_current_policies_whose_every_rule_holds_match(self, api: Api) -> None:
        # given: an enterprise in industry I6510, SMALL, district 98xx02
        rep_hash = unique("h", 64)
        session, _ = await resident(api, id_number_hash=rep_hash)
        district = fresh_district()
        district = district[:4] + "02000000"
        enterprise = await enterprise_of(
            rep_hash, industry_code="I6510", size=EnterpriseSize.SMALL, region_code=district
        )
        now = api.live.clock.now()
        tag = unique("P", 10)

        async def policy(name: str, eligibility: dict[str, list[str]], **fields: Any) -> None:
            values: dict[str, Any] = {
                "valid_from": now - timedelta(days=1),
                "valid_to": now + timedelta(hours=1),
                "status": "ACTIVE",
                **fields,
            }
            await Policy.create(code=f"{tag}-{name}", title=name, eligibility=eligibility, **values)

        await policy(
            "all-rules",
            {"industry_codes": ["I65"], "sizes": ["MICRO", "SMALL"], "region_codes": [district[:4] + "00000000"]},
        )
        await policy("any", {}, valid_to=now + timedelta(hours=2))
        await policy("wrong-size", {"sizes": ["LARGE"]})
        await policy("wrong-industry", {"industry_codes": ["C"]})
        await policy("wrong-region", {"region_codes": ["89"]})  # fresh_district() codes start 90…98
        await policy("inactive", {}, status="SUSPENDED")
        await policy("ended", {}, valid_from=now - timedelta(days=10), valid_to=now - timedelta(minutes=1))
        await policy("not-yet", {}, valid_from=now + timedelta(days=1), valid_to=now + timedelta(days=10))

        # when
        page = (await api.data(ENTERPRISE_HOME, {"id": str(enterprise.id)}, session.access_token))["enterpriseHomePage"]

        # then
        mine = [m for m in page["policyMatches"] if m["code"].startswith(tag)]
        assert [m["code"] for m in mine] == [f"{tag}-all-rules", f"{tag}-any"]
        assert mine[0]["rules"] == [
            {"rule": "INDUSTRY", "anyValue": False, "matchedBy": "I65", "value": "I6510"},
            {"rule": "SIZE", "anyValue": False, "matchedBy": "SMALL", "value": "SMALL"},
            {"rule": "REGION", "anyValue": False, "matchedBy": district[:4] + "00000000", "value": district},
        ]
        assert [r["anyValue"] for r in mine[1]["rules"]] == [True, True, True]


# ------------------------------------------------------------------------------------------------ statements


async def _heavy_resident(api: Api, n: int) -> tuple[str, uuid.UUID]:
    """A resident of 60+ with a newborn ward, `n` expiring licences (with renewal items), `n` viewed items, `n` wards,
    `n` unpaid bills and `n` unread messages."""
    district = fresh_district()
    session, me = await resident(api, birth_date=today(api) - timedelta(days=65 * 366), region_code=district)
    for i in range(n):
        type_code = unique("T", 21)
        await item(f"测试延续{i}", elicense_type_code=type_code, keywords=["延续"])
        await licence(api, person_id=me, type_code=type_code, type_name=f"测试证{i}", valid_in_days=1 + i % 80)
    await views(me, [await item(f"测试浏览{i}") for i in range(n)])
    for i in range(n):
        await ward_of(api, me, born_days_ago=30)
        await bill(api, person_id=me, due_in_days=1 + i % 40)
    await inbox(api, me, unread=n)
    return session.access_token, me


async def _statements(api: Api, query: str, token: str, variables: dict[str, Any] | None = None) -> list[str]:
    await api.data(query, variables, token)  # warm: the first request may load what later ones reuse
    with counting_sql() as statements:
        await api.data(query, variables, token)
    return statements


class TestStatementsPerPage:
    async def test_my_home_page_runs_the_same_statements_for_1_and_for_50_of_everything(self, api: Api) -> None:
        # given
        await bundle("新生儿出生一件事", "NEWBORN")
        await bundle("退休一件事", "RETIREMENT")
        light, _ = await _heavy_resident(api, 1)
        heavy, _ = await _heavy_resident(api, 50)

        # when
        few = await _statements(api, HOME, light)
        many = await _statements(api, HOME, heavy)

        # then: the person with their wards and unread count, their licences, their views, their open cases, their
        # unpaid bills; the catalog part is cached
        assert len(few) == len(many) == 5, (few, many)
        assert len(many) <= MAX_STATEMENTS

    async def test_the_first_page_after_a_publish_rebuilds_the_catalog_part_with_2_more_statements(
        self, api: Api
    ) -> None:
        # given
        token, _ = await _heavy_resident(api, 1)
        await api.data(HOME, token=token)
        await item("测试新发布", announce=False)

        # when
        services: Services = api.live.app.state.services
        await search.invalidate(services.redis)
        with counting_sql() as statements:
            await api.data(HOME, token=token)

        # then
        assert len(statements) == 7, statements

    async def test_enterprise_home_page_runs_the_same_statements_for_1_and_for_50_licences_and_agents(
        self, api: Api
    ) -> None:
        # given: two enterprises seen by their legal representatives
        tokens: list[tuple[str, str]] = []
        for n in (1, 50):
            rep_hash = unique("h", 64)
            session, me = await resident(api, id_number_hash=rep_hash)
            enterprise = await enterprise_of(rep_hash)
            for i in range(n):
                await licence(
                    api,
                    enterprise_id=enterprise.id,
                    type_code=unique("T", 21),
                    type_name="测试执照",
                    valid_in_days=10 + i,
                )
                agent = await Person.create(name=f"测试经办人{i}")
                await staff_agent(api, enterprise, agent.id, me)
                await bill(api, enterprise_id=enterprise.id, due_in_days=1 + i)
            tokens.append((session.access_token, str(enterprise.id)))

        # when
        counts = [len(await _statements(api, ENTERPRISE_HOME, token, {"id": eid})) for token, eid in tokens]

        # then
        assert counts[0] == counts[1] == 7, counts
        assert counts[1] <= MAX_STATEMENTS


# ------------------------------------------------------------------------------------------------ cost, payload


class TestBudgets:
    async def test_the_full_my_home_page_selection_costs_at_most_600(self, api: Api) -> None:
        # given
        session, _ = await resident(api)

        # when
        body = await api.gql(HOME, token=session.access_token)

        # then
        assert "errors" not in body
        assert body["extensions"]["cost"] <= 600, body["extensions"]["cost"]

    async def test_a_heavy_residents_page_is_at_most_20_kb(self, api: Api) -> None:
        # given
        await bundle("新生儿出生一件事", "NEWBORN")
        await bundle("退休一件事", "RETIREMENT")
        token, _ = await _heavy_resident(api, 50)

        # when
        response = await api.http.post(
            "/graphql", json={"query": HOME}, headers={**api.headers(token), "accept-encoding": "identity"}
        )

        # then
        page = response.json()["data"]["myHomePage"]
        assert len(page["expiringLicenses"]) == 20
        assert len(page["recommendations"]) == 10
        assert len(response.content) <= 20 * 1024, len(response.content)
        assert len(gzip.compress(response.content)) <= 6 * 1024
