"""Mini-program sign-in through the Alipay gateway (`alipay.system.oauth.token`) against the sandbox."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from api.kit.clock import ShiftableClock
from api.platforms.alipay import (
    AlipayError,
    AlipayGateway,
    AlipayOAuthToken,
    load_public_key,
    rsa2_verify,
    sign_content,
)
from api.platforms.sandbox import SandboxHub
from tests.platforms.support import ALIPAY_APP_ID

USER_ID = "2088000000000001"


async def _mint(http: httpx.AsyncClient, hub: SandboxHub, **body: str) -> str:
    response = await http.post(f"{hub.alipay.base_url}/auth-codes", json={"userId": USER_ID, **body})
    assert response.status_code == 200
    code: str = response.json()["authCode"]
    return code


async def _oauth_refusal(client: AlipayGateway, code: str) -> AlipayError:
    with pytest.raises(AlipayError) as caught:
        await client.oauth_token(code)
    return caught.value


class TestOauthToken:
    async def test_an_auth_code_gives_the_users_ids(
        self,
        alipay: AlipayGateway,
        hub: SandboxHub,
        http: httpx.AsyncClient,
        alipay_app_keys: tuple[str, str],
    ) -> None:
        # given
        code = await _mint(http, hub, openId="074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5")

        # when
        token = await alipay.oauth_token(code)

        # then
        assert token == AlipayOAuthToken(USER_ID, "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5", token.access_token)
        assert token.access_token.startswith("authusrB")
        assert token.access_token not in repr(token)
        [request] = hub.alipay.requests()
        query = request.query
        assert (request.method, request.path, request.body) == ("POST", "/gateway.do", None)
        assert {k: v for k, v in query.items() if k not in ("timestamp", "sign")} == {
            "app_id": ALIPAY_APP_ID,
            "method": "alipay.system.oauth.token",
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "version": "1.0",
            "grant_type": "authorization_code",
            "code": code,
        }
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", query["timestamp"])
        assert rsa2_verify(load_public_key(alipay_app_keys[1]), sign_content(query), query["sign"])

    async def test_without_an_open_id_it_is_none(
        self, alipay: AlipayGateway, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        token = await alipay.oauth_token(await _mint(http, hub))
        assert (token.user_id, token.open_id) == (USER_ID, None)

    async def test_an_unknown_code_is_refused(self, alipay: AlipayGateway) -> None:
        error = await _oauth_refusal(alipay, "never-minted")
        assert (error.code, error.alipay_code, error.sub_code) == (
            "ALIPAY_ISV_CODE_INVALID",
            "40002",
            "isv.code-invalid",
        )

    async def test_a_used_code_is_refused(
        self, alipay: AlipayGateway, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        # given
        code = await _mint(http, hub)
        await alipay.oauth_token(code)

        # when
        error = await _oauth_refusal(alipay, code)

        # then
        assert error.code == "ALIPAY_ISV_CODE_INVALID"

    async def test_an_expired_code_is_refused(
        self, alipay: AlipayGateway, hub: SandboxHub, http: httpx.AsyncClient, clock: ShiftableClock
    ) -> None:
        code = await _mint(http, hub)
        clock.advance(timedelta(minutes=5, seconds=1))
        assert (await _oauth_refusal(alipay, code)).code == "ALIPAY_ISV_CODE_INVALID"

    async def test_a_code_minted_for_another_app_is_refused(
        self, alipay: AlipayGateway, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        code = await _mint(http, hub, appId="2021000000009999")
        assert (await _oauth_refusal(alipay, code)).code == "ALIPAY_ISV_CODE_INVALID"

    async def test_an_unsigned_success_is_a_bad_signature(self, alipay: AlipayGateway, hub: SandboxHub) -> None:
        # given a whole reply scripted without any sign
        node = {"user_id": USER_ID, "access_token": "authusrBforged"}
        hub.alipay.script({"path": "/gateway.do"}, {"body": {"alipay_system_oauth_token_response": node}})

        # when
        error = await _oauth_refusal(alipay, "any")

        # then
        assert error.code == "ALIPAY_BAD_SIGNATURE"


class TestAuthCodesEndpoint:
    @pytest.mark.parametrize("body", [{}, {"userId": ""}, {"userId": USER_ID, "openId": 3}, ["x"]])
    async def test_refuses_a_body_without_a_user_id(
        self, hub: SandboxHub, http: httpx.AsyncClient, body: object
    ) -> None:
        assert (await http.post(f"{hub.alipay.base_url}/auth-codes", json=body)).status_code == 400
