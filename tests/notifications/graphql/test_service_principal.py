"""The service principal (§C14): `signInService` with name and secret, then `emitNotificationEvent`, which answers
the same request id for a repeated event (§C5)."""

from __future__ import annotations

import uuid
from typing import Any

from api.models import NotificationRequest
from api.seed.operators import SERVICE_NAME, SERVICE_SECRET
from tests.notifications.graphql.support import ERROR, SERVICE_SIGN_IN, data, gql, service
from tests.support.client import Api

EMIT = f"""mutation E($input: EmitNotificationEventInput!) {{
  emitNotificationEvent(input: $input) {{ __typename ... on NotificationEventEmitted {{ requestId }} {ERROR} }}
}}"""
ME = "query { me { id } }"


async def _sign_in(api: Api, name: str, secret: str) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(SERVICE_SIGN_IN, {"input": {"name": name, "secret": secret}}))[
        "signInService"
    ]
    return result


def _event(recipient: str, key: str, version: int = 1, **overrides: Any) -> dict[str, Any]:
    event = {
        "topic": "application.accepted",
        "key": key,
        "stateVersion": str(version),
        "recipientUserId": recipient,
        "params": {"applicationId": key, "projectNo": "330000-E-0001", "itemName": "食品经营许可"},
    }
    return {"input": event | overrides}


async def _emit(api: Api, token: str, variables: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await data(api, EMIT, variables, token))["emitNotificationEvent"]
    return result


class TestSignInService:
    async def test_issues_a_token_with_the_principals_scopes(self, api: Api) -> None:
        result = await _sign_in(api, SERVICE_NAME, SERVICE_SECRET)
        assert result["__typename"] == "ServiceAuthPayload"
        assert (result["name"], result["scopes"]) == (SERVICE_NAME, ["notifications:emit"])

    async def test_answers_a_wrong_secret_and_an_unknown_name_alike(self, api: Api) -> None:
        wrong = await _sign_in(api, SERVICE_NAME, "not-the-secret")
        unknown = await _sign_in(api, f"nobody-{uuid.uuid4().hex[:8]}", SERVICE_SECRET)
        for result in (wrong, unknown):
            assert (result["__typename"], result["code"]) == ("AuthenticationError", "INVALID_CREDENTIALS")
        assert wrong["message"] == unknown["message"]

    async def test_limits_attempts_per_ip(self, api: Api) -> None:
        name = f"nobody-{uuid.uuid4().hex[:8]}"
        results = [(await _sign_in(api, name, "x"))["__typename"] for _ in range(11)]
        assert results == ["AuthenticationError"] * 10 + ["RateLimitedError"]

    async def test_token_is_refused_by_citizen_fields(self, api: Api) -> None:
        body = await gql(api, ME, None, await service(api))
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


class TestEmitNotificationEvent:
    async def test_answers_the_same_request_id_for_a_repeated_event(self, api: Api) -> None:
        token, resident = await service(api), await api.sign_in()
        key = str(uuid.uuid4())
        first = await _emit(api, token, _event(resident.person_id, key))
        again = await _emit(api, token, _event(resident.person_id, key))
        assert first["__typename"] == "NotificationEventEmitted"
        assert again == first
        assert await NotificationRequest.filter(key=key).count() == 1

    async def test_answers_a_new_request_for_a_new_state_version(self, api: Api) -> None:
        token, resident = await service(api), await api.sign_in()
        key = str(uuid.uuid4())
        first = await _emit(api, token, _event(resident.person_id, key, 1))
        second = await _emit(api, token, _event(resident.person_id, key, 2))
        assert first["requestId"] != second["requestId"]
        assert await NotificationRequest.filter(key=key).count() == 2

    async def test_refuses_a_malformed_recipient_and_stores_nothing(self, api: Api) -> None:
        key = str(uuid.uuid4())
        result = await _emit(api, await service(api), _event("not-an-id", key))
        assert (result["__typename"], result["code"], result["path"]) == (
            "InvalidInputError",
            "INVALID_INPUT",
            ["recipientUserId"],
        )
        assert not await NotificationRequest.filter(key=key).exists()

    async def test_refuses_a_topic_nobody_consumes_and_stores_nothing(self, api: Api) -> None:
        resident, key = await api.sign_in(), str(uuid.uuid4())
        result = await _emit(api, await service(api), _event(resident.person_id, key, topic="weather.sunny"))
        assert (result["__typename"], result["code"], result["path"]) == (
            "InvalidInputError",
            "INVALID_INPUT",
            ["topic"],
        )
        assert not await NotificationRequest.filter(key=key).exists()

    async def test_refuses_params_that_are_not_an_object(self, api: Api) -> None:
        resident, key = await api.sign_in(), str(uuid.uuid4())
        result = await _emit(api, await service(api), _event(resident.person_id, key, params=[1, 2]))
        assert (result["__typename"], result["path"]) == ("InvalidInputError", ["params"])
        assert not await NotificationRequest.filter(key=key).exists()
