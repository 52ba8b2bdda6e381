"""Test client: GraphQL over real HTTP, SMS codes read from the SMS sandbox, one fake client IP per client."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette

from api.kit.clock import ShiftableClock
from api.settings import Settings

_ips = itertools.count(random.randrange(1, 200) * 65536)
# 170 is a virtual-operator prefix: numbers built here never collide with the seed's demo numbers.
_phones = itertools.count(random.randrange(0, 5_000_000))

SIGN_IN = """
mutation SignIn($input: SignInWithSmsInput!) {
  signInWithSms(input: $input) {
    __typename
    ... on AuthPayload { accessToken refreshToken sessionId newAccount me { id sessionLevel assuranceLevel } }
    ... on OtpRejectedError { attemptsLeft }
    ... on Error { code message path }
  }
}
"""
REQUEST_CODE = """
mutation Code($input: RequestSmsCodeInput!) {
  requestSmsCode(input: $input) {
    __typename
    ... on SmsCodeSent { expiresInSeconds resendAfterSeconds }
    ... on RateLimitedError { retryAfterMs }
    ... on Error { code message path }
  }
}
"""


def fresh_phone() -> str:
    return f"170{next(_phones) % 100_000_000:08d}"


@dataclass
class LiveServer:
    base_url: str
    app: Starlette
    settings: Settings
    clock: ShiftableClock


@dataclass(frozen=True)
class Session:
    access_token: str
    refresh_token: str
    session_id: str
    person_id: str
    phone: str


class Api:
    def __init__(self, live: LiveServer, http: httpx.AsyncClient) -> None:
        self.live = live
        self.http = http
        n = next(_ips)
        self.ip = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"

    @classmethod
    @asynccontextmanager
    async def connect(cls, live: LiveServer) -> AsyncIterator[Api]:
        async with httpx.AsyncClient(base_url=live.base_url, timeout=30.0) as http:
            yield cls(live, http)

    def headers(self, token: str | None = None) -> dict[str, str]:
        headers = {"x-forwarded-for": self.ip}
        if token:
            headers["authorization"] = f"Bearer {token}"
        return headers

    async def post(self, body: Any, token: str | None = None, **kwargs: Any) -> httpx.Response:
        return await self.http.post("/graphql", json=body, headers=self.headers(token), **kwargs)

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        response = await self.post({"query": query, "variables": variables or {}}, token)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        body = await self.gql(query, variables, token)
        assert "errors" not in body, body["errors"]
        result: dict[str, Any] = body["data"]
        return result

    async def sms_messages(self, phone: str) -> list[dict[str, Any]]:
        response = await self.http.get("/sandbox/sms/messages", params={"phone": phone})
        assert response.status_code == 200, response.text
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    async def request_code(self, phone: str) -> str:
        result = (await self.data(REQUEST_CODE, {"input": {"phone": phone}}))["requestSmsCode"]
        assert result["__typename"] == "SmsCodeSent", result
        code: str = (await self.sms_messages(phone))[-1]["params"]["code"]
        return code

    async def sign_in(self, phone: str | None = None) -> Session:
        phone = phone or fresh_phone()
        sent = (await self.data(REQUEST_CODE, {"input": {"phone": phone}}))["requestSmsCode"]
        if sent.get("code") == "RATE_LIMITED":
            # A seeded resident another test signed in less than a minute ago: one code per minute per phone.
            await asyncio.sleep(sent["retryAfterMs"] / 1000 + 0.1)
            sent = (await self.data(REQUEST_CODE, {"input": {"phone": phone}}))["requestSmsCode"]
        assert sent["__typename"] == "SmsCodeSent", sent
        code: str = (await self.sms_messages(phone))[-1]["params"]["code"]
        result = (await self.data(SIGN_IN, {"input": {"phone": phone, "code": code}}))["signInWithSms"]
        assert result["__typename"] == "AuthPayload", result
        return Session(result["accessToken"], result["refreshToken"], result["sessionId"], result["me"]["id"], phone)
