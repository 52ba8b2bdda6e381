"""submitApplication for someone else: an enterprise (its legal representative or its 经办人, acting for it through
`actAs`) and a resident who authorized the caller (亲友代办, guardianship), over HTTP with the rows asserted.

Refusals are typed, and `footprint` proves that no application, event or outbox row was written.
Authorizations made here use their own principal/agent pairs, so that no other test sees them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.kit.clock import SHANGHAI
from api.models import AgentAuthorization, Application, Enterprise, Person
from api.seed.context import seed_id
from tests.applications.party_support import acting_for, apply, for_enterprise, published
from tests.applications.support import PROMISED_ITEM, footprint, item_row, resident_token, submit
from tests.support.client import Api

# 食品经营许可 (市场监管局): for enterprises, within the scope of the 经办人 of the restaurant company.
FOOD_LICENCE = "990100002000"
# 营业执照变更登记 (市场监管局): for enterprises (L2), outside that 经办人's scope.
LICENCE_CHANGE = "990100006000"
RESTAURANT = "canyin"  # legal representative resident 1, 经办人 resident 4 (食品经营许可, 公共场所卫生许可)

FAMILY = """
mutation F($input: GrantFamilyProxyInput!) {
  grantFamilyProxy(input: $input) { __typename ... on AgentAuthorization { id } ... on Error { code message path } }
}
"""
REVOKE = """
mutation R($input: RevokeAgentInput!) {
  revokeAgent(input: $input) { __typename ... on AgentAuthorization { id revokedAt } ... on Error { code } }
}
"""
MINE = """
query M($filter: MyApplicationsFilter) {
  myApplications(first: 100, filter: $filter) { edges { node { id applicantName } } }
}
"""


def for_principal(n: int) -> dict[str, Any]:
    return {"applicant": {"kind": "PRINCIPAL", "principalPersonId": str(seed_id("person", n))}}


async def listed(api: Api, token: str, service_code: str) -> list[str]:
    edges = (await api.data(MINE, {"filter": {"serviceCode": service_code}}, token))["myApplications"]["edges"]
    return [edge["node"]["id"] for edge in edges]


async def person(n: int) -> Person:
    return await Person.get(id=seed_id("person", n))


async def grant_family(api: Api, principal: int, agent: int, **fields: Any) -> str:
    """A 亲友代办 granted by seeded resident `principal` to seeded resident `agent`; returns its id."""
    agent_row = await person(agent)
    token = await resident_token(api, principal)
    variables = {"input": {"agentPhone": agent_row.mobile, "consentText": "本人同意授权代办。", **fields}}
    result = (await api.data(FAMILY, variables, token))["grantFamilyProxy"]
    assert result["__typename"] == "AgentAuthorization", result
    authorization_id: str = result["id"]
    return authorization_id


class TestSubmitApplicationForAnEnterprise:
    async def test_the_legal_representative_acting_for_it_applies_in_its_name(self, api: Api) -> None:
        # given
        item = await published(FOOD_LICENCE)
        enterprise = await Enterprise.get(id=seed_id("enterprise", RESTAURANT))
        rep = await person(1)
        token = await acting_for(api, 1, RESTAURANT)

        # when
        result = await apply(api, token, item, **for_enterprise(RESTAURANT))

        # then
        assert result["__typename"] == "ApplicationSubmitted", result
        assert result["application"]["applicant"] == {
            "type": "2",
            "name": "云溪演示餐饮有限公司",
            "personId": None,
            "enterpriseId": str(enterprise.id),
            "agentPersonId": None,
        }
        row = await Application.get(id=result["application"]["id"])
        assert (row.applicant_type, row.applicant_enterprise_id, row.applicant_person_id, row.agent_person_id) == (
            "2",
            enterprise.id,
            None,
            None,
        )
        assert (row.submitted_by_person_id, row.applicant_id_type, row.legal_rep_name) == (rep.id, "001", rep.name)
        assert row.region_code == enterprise.region_code

    async def test_the_agent_applies_for_an_item_in_scope_and_is_recorded_as_agent(self, api: Api) -> None:
        # given
        item = await published(FOOD_LICENCE)
        enterprise_id = seed_id("enterprise", RESTAURANT)
        agent = await person(4)
        token = await acting_for(api, 4, RESTAURANT)

        # when
        result = await apply(api, token, item, **for_enterprise(RESTAURANT))

        # then
        assert result["__typename"] == "ApplicationSubmitted", result
        applicant = result["application"]["applicant"]
        assert (applicant["type"], applicant["enterpriseId"], applicant["personId"], applicant["agentPersonId"]) == (
            "2",
            str(enterprise_id),
            None,
            str(agent.id),
        )
        row = await Application.get(id=result["application"]["id"])
        assert (row.applicant_type, row.applicant_enterprise_id, row.agent_person_id, row.submitted_by_person_id) == (
            "2",
            enterprise_id,
            agent.id,
            agent.id,
        )
        assert (row.contact_name, row.applicant_name) == (agent.name, "云溪演示餐饮有限公司")

    async def test_the_agent_is_refused_an_item_outside_the_scope_and_nothing_is_stored(self, api: Api) -> None:
        # given
        item = await published(LICENCE_CHANGE)
        token = await acting_for(api, 4, RESTAURANT)
        before = await footprint()

        # when
        result = await apply(api, token, item, **for_enterprise(RESTAURANT))

        # then
        assert result == {
            "__typename": "ForbiddenError",
            "code": "AGENT_OUT_OF_SCOPE",
            "message": "your authorization does not cover this service",
            "path": None,
        }
        assert await footprint() == before

    async def test_the_agent_not_acting_for_it_and_a_stranger_are_refused(self, api: Api) -> None:
        # given: the 经办人's own session (not switched by actAs), and a resident unrelated to the company
        item = await published(FOOD_LICENCE)
        own_session = await resident_token(api, 4)
        stranger = await resident_token(api, 3)
        before = await footprint()

        for token in (own_session, stranger):
            # when
            result = await apply(api, token, item, **for_enterprise(RESTAURANT))

            # then
            assert (result["__typename"], result["code"]) == ("ForbiddenError", "NOT_ACTING_FOR_ENTERPRISE")
        assert await footprint() == before

    async def test_an_enterprise_applicant_needs_the_enterprise_named(self, api: Api) -> None:
        # given
        item = await published(FOOD_LICENCE)
        token = await acting_for(api, 1, RESTAURANT)
        before = await footprint()

        # when
        result = await apply(api, token, item, applicant={"kind": "ENTERPRISE"})

        # then
        assert (result["__typename"], result["code"], result["path"]) == (
            "InvalidInputError",
            "REQUIRED",
            ["applicant", "enterpriseId"],
        )
        assert await footprint() == before


class TestMyApplicationsOfAnEnterprise:
    async def test_the_acting_session_lists_the_enterprises_case_and_the_own_session_does_not(self, api: Api) -> None:
        # given: the 经办人 applied for the company
        item = await published(FOOD_LICENCE)
        agent = await acting_for(api, 4, RESTAURANT)
        case = await apply(api, agent, item, **for_enterprise(RESTAURANT))
        assert case["__typename"] == "ApplicationSubmitted", case
        case_id = case["application"]["id"]

        # when
        rep_acting = await listed(api, await acting_for(api, 1, RESTAURANT), item.task_code)
        rep_own = await listed(api, await resident_token(api, 1), item.task_code)
        agent_acting = await listed(api, agent, item.task_code)

        # then
        assert case_id in rep_acting
        assert case_id not in rep_own
        assert case_id in agent_acting


class TestSubmitApplicationForAPrincipal:
    async def test_the_family_agent_applies_for_the_principal_who_sees_it_too(self, api: Api) -> None:
        # given: the seeded 亲友代办, resident 3 authorized resident 4 for every service
        item = await item_row(PROMISED_ITEM)
        principal, agent = await person(3), await person(4)
        token = await resident_token(api, 4)

        # when
        result = await submit(api, token, PROMISED_ITEM, **for_principal(3))

        # then
        assert result["__typename"] == "ApplicationSubmitted", result
        assert result["application"]["applicant"] == {
            "type": "1",
            "name": principal.name,
            "personId": str(principal.id),
            "enterpriseId": None,
            "agentPersonId": str(agent.id),
        }
        case_id = result["application"]["id"]
        row = await Application.get(id=case_id)
        assert (row.applicant_person_id, row.agent_person_id, row.submitted_by_person_id) == (
            principal.id,
            agent.id,
            agent.id,
        )
        assert (row.applicant_enterprise_id, row.applicant_id_no_hash) == (None, principal.id_number_hash)
        assert case_id in await listed(api, await resident_token(api, 3), item.task_code)
        assert case_id in await listed(api, token, item.task_code)

    async def test_the_guardian_applies_for_the_ward(self, api: Api) -> None:
        # given: the seeded guardianship, resident 16 for the minor resident 17 (who has no phone)
        ward, guardian = await person(17), await person(16)
        token = await resident_token(api, 16)

        # when
        result = await submit(api, token, PROMISED_ITEM, **for_principal(17))

        # then
        assert result["__typename"] == "ApplicationSubmitted", result
        row = await Application.get(id=result["application"]["id"])
        assert (row.applicant_type, row.applicant_person_id, row.agent_person_id, row.applicant_name) == (
            "1",
            ward.id,
            guardian.id,
            ward.name,
        )

    async def test_a_resident_without_an_authorization_is_refused(self, api: Api) -> None:
        # given: resident 5 holds no authorization of resident 3
        token = await resident_token(api, 5)
        before = await footprint()

        # when
        result = await submit(api, token, PROMISED_ITEM, **for_principal(3))

        # then
        assert result == {
            "__typename": "ForbiddenError",
            "code": "AGENT_NOT_AUTHORIZED",
            "message": "this person has not authorized you to apply for them",
            "path": None,
        }
        assert await footprint() == before

    async def test_an_authorization_for_other_services_is_refused(self, api: Api) -> None:
        # given: resident 11 authorized resident 13 for the food licence only
        await grant_family(api, 11, 13, allServices=False, serviceCodes=[(await published(FOOD_LICENCE)).task_code])
        token = await resident_token(api, 13)
        before = await footprint()

        # when
        result = await submit(api, token, PROMISED_ITEM, **for_principal(11))

        # then
        assert (result["__typename"], result["code"]) == ("ForbiddenError", "AGENT_OUT_OF_SCOPE")
        assert await footprint() == before

    async def test_an_expired_authorization_is_refused(self, api: Api) -> None:
        # given: resident 9 authorized resident 8 for two minutes, and three minutes passed
        valid_to = (api.live.clock.now() + timedelta(minutes=2)).astimezone(SHANGHAI).isoformat(timespec="seconds")
        authorization_id = await grant_family(api, 9, 8, validTo=valid_to)
        token = await resident_token(api, 8)
        in_time = await submit(api, token, PROMISED_ITEM, **for_principal(9))
        assert in_time["__typename"] == "ApplicationSubmitted", in_time
        api.live.clock.advance(timedelta(minutes=3))
        before = await footprint()

        # when
        result = await submit(api, await resident_token(api, 8), PROMISED_ITEM, **for_principal(9))

        # then
        assert (result["__typename"], result["code"]) == ("ForbiddenError", "AGENT_NOT_AUTHORIZED")
        assert await footprint() == before
        assert (await AgentAuthorization.get(id=authorization_id)).revoked_at is None

    async def test_a_revoked_authorization_is_refused(self, api: Api) -> None:
        # given: resident 2 authorized resident 7, who applied once, then resident 2 revoked it
        authorization_id = await grant_family(api, 2, 7)
        agent = await resident_token(api, 7)
        first = await submit(api, agent, PROMISED_ITEM, **for_principal(2))
        assert first["__typename"] == "ApplicationSubmitted", first
        variables = {"input": {"authorizationId": authorization_id}}
        revoked = (await api.data(REVOKE, variables, await resident_token(api, 2)))["revokeAgent"]
        assert revoked["__typename"] == "AgentAuthorization" and revoked["revokedAt"] is not None
        before = await footprint()

        # when
        result = await submit(api, agent, PROMISED_ITEM, **for_principal(2))

        # then
        assert (result["__typename"], result["code"]) == ("ForbiddenError", "AGENT_NOT_AUTHORIZED")
        assert await footprint() == before

    async def test_a_principal_must_be_named(self, api: Api) -> None:
        # given
        token = await resident_token(api, 4)
        before = await footprint()

        # when
        result = await submit(api, token, PROMISED_ITEM, applicant={"kind": "PRINCIPAL"})

        # then
        assert (result["__typename"], result["code"], result["path"]) == (
            "InvalidInputError",
            "REQUIRED",
            ["applicant", "principalPersonId"],
        )
        assert await footprint() == before
