"""Callers and documents for the notifications GraphQL tests: a resident, operators by role, the demo producer.

Operators sign in with a TOTP step they have not used yet (read from their row) and keep their token for the
session, so that the shared clock is never moved and other tests' sign-ins are not spent.
"""

from __future__ import annotations

import asyncio
import time as wallclock
from typing import Any

from api.seed.operators import SERVICE_NAME, SERVICE_SECRET
from tests.support.client import Api
from tests.support.notifications_world import operator_sign_in

AUTHOR, APPROVER, OTHER_OPERATOR = "campaign.author", "campaign.approver", "supervisor.city"
LEAD = "campaign.lead"  # holds both campaign roles
ERROR = "... on Error { code message path }"

SERVICE_SIGN_IN = f"""
mutation S($input: SignInServiceInput!) {{
  signInService(input: $input) {{
    __typename ... on ServiceAuthPayload {{ accessToken accessTokenExpiresAt name scopes }}
    ... on RateLimitedError {{ retryAfterMs }} {ERROR}
  }}
}}"""

_tokens: dict[tuple[int, str], tuple[str, float]] = {}


async def operator(api: Api, username: str) -> str:
    key = (id(api.live), username)
    cached = _tokens.get(key)
    if cached is not None and wallclock.monotonic() - cached[1] < 600:
        return cached[0]
    token = await operator_sign_in(api, username)
    _tokens[key] = (token, wallclock.monotonic())
    return token


async def service(api: Api) -> str:
    key = (id(api.live), "service")
    cached = _tokens.get(key)
    if cached is not None and wallclock.monotonic() - cached[1] < 600:
        return cached[0]
    variables = {"input": {"name": SERVICE_NAME, "secret": SERVICE_SECRET}}
    result = (await api.data(SERVICE_SIGN_IN, variables))["signInService"]
    assert result["__typename"] == "ServiceAuthPayload", result
    token: str = result["accessToken"]
    _tokens[key] = (token, wallclock.monotonic())
    return token


def codes(body: dict[str, Any]) -> list[str | None]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


async def gql(api: Api, document: str, variables: dict[str, Any] | None = None, token: str | None = None) -> Any:
    """The response body; an operator's token serves a whole module, so a 429 of its identity bucket waits."""
    for _ in range(20):
        response = await api.post({"query": document, "variables": variables or {}}, token)
        if response.status_code != 429:
            assert response.status_code == 200, response.text
            return response.json()
        await asyncio.sleep(response.json()["errors"][0]["extensions"]["retryAfterMs"] / 1000 + 0.05)
    raise AssertionError("still rate-limited")


async def data(api: Api, document: str, variables: dict[str, Any] | None = None, token: str | None = None) -> Any:
    body = await gql(api, document, variables, token)
    assert "errors" not in body, body["errors"]
    return body["data"]
