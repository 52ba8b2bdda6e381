"""经办人 and 亲友代办: granting, acting for an enterprise, scope checks, expiry and revocation, over HTTP.

The clock is shared by the whole test session and only moves forward; seeded authorizations last a year from the
seed, so expiry is tested only on grants made here, with a validity of minutes.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from api.kit.clock import SHANGHAI
from api.models import AgentAuthorization, Enterprise, Person, Session
from api.seed.context import seed_id
from tests.support.client import Api, fresh_phone
from tests.support.client import Session as Signed

AUTHORIZATION = """
id kind principalType principalId agentPersonId allServices serviceCodes validFrom validTo revokedAt consentText
"""
GRANT = f"""
mutation G($input: GrantAgentInput!) {{
  grantAgent(input: $input) {{
    __typename
    ... on AgentAuthorization {{ {AUTHORIZATION} }}
    ... on Error {{ code message path }}
  }}
}}
"""
FAMILY = f"""
mutation F($input: GrantFamilyProxyInput!) {{
  grantFamilyProxy(input: $input) {{
    __typename
    ... on AgentAuthorization {{ {AUTHORIZATION} }}
    ... on Error {{ code message path }}
  }}
}}
"""
REVOKE = f"""
mutation R($input: RevokeAgentInput!) {{
  revokeAgent(input: $input) {{
    __typename
    ... on AgentAuthorization {{ {AUTHORIZATION} }}
    ... on Error {{ code message path }}
  }}
}}
"""
ACT_AS = """
mutation A($input: ActAsInput!) {
  actAs(input: $input) {
    __typename
    ... on AuthPayload { accessToken refreshToken sessionId me { id sessionLevel actingAs { id name } } }
    ... on Error { code message path }
  }
}
"""
REFRESH = """
mutation R($input: RefreshSessionInput!) {
  refreshSession(input: $input) {
    __typename
    ... on AuthPayload { accessToken me { id actingAs { id } } }
    ... on Error { code }
  }
}
"""
ENTERPRISES = "query { myEnterprises { enterprise { id name uscc legalRepName } role authorizationId validTo } }"
AUTHORIZATIONS = "query { myAgentAuthorizations { id kind revokedAt } }"
SCOPE = "query S($code: String!) { agentScopeCheck(serviceCode: $code) { allowed reason } }"
ME = "query { me { id sessionLevel actingAs { id name } } }"

# 实施编码 are opaque to identity: any string of at most 50 characters.
FOOD_LICENCE = "11990100MB00000001X3000107001000"
HYGIENE_LICENCE = "11990100MB00000001X3000107002000"
ROAD_TRANSPORT = "11990100MB00000006X3000107003000"


async def enterprise_and_rep(key: str) -> tuple[Enterprise, Person]:
    """A seeded enterprise and its legal representative, joined the way the service joins them (ID hash)."""
    enterprise = await Enterprise.get(id=seed_id("enterprise", key))
    rep = await Person.get(id_number_hash=enterprise.legal_rep_id_hash)
    return enterprise, rep


async def sign_in_resident(api: Api, person: Person) -> Signed:
    # The same phone gets a new code only after 60 s: move past the resend throttle before each sign-in.
    api.live.clock.advance(timedelta(seconds=61))
    assert person.mobile is not None
    return await api.sign_in(person.mobile)


def later(api: Api, delta: timedelta) -> str:
    return (api.live.clock.now() + delta).astimezone(SHANGHAI).isoformat(timespec="seconds")


async def grant(api: Api, token: str, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(GRANT, {"input": fields}, token))["grantAgent"]
    return result


async def family(api: Api, token: str, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(FAMILY, {"input": fields}, token))["grantFamilyProxy"]
    return result


async def revoke(api: Api, token: str, authorization_id: str) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(REVOKE, {"input": {"authorizationId": authorization_id}}, token))[
        "revokeAgent"
    ]
    return result


async def act_as(api: Api, token: str, enterprise_id: str | None) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(ACT_AS, {"input": {"enterpriseId": enterprise_id}}, token))["actAs"]
    return result


async def scope_check(api: Api, token: str, code: str) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(SCOPE, {"code": code}, token))["agentScopeCheck"]
    return result


async def memberships(api: Api, token: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = (await api.data(ENTERPRISES, token=token))["myEnterprises"]
    return result


async def refused(api: Api, token: str) -> None:
    response = await api.post({"query": ME}, token)
    assert response.status_code == 401, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


class TestMyEnterprises:
    async def test_the_legal_representative_sees_the_enterprise(self, api: Api) -> None:
        # given
        enterprise, rep = await enterprise_and_rep("canyin")

        # when
        session = await sign_in_resident(api, rep)
        listed = await memberships(api, session.access_token)

        # then
        assert listed == [
            {
                "enterprise": {
                    "id": str(enterprise.id),
                    "name": "云溪演示餐饮有限公司",
                    "uscc": enterprise.uscc,
                    "legalRepName": rep.name,
                },
                "role": "LEGAL_REPRESENTATIVE",
                "authorizationId": None,
                "validTo": None,
            }
        ]
        assert (await api.data(ME, token=session.access_token))["me"]["sessionLevel"] == "L2"

    async def test_a_seeded_agent_sees_the_enterprise_as_agent(self, api: Api) -> None:
        # given: resident 10 is the 经办人 of the technology company, for every service
        enterprise, _ = await enterprise_and_rep("keji")
        agent = await Person.get(id=seed_id("person", 10))
        authorization = await AgentAuthorization.get(principal_id=enterprise.id, agent_person_id=agent.id)

        # when
        session = await sign_in_resident(api, agent)
        listed = await memberships(api, session.access_token)

        # then
        assert [(m["enterprise"]["id"], m["role"], m["authorizationId"]) for m in listed] == [
            (str(enterprise.id), "AGENT", str(authorization.id))
        ]

    async def test_a_resident_with_no_enterprise_sees_none(self, api: Api) -> None:
        # when
        session = await api.sign_in()

        # then
        assert await memberships(api, session.access_token) == []


class TestGrantAgent:
    async def test_grants_a_listed_scope_that_the_agent_then_sees(self, api: Api) -> None:
        # given
        enterprise, rep = await enterprise_and_rep("keji")
        agent = await api.sign_in()
        rep_session = await sign_in_resident(api, rep)
        valid_to = later(api, timedelta(days=90))

        # when
        result = await grant(
            api,
            rep_session.access_token,
            enterpriseId=str(enterprise.id),
            agentPhone=agent.phone,
            serviceCodes=[f" {HYGIENE_LICENCE} ", FOOD_LICENCE, FOOD_LICENCE],
            validTo=valid_to,
            note="门店经理",
        )

        # then
        assert result["__typename"] == "AgentAuthorization"
        assert {k: v for k, v in result.items() if k not in ("id", "validFrom")} == {
            "__typename": "AgentAuthorization",
            "kind": "STAFF",
            "principalType": "ENTERPRISE",
            "principalId": str(enterprise.id),
            "agentPersonId": agent.person_id,
            "allServices": False,
            "serviceCodes": [FOOD_LICENCE, HYGIENE_LICENCE],
            "validTo": valid_to,
            "revokedAt": None,
            "consentText": "",
        }
        row = await AgentAuthorization.get(id=result["id"])
        assert row.granted_by_person_id == rep.id and row.evidence == "门店经理"
        assert [
            (m["enterprise"]["id"], m["role"], m["authorizationId"]) for m in await memberships(api, agent.access_token)
        ] == [(str(enterprise.id), "AGENT", result["id"])]

    async def test_grants_all_services_for_one_year_by_default(self, api: Api) -> None:
        # given
        enterprise, rep = await enterprise_and_rep("wuliu")
        agent = await api.sign_in()
        rep_session = await sign_in_resident(api, rep)

        # when
        result = await grant(
            api, rep_session.access_token, enterpriseId=str(enterprise.id), agentPhone=agent.phone, allServices=True
        )

        # then
        assert result["__typename"] == "AgentAuthorization"
        assert result["allServices"] is True and result["serviceCodes"] == []
        row = await AgentAuthorization.get(id=result["id"])
        assert row.valid_to - row.valid_from == timedelta(days=365)

    async def test_a_non_legal_representative_is_refused_and_nothing_is_created(self, api: Api) -> None:
        # given: resident 6 is an agent of the logistics company, not its legal representative
        enterprise, _ = await enterprise_and_rep("wuliu")
        caller = await sign_in_resident(api, await Person.get(id=seed_id("person", 6)))
        agent = await api.sign_in()
        before = await AgentAuthorization.all().count()

        # when
        result = await grant(
            api, caller.access_token, enterpriseId=str(enterprise.id), agentPhone=agent.phone, allServices=True
        )

        # then
        assert result == {
            "__typename": "ForbiddenError",
            "code": "NOT_LEGAL_REPRESENTATIVE",
            "message": "only the legal representative may do this",
            "path": None,
        }
        assert await AgentAuthorization.all().count() == before

    async def test_a_malformed_agent_phone_is_refused(self, api: Api) -> None:
        # given
        enterprise, rep = await enterprise_and_rep("yiyao")
        rep_session = await sign_in_resident(api, rep)
        before = await AgentAuthorization.all().count()

        for bad in ("12345", "2" + fresh_phone()[1:], "1700000000a", ""):
            # when
            result = await grant(
                api, rep_session.access_token, enterpriseId=str(enterprise.id), agentPhone=bad, allServices=True
            )

            # then
            assert result == {
                "__typename": "InvalidInputError",
                "code": "INVALID_PHONE",
                "message": "not a mainland mobile number",
                "path": ["agentPhone"],
            }
        assert await AgentAuthorization.all().count() == before

    async def test_a_phone_nobody_signed_in_with_is_refused(self, api: Api) -> None:
        # given
        enterprise, rep = await enterprise_and_rep("yiyao")
        rep_session = await sign_in_resident(api, rep)
        before = await AgentAuthorization.all().count()

        # when
        result = await grant(
            api, rep_session.access_token, enterpriseId=str(enterprise.id), agentPhone=fresh_phone(), allServices=True
        )

        # then
        assert result["__typename"] == "NotFoundError"
        assert (result["code"], result["path"]) == ("AGENT_NOT_FOUND", ["agentPhone"])
        assert await AgentAuthorization.all().count() == before

    async def test_an_unknown_or_garbage_enterprise_id_is_refused(self, api: Api) -> None:
        # given
        caller, agent = await api.sign_in(), await api.sign_in()
        before = await AgentAuthorization.all().count()

        # when
        unknown = await grant(
            api, caller.access_token, enterpriseId=str(uuid.uuid4()), agentPhone=agent.phone, allServices=True
        )
        garbage = await grant(
            api, caller.access_token, enterpriseId="not-an-id", agentPhone=agent.phone, allServices=True
        )

        # then
        assert unknown == {
            "__typename": "NotFoundError",
            "code": "NOT_FOUND",
            "message": "no such enterprise",
            "path": ["enterpriseId"],
        }
        assert garbage == {
            "__typename": "InvalidInputError",
            "code": "INVALID_ID",
            "message": "not a valid id",
            "path": ["enterpriseId"],
        }
        assert await AgentAuthorization.all().count() == before

    async def test_a_window_in_the_past_or_beyond_three_years_is_refused(self, api: Api) -> None:
        # given
        enterprise, rep = await enterprise_and_rep("shipin")
        agent = await api.sign_in()
        rep_session = await sign_in_resident(api, rep)
        before = await AgentAuthorization.all().count()

        for valid_to, message in (
            (later(api, -timedelta(days=1)), "the end of the authorization must be in the future"),
            (later(api, timedelta(days=3 * 365 + 1)), "an authorization lasts three years at most"),
        ):
            # when
            result = await grant(
                api,
                rep_session.access_token,
                enterpriseId=str(enterprise.id),
                agentPhone=agent.phone,
                allServices=True,
                validTo=valid_to,
            )

            # then
            assert result == {
                "__typename": "InvalidInputError",
                "code": "INVALID_WINDOW",
                "message": message,
                "path": ["validTo"],
            }
        assert await AgentAuthorization.all().count() == before

    async def test_a_scope_both_all_and_listed_or_neither_is_refused(self, api: Api) -> None:
        # given
        enterprise, rep = await enterprise_and_rep("shipin")
        agent = await api.sign_in()
        rep_session = await sign_in_resident(api, rep)
        before = await AgentAuthorization.all().count()

        for all_services, codes, message in (
            (True, [FOOD_LICENCE], "choose all services or a list, not both"),
            (False, [], "name at least one service, or all"),
            (False, ["  "], "name at least one service, or all"),
            (False, ["x" * 51], "a service code has at most 50 characters"),
        ):
            # when
            result = await grant(
                api,
                rep_session.access_token,
                enterpriseId=str(enterprise.id),
                agentPhone=agent.phone,
                allServices=all_services,
                serviceCodes=codes,
            )

            # then
            assert result == {
                "__typename": "InvalidInputError",
                "code": "INVALID_SCOPE",
                "message": message,
                "path": ["serviceCodes"],
            }
        assert await AgentAuthorization.all().count() == before

    async def test_the_legal_representative_cannot_grant_to_themselves(self, api: Api) -> None:
        # given
        enterprise, rep = await enterprise_and_rep("canyin")
        rep_session = await sign_in_resident(api, rep)
        before = await AgentAuthorization.all().count()

        # when
        result = await grant(
            api,
            rep_session.access_token,
            enterpriseId=str(enterprise.id),
            agentPhone=rep_session.phone,
            allServices=True,
        )

        # then
        assert result == {
            "__typename": "InvalidInputError",
            "code": "AGENT_IS_LEGAL_REP",
            "message": "the legal representative acts without an authorization",
            "path": ["agentPhone"],
        }
        assert await AgentAuthorization.all().count() == before


class TestActAs:
    async def test_an_agent_acts_for_the_enterprise_with_new_tokens(self, api: Api) -> None:
        # given
        enterprise, rep = await enterprise_and_rep("keji")
        agent = await api.sign_in()
        rep_session = await sign_in_resident(api, rep)
        granted = await grant(
            api, rep_session.access_token, enterpriseId=str(enterprise.id), agentPhone=agent.phone, allServices=True
        )

        # when
        result = await act_as(api, agent.access_token, str(enterprise.id))

        # then
        assert result["__typename"] == "AuthPayload" and result["sessionId"] == agent.session_id
        assert result["accessToken"] != agent.access_token
        acting = {"id": str(enterprise.id), "name": enterprise.name}
        assert result["me"]["actingAs"] == acting
        assert (await api.data(ME, token=result["accessToken"]))["me"]["actingAs"] == acting
        head = await Session.get(family_id=agent.session_id, replaced_by_id=None)
        assert head.acting_as_enterprise_id == enterprise.id and str(head.agent_authorization_id) == granted["id"]

    async def test_the_legal_representative_acts_without_an_authorization(self, api: Api) -> None:
        # given
        enterprise, rep = await enterprise_and_rep("canyin")
        rep_session = await sign_in_resident(api, rep)

        # when
        result = await act_as(api, rep_session.access_token, str(enterprise.id))

        # then
        assert result["__typename"] == "AuthPayload" and result["me"]["actingAs"]["id"] == str(enterprise.id)
        assert await scope_check(api, result["accessToken"], FOOD_LICENCE) == {
            "allowed": True,
            "reason": "LEGAL_REPRESENTATIVE",
        }

    async def test_acting_for_oneself_again(self, api: Api) -> None:
        # given
        enterprise, rep = await enterprise_and_rep("wuliu")
        rep_session = await sign_in_resident(api, rep)
        acting = await act_as(api, rep_session.access_token, str(enterprise.id))

        # when
        result = await act_as(api, acting["accessToken"], None)

        # then
        assert result["__typename"] == "AuthPayload" and result["me"]["actingAs"] is None
        assert (await api.data(ME, token=result["accessToken"]))["me"]["actingAs"] is None

    async def test_someone_without_an_authorization_is_refused(self, api: Api) -> None:
        # given
        enterprise, _ = await enterprise_and_rep("yiyao")
        stranger = await api.sign_in()

        # when
        result = await act_as(api, stranger.access_token, str(enterprise.id))

        # then
        assert result == {
            "__typename": "ForbiddenError",
            "code": "AGENT_NOT_AUTHORIZED",
            "message": "you are not an authorized agent of this enterprise",
            "path": None,
        }
        assert await Session.filter(family_id=stranger.session_id).count() == 1

    async def test_an_unknown_or_garbage_enterprise_is_not_found(self, api: Api) -> None:
        # given
        caller = await api.sign_in()

        for enterprise_id in (str(uuid.uuid4()), "garbage"):
            # when
            result = await act_as(api, caller.access_token, enterprise_id)

            # then
            assert result == {
                "__typename": "NotFoundError",
                "code": "NOT_FOUND",
                "message": "no such enterprise",
                "path": ["enterpriseId"],
            }
        assert await Session.filter(family_id=caller.session_id).count() == 1


class TestAgentScopeCheck:
    async def test_an_agent_is_allowed_in_scope_and_refused_outside(self, api: Api) -> None:
        # given
        enterprise, rep = await enterprise_and_rep("wuliu")
        agent = await api.sign_in()
        rep_session = await sign_in_resident(api, rep)
        await grant(
            api,
            rep_session.access_token,
            enterpriseId=str(enterprise.id),
            agentPhone=agent.phone,
            serviceCodes=[ROAD_TRANSPORT],
        )
        acting = await act_as(api, agent.access_token, str(enterprise.id))

        # when
        inside = await scope_check(api, acting["accessToken"], f" {ROAD_TRANSPORT} ")
        outside = await scope_check(api, acting["accessToken"], FOOD_LICENCE)

        # then
        assert inside == {"allowed": True, "reason": "AGENT_IN_SCOPE"}
        assert outside == {"allowed": False, "reason": "AGENT_OUT_OF_SCOPE"}

    async def test_acting_for_oneself_is_always_allowed(self, api: Api) -> None:
        # given
        caller = await api.sign_in()

        # when
        result = await scope_check(api, caller.access_token, FOOD_LICENCE)

        # then
        assert result == {"allowed": True, "reason": "SELF"}

    async def test_an_expired_authorization_no_longer_allows_anything(self, api: Api) -> None:
        # given: a grant of ten minutes, acted on, then eleven minutes pass (the access token lives fifteen)
        enterprise, rep = await enterprise_and_rep("shipin")
        agent = await api.sign_in()
        rep_session = await sign_in_resident(api, rep)
        granted = await grant(
            api,
            rep_session.access_token,
            enterpriseId=str(enterprise.id),
            agentPhone=agent.phone,
            allServices=True,
            validTo=later(api, timedelta(minutes=10)),
        )
        acting = await act_as(api, agent.access_token, str(enterprise.id))
        assert await scope_check(api, acting["accessToken"], FOOD_LICENCE) == {
            "allowed": True,
            "reason": "AGENT_IN_SCOPE",
        }

        # when
        api.live.clock.advance(timedelta(minutes=11))

        # then
        assert await scope_check(api, acting["accessToken"], FOOD_LICENCE) == {
            "allowed": False,
            "reason": "AGENT_AUTHORIZATION_EXPIRED",
        }
        refused_again = await act_as(api, acting["accessToken"], str(enterprise.id))
        assert refused_again == {
            "__typename": "ForbiddenError",
            "code": "AGENT_AUTHORIZATION_EXPIRED",
            "message": "you are not an authorized agent of this enterprise",
            "path": None,
        }
        assert await memberships(api, acting["accessToken"]) == []
        # A refresh drops the expired acting, so the new tokens act for the agent alone.
        refreshed = (await api.data(REFRESH, {"input": {"refreshToken": acting["refreshToken"]}}))["refreshSession"]
        assert refreshed["__typename"] == "AuthPayload" and refreshed["me"]["actingAs"] is None
        assert (await AgentAuthorization.get(id=granted["id"])).revoked_at is None


class TestRevokeAgent:
    async def test_revoking_ends_the_agents_acting_session_and_further_acting(self, api: Api) -> None:
        # given
        enterprise, rep = await enterprise_and_rep("yiyao")
        agent = await api.sign_in()
        rep_session = await sign_in_resident(api, rep)
        granted = await grant(
            api, rep_session.access_token, enterpriseId=str(enterprise.id), agentPhone=agent.phone, allServices=True
        )
        acting = await act_as(api, agent.access_token, str(enterprise.id))

        # when
        result = await revoke(api, rep_session.access_token, granted["id"])

        # then
        assert result["__typename"] == "AgentAuthorization" and result["id"] == granted["id"]
        assert result["revokedAt"] is not None
        await refused(api, acting["accessToken"])
        refreshed = (await api.data(REFRESH, {"input": {"refreshToken": acting["refreshToken"]}}))["refreshSession"]
        assert refreshed == {"__typename": "AuthenticationError", "code": "SESSION_REVOKED"}
        again = await sign_in_resident(api, await Person.get(id=agent.person_id))
        refused_again = await act_as(api, again.access_token, str(enterprise.id))
        assert refused_again["__typename"] == "ForbiddenError"
        assert refused_again["code"] == "AGENT_AUTHORIZATION_REVOKED"
        assert await memberships(api, again.access_token) == []
        # The legal representative's own session is untouched.
        assert (await api.data(ME, token=rep_session.access_token))["me"]["id"] == str(rep.id)

    async def test_someone_else_cannot_revoke_and_nothing_changes(self, api: Api) -> None:
        # given: a 亲友代办 granted by resident 12, and the seeded 经办人 of the food company
        principal = await sign_in_resident(api, await Person.get(id=seed_id("person", 12)))
        agent = await api.sign_in()
        proxy = await family(api, principal.access_token, agentPhone=agent.phone, consentText="本人同意授权代办。")
        staff = await AgentAuthorization.get(id=seed_id("agent", "enterprise:shipin"))
        outsider = await api.sign_in()

        # when
        by_agent = await revoke(api, agent.access_token, proxy["id"])
        by_outsider = await revoke(api, outsider.access_token, str(staff.id))

        # then
        assert by_agent == {
            "__typename": "ForbiddenError",
            "code": "NOT_PRINCIPAL",
            "message": "only the principal may revoke this authorization",
            "path": None,
        }
        assert by_outsider == {
            "__typename": "ForbiddenError",
            "code": "NOT_LEGAL_REPRESENTATIVE",
            "message": "only the legal representative may do this",
            "path": None,
        }
        assert (await AgentAuthorization.get(id=proxy["id"])).revoked_at is None
        assert (await AgentAuthorization.get(id=staff.id)).revoked_at is None

    async def test_an_unknown_or_garbage_id_is_not_found(self, api: Api) -> None:
        # given
        caller = await api.sign_in()

        for authorization_id in (str(uuid.uuid4()), "garbage"):
            # when
            result = await revoke(api, caller.access_token, authorization_id)

            # then
            assert result == {
                "__typename": "NotFoundError",
                "code": "NOT_FOUND",
                "message": "no such authorization",
                "path": ["authorizationId"],
            }

    async def test_revoking_twice_keeps_the_first_revocation(self, api: Api) -> None:
        # given
        principal = await sign_in_resident(api, await Person.get(id=seed_id("person", 13)))
        agent = await api.sign_in()
        proxy = await family(api, principal.access_token, agentPhone=agent.phone, consentText="本人同意授权代办。")
        first = await revoke(api, principal.access_token, proxy["id"])
        api.live.clock.advance(timedelta(seconds=5))

        # when
        second = await revoke(api, principal.access_token, proxy["id"])

        # then
        assert second == first and first["revokedAt"] is not None


class TestGrantFamilyProxy:
    async def test_an_l2_principal_authorizes_a_relative_with_consent(self, api: Api) -> None:
        # given
        principal_row = await Person.get(id=seed_id("person", 16))
        agent = await api.sign_in()
        principal = await sign_in_resident(api, principal_row)

        # when
        result = await family(
            api,
            principal.access_token,
            agentPhone=agent.phone,
            consentText="本人授权亲属代为办理社保业务。",
            relationship="配偶",
            allServices=False,
            serviceCodes=[FOOD_LICENCE],
        )

        # then
        assert {k: v for k, v in result.items() if k not in ("id", "validFrom", "validTo")} == {
            "__typename": "AgentAuthorization",
            "kind": "FAMILY",
            "principalType": "PERSON",
            "principalId": str(principal_row.id),
            "agentPersonId": agent.person_id,
            "allServices": False,
            "serviceCodes": [FOOD_LICENCE],
            "revokedAt": None,
            "consentText": "本人授权亲属代为办理社保业务。",
        }
        row = await AgentAuthorization.get(id=result["id"])
        assert row.evidence == "配偶" and row.granted_by_person_id == principal_row.id
        held = (await api.data(AUTHORIZATIONS, token=agent.access_token))["myAgentAuthorizations"]
        assert held == [{"id": result["id"], "kind": "FAMILY", "revokedAt": None}]

    async def test_empty_consent_is_refused(self, api: Api) -> None:
        # given
        agent = await api.sign_in()
        principal = await sign_in_resident(api, await Person.get(id=seed_id("person", 12)))
        before = await AgentAuthorization.all().count()

        for consent in ("", "   "):
            # when
            result = await family(api, principal.access_token, agentPhone=agent.phone, consentText=consent)

            # then
            assert result == {
                "__typename": "InvalidInputError",
                "code": "CONSENT_REQUIRED",
                "message": "the principal's consent must be recorded",
                "path": ["consentText"],
            }
        assert await AgentAuthorization.all().count() == before

    async def test_an_l0_principal_is_refused(self, api: Api) -> None:
        # given
        caller, agent = await api.sign_in(), await api.sign_in()
        before = await AgentAuthorization.all().count()

        # when
        result = await family(api, caller.access_token, agentPhone=agent.phone, consentText="本人同意授权代办。")

        # then
        assert result == {
            "__typename": "ForbiddenError",
            "code": "ASSURANCE_TOO_LOW",
            "message": "authorizing a relative needs an L2 session",
            "path": None,
        }
        assert await AgentAuthorization.all().count() == before

    async def test_authorizing_oneself_is_refused(self, api: Api) -> None:
        # given
        principal = await sign_in_resident(api, await Person.get(id=seed_id("person", 13)))
        before = await AgentAuthorization.all().count()

        # when
        result = await family(api, principal.access_token, agentPhone=principal.phone, consentText="本人同意授权代办。")

        # then
        assert result == {
            "__typename": "InvalidInputError",
            "code": "AGENT_IS_PRINCIPAL",
            "message": "you cannot authorize yourself",
            "path": ["agentPhone"],
        }
        assert await AgentAuthorization.all().count() == before
