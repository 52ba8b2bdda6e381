"""Operator sign-in (password + TOTP), operator tokens and the wall between operator and citizen operations.

TOTP replay protection remembers the last step per operator, so each test signs in a different seeded operator.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pyotp

from api.models import Operator, Session
from api.seed.context import seed_id
from api.seed.operators import DEMO_PASSWORD, demo_totp_secret
from tests.support.client import Api

SIGN_IN = """
mutation O($input: OperatorSignInInput!) {
  operatorSignIn(input: $input) {
    __typename
    ... on OperatorAuthPayload {
      accessToken refreshToken sessionId operator { id username name roles departmentId }
    }
    ... on RateLimitedError { retryAfterMs }
    ... on Error { code message path }
  }
}
"""
OPERATOR_ME = "query { operatorMe { id username roles departmentId } }"
REFRESH = """
mutation R($input: RefreshSessionInput!) {
  refreshSession(input: $input) {
    __typename
    ... on OperatorAuthPayload { accessToken refreshToken sessionId operator { username roles } }
    ... on AuthPayload { sessionId }
    ... on Error { code message }
  }
}
"""
GRANT_AGENT = """
mutation G($input: GrantAgentInput!) {
  grantAgent(input: $input) { __typename ... on Error { code } }
}
"""
ACT_AS = "mutation A($input: ActAsInput!) { actAs(input: $input) { __typename } }"
INVALID = {
    "__typename": "AuthenticationError",
    "code": "INVALID_CREDENTIALS",
    "message": "wrong username, password or code",
    "path": None,
}


def current_code(api: Api, username: str) -> str:
    code: str = pyotp.TOTP(demo_totp_secret(username)).at(api.live.clock.now().timestamp())
    return code


def wrong_code(api: Api, username: str) -> str:
    """A six-digit code that none of the accepted steps (current, one before, one after) produces."""
    totp, now = pyotp.TOTP(demo_totp_secret(username)), api.live.clock.now().timestamp()
    accepted = {totp.at(now + drift) for drift in (-30, 0, 30)}
    return next(code for code in (f"{n:06d}" for n in range(1_000_000)) if code not in accepted)


async def operator_sign_in(
    api: Api, username: str, password: str = DEMO_PASSWORD, code: str | None = None
) -> dict[str, Any]:
    variables = {
        "input": {
            "username": username,
            "password": password,
            "totpCode": current_code(api, username.strip().lower()) if code is None else code,
        }
    }
    result: dict[str, Any] = (await api.data(SIGN_IN, variables))["operatorSignIn"]
    return result


async def sessions_of(username: str) -> int:
    return await Session.filter(operator_id=seed_id("operator", username)).count()


async def last_step(username: str) -> int:
    step: int = (await Operator.get(username=username)).last_totp_step
    return step


async def top_level_code(api: Api, query: str, token: str, variables: dict[str, Any] | None = None) -> str:
    body = await api.gql(query, variables, token)
    assert body["data"] is None, body
    code: str = body["errors"][0]["extensions"]["code"]
    return code


@asynccontextmanager
async def other_client(api: Api) -> AsyncIterator[Api]:
    """Another client, from another IP address."""
    async with Api.connect(api.live) as client:
        yield client


class TestOperatorSignIn:
    async def test_the_password_and_the_current_code_sign_in_with_roles(self, api: Api) -> None:
        # given
        username = "handler.scjg"
        before, started = await sessions_of(username), api.live.clock.now()

        # when
        result = await operator_sign_in(api, username)

        # then
        assert result["__typename"] == "OperatorAuthPayload"
        assert result["operator"] == {
            "id": str(seed_id("operator", username)),
            "username": username,
            "name": "钱演示甲",
            "roles": ["case_handler"],
            "departmentId": str(seed_id("organization", "scjg")),
        }
        assert await sessions_of(username) == before + 1
        session = await Session.get(family_id=result["sessionId"])
        assert session.person_id is None and session.auth_method.value == "PASSWORD_TOTP"
        assert session.channel.value == "OPERATOR_CONSOLE"
        # Operator sessions are short: twelve hours.
        assert started + timedelta(hours=12) <= session.expires_at <= api.live.clock.now() + timedelta(hours=12)

    async def test_the_username_is_case_and_space_insensitive(self, api: Api) -> None:
        # when
        result = await operator_sign_in(api, "  Catalog.Admin ")

        # then
        assert result["__typename"] == "OperatorAuthPayload"
        assert result["operator"]["username"] == "catalog.admin" and result["operator"]["roles"] == ["catalog_admin"]

    async def test_a_code_works_once(self, api: Api) -> None:
        # given
        username = "handler.ga"
        code = current_code(api, username)
        assert (await operator_sign_in(api, username, code=code))["__typename"] == "OperatorAuthPayload"
        before, step = await sessions_of(username), await last_step(username)

        # when
        replay = await operator_sign_in(api, username, code=code)

        # then
        assert replay == INVALID
        assert await sessions_of(username) == before and await last_step(username) == step

    async def test_a_wrong_password_is_refused_and_the_code_is_not_spent(self, api: Api) -> None:
        # given
        username = "handler.rsj"
        before, step = await sessions_of(username), await last_step(username)
        code = current_code(api, username)

        # when
        result = await operator_sign_in(api, username, password="Demo-2026!zsb-wrong", code=code)

        # then
        assert result == INVALID
        assert await sessions_of(username) == before and await last_step(username) == step
        assert (await operator_sign_in(api, username, code=code))["__typename"] == "OperatorAuthPayload"

    async def test_a_wrong_code_is_refused(self, api: Api) -> None:
        # given
        username = "handler.mzj"
        before, step = await sessions_of(username), await last_step(username)

        for code in (wrong_code(api, username), "", "abcdef"):
            # when
            result = await operator_sign_in(api, username, code=code)

            # then
            assert result == INVALID
        assert await sessions_of(username) == before and await last_step(username) == step

    async def test_an_unknown_username_gets_the_same_answer(self, api: Api) -> None:
        # given
        before = await Session.filter(person_id=None).count()

        # when
        result = await operator_sign_in(api, "nobody.here", code="123456")

        # then
        assert result == INVALID
        assert await Session.filter(person_id=None).count() == before

    async def test_a_disabled_operator_cannot_sign_in_nor_refresh(self, api: Api) -> None:
        # given
        username = "handler.bsyb"
        signed = await operator_sign_in(api, username)
        assert signed["__typename"] == "OperatorAuthPayload"
        api.live.clock.advance(timedelta(seconds=30))  # the next code is of a new step
        await Operator.filter(username=username).update(disabled_at=api.live.clock.now())
        try:
            before, step = await sessions_of(username), await last_step(username)

            # when
            result = await operator_sign_in(api, username)
            refreshed = (await api.data(REFRESH, {"input": {"refreshToken": signed["refreshToken"]}}))["refreshSession"]

            # then
            assert result == INVALID
            assert refreshed == {
                "__typename": "AuthenticationError",
                "code": "UNAUTHENTICATED",
                "message": "operator account disabled",
            }
            assert await sessions_of(username) == before and await last_step(username) == step
            assert await top_level_code(api, OPERATOR_ME, signed["accessToken"]) == "UNAUTHENTICATED"
        finally:
            await Operator.filter(username=username).update(disabled_at=None)

    async def test_more_than_ten_attempts_a_minute_on_one_username_are_rate_limited(self, api: Api) -> None:
        # given: ten wrong passwords for one username, from two addresses
        username = "supervisor.city"
        async with other_client(api) as second:
            for client in [api] * 5 + [second] * 5:
                assert (await operator_sign_in(client, username, password="guess"))["code"] == "INVALID_CREDENTIALS"
        before, step = await sessions_of(username), await last_step(username)

        async with other_client(api) as third:
            for spelling in (username, f" {username}", username.upper()):
                # when: the right credentials from a third address, however the username is spelled
                result = await operator_sign_in(third, spelling)

                # then
                assert result["__typename"] == "RateLimitedError", result
                assert result["code"] == "RATE_LIMITED" and 0 < result["retryAfterMs"] <= 6_000
            assert await sessions_of(username) == before and await last_step(username) == step

            # and a minute later the bucket has refilled
            third.live.clock.advance(timedelta(seconds=61))
            assert (await operator_sign_in(third, username))["__typename"] == "OperatorAuthPayload"

    async def test_more_than_ten_attempts_a_minute_from_one_address_are_rate_limited(self, api: Api) -> None:
        # given: ten attempts on ten made-up usernames from one address
        for n in range(10):
            assert (await operator_sign_in(api, f"guess.{uuid.uuid4().hex[:8]}.{n}", code="000000")) == INVALID
        username = "finance.city"
        before, step = await sessions_of(username), await last_step(username)

        # when
        result = await operator_sign_in(api, username)

        # then
        assert result["__typename"] == "RateLimitedError" and result["code"] == "RATE_LIMITED"
        assert await sessions_of(username) == before and await last_step(username) == step


class TestOperatorMe:
    async def test_shows_the_signed_in_operator(self, api: Api) -> None:
        # given
        signed = await operator_sign_in(api, "handler.wjw")

        # when
        me = (await api.data(OPERATOR_ME, token=signed["accessToken"]))["operatorMe"]

        # then
        assert me == {
            "id": str(seed_id("operator", "handler.wjw")),
            "username": "handler.wjw",
            "roles": ["case_handler"],
            "departmentId": str(seed_id("organization", "wjw")),
        }

    async def test_a_citizen_token_is_forbidden(self, api: Api) -> None:
        # given
        citizen = await api.sign_in()

        # when
        code = await top_level_code(api, OPERATOR_ME, citizen.access_token)

        # then
        assert code == "FORBIDDEN"

    async def test_without_a_token_the_caller_must_sign_in(self, api: Api) -> None:
        # when
        body = await api.gql(OPERATOR_ME)

        # then
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


class TestOperatorTokensOnCitizenOperations:
    async def test_are_forbidden_and_change_nothing(self, api: Api) -> None:
        # given
        signed = await operator_sign_in(api, "handler.jtj")
        token = signed["accessToken"]
        enterprise_id = str(seed_id("enterprise", "canyin"))
        grant = {"input": {"enterpriseId": enterprise_id, "agentPhone": "19900000020", "allServices": True}}

        # when / then
        assert await top_level_code(api, "query { me { id } }", token) == "FORBIDDEN"
        assert await top_level_code(api, "query { mySessions { id } }", token) == "FORBIDDEN"
        assert await top_level_code(api, "query { myEnterprises { role } }", token) == "FORBIDDEN"
        assert (
            await top_level_code(api, 'query { agentScopeCheck(serviceCode: "x") { allowed } }', token) == "FORBIDDEN"
        )
        assert await top_level_code(api, GRANT_AGENT, token, grant) == "FORBIDDEN"
        act_as = {"input": {"enterpriseId": enterprise_id}}
        assert await top_level_code(api, ACT_AS, token, act_as) == "FORBIDDEN"
        assert await Session.filter(family_id=signed["sessionId"]).count() == 1
        assert (await api.data(OPERATOR_ME, token=token))["operatorMe"]["username"] == "handler.jtj"


class TestRefreshOperatorSession:
    async def test_an_operator_refresh_token_rotates_into_operator_tokens(self, api: Api) -> None:
        # given
        signed = await operator_sign_in(api, "handler.qsxzsp")

        # when
        refreshed = (await api.data(REFRESH, {"input": {"refreshToken": signed["refreshToken"]}}))["refreshSession"]

        # then
        assert refreshed["__typename"] == "OperatorAuthPayload"
        assert refreshed["sessionId"] == signed["sessionId"] and refreshed["refreshToken"] != signed["refreshToken"]
        assert refreshed["operator"] == {"username": "handler.qsxzsp", "roles": ["case_handler"]}
        me = (await api.data(OPERATOR_ME, token=refreshed["accessToken"]))["operatorMe"]
        assert me["username"] == "handler.qsxzsp"
        assert await top_level_code(api, "query { me { id } }", refreshed["accessToken"]) == "FORBIDDEN"
