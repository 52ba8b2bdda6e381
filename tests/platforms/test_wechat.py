"""The WeChat sign-in client against the WeChat sandbox, over real HTTP."""

from __future__ import annotations

import base64
from datetime import timedelta

import httpx
import pytest

from api.kit.clock import ShiftableClock
from api.kit.errors import ProviderError
from api.platforms.sandbox import SandboxHub
from api.platforms.wechat import WechatClient, WechatSession
from tests.platforms.support import WECHAT_APP_ID, WECHAT_SECRET, wechat_client


async def _mint(http: httpx.AsyncClient, hub: SandboxHub, openid: str = "o-openid", **extra: str) -> str:
    response = await http.post(f"{hub.wechat.base_url}/codes", json={"openid": openid, **extra})
    assert response.status_code == 200
    code: str = response.json()["code"]
    return code


async def _refusal(client: WechatClient, code: str) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await client.code_to_session(code)
    return caught.value


class TestCodeToSession:
    async def test_a_minted_code_gives_the_users_ids(
        self, wechat: WechatClient, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        # given
        code = await _mint(http, hub, unionid="u-unionid")

        # when
        session = await wechat.code_to_session(code)

        # then
        assert session == WechatSession("o-openid", "u-unionid", session.session_key)
        assert len(base64.b64decode(session.session_key)) == 16
        assert session.session_key not in repr(session)
        [request] = hub.wechat.requests()
        assert (request.method, request.path) == ("GET", "/sns/jscode2session")
        assert request.query == {
            "appid": WECHAT_APP_ID,
            "secret": WECHAT_SECRET,
            "js_code": code,
            "grant_type": "authorization_code",
        }

    async def test_without_a_unionid_it_is_none(
        self, wechat: WechatClient, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        session = await wechat.code_to_session(await _mint(http, hub, openid="o-2"))
        assert (session.openid, session.unionid) == ("o-2", None)

    async def test_an_unknown_code_is_invalid(self, wechat: WechatClient) -> None:
        assert (await _refusal(wechat, "never-minted")).code == "WECHAT_CODE_INVALID"

    async def test_a_used_code_is_invalid(self, wechat: WechatClient, hub: SandboxHub, http: httpx.AsyncClient) -> None:
        # given
        code = await _mint(http, hub)
        await wechat.code_to_session(code)

        # when
        error = await _refusal(wechat, code)

        # then
        assert error.code == "WECHAT_CODE_INVALID"

    async def test_an_expired_code_is_invalid(
        self, wechat: WechatClient, hub: SandboxHub, http: httpx.AsyncClient, clock: ShiftableClock
    ) -> None:
        # given
        code = await _mint(http, hub)
        clock.advance(timedelta(minutes=5, seconds=1))

        # when
        error = await _refusal(wechat, code)

        # then
        assert error.code == "WECHAT_CODE_INVALID"

    async def test_a_wrong_secret_is_refused_and_leaves_the_code_unused(
        self, wechat: WechatClient, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        # given
        code = await _mint(http, hub)

        # when
        error = await _refusal(wechat_client(http, hub, secret="wrong"), code)

        # then
        assert error.code == "WECHAT_ERROR"
        assert (await wechat.code_to_session(code)).openid == "o-openid"

    async def test_an_unknown_app_is_refused(self, hub: SandboxHub, http: httpx.AsyncClient) -> None:
        code = await _mint(http, hub)
        assert (await _refusal(wechat_client(http, hub, app_id="wx-unknown"), code)).code == "WECHAT_ERROR"

    async def test_a_code_minted_for_another_app_is_invalid(
        self, wechat: WechatClient, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        code = await _mint(http, hub, appId="wx-another-app")
        assert (await _refusal(wechat, code)).code == "WECHAT_CODE_INVALID"

    async def test_the_rate_limit_answer_is_told_apart(self, wechat: WechatClient, hub: SandboxHub) -> None:
        hub.wechat.script({"path": "/sns/jscode2session"}, {"body": {"errcode": 45011, "errmsg": "api minute-quota"}})
        assert (await _refusal(wechat, "any")).code == "WECHAT_RATE_LIMITED"

    async def test_system_busy_is_unavailable(self, wechat: WechatClient, hub: SandboxHub) -> None:
        hub.wechat.script({"path": "/sns/jscode2session"}, {"body": {"errcode": -1, "errmsg": "system error"}})
        assert (await _refusal(wechat, "any")).code == "WECHAT_UNAVAILABLE"

    async def test_a_server_error_is_unavailable_and_the_code_survives(
        self, wechat: WechatClient, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        # given
        code = await _mint(http, hub)
        hub.wechat.script({"path": "/sns/jscode2session", "js_code": code}, {"status": 500})

        # when
        error = await _refusal(wechat, code)

        # then
        assert error.code == "WECHAT_UNAVAILABLE"
        assert (await wechat.code_to_session(code)).openid == "o-openid"

    async def test_a_dropped_connection_is_unavailable(self, wechat: WechatClient, hub: SandboxHub) -> None:
        hub.wechat.script({"path": "/sns/jscode2session"}, {"disconnect": True})
        assert (await _refusal(wechat, "any")).code == "WECHAT_UNAVAILABLE"

    async def test_a_reply_slower_than_the_timeout_is_unavailable(
        self, impatient_http: httpx.AsyncClient, hub: SandboxHub
    ) -> None:
        hub.wechat.script({"path": "/sns/jscode2session"}, {"delayMs": 1000})
        assert (await _refusal(wechat_client(impatient_http, hub), "any")).code == "WECHAT_UNAVAILABLE"

    async def test_a_non_json_answer_is_unavailable(self, wechat: WechatClient, hub: SandboxHub) -> None:
        hub.wechat.script({"path": "/sns/jscode2session"}, {"body": "<html>busy</html>"})
        assert (await _refusal(wechat, "any")).code == "WECHAT_UNAVAILABLE"


class TestJscode2sessionEndpoint:
    async def test_answers_errors_like_wechat(self, hub: SandboxHub, http: httpx.AsyncClient) -> None:
        # given a code that has been used once
        code = await _mint(http, hub)
        url = f"{hub.wechat.base_url}/sns/jscode2session"
        params = {"appid": WECHAT_APP_ID, "secret": WECHAT_SECRET, "grant_type": "authorization_code"}
        first = await http.get(url, params={**params, "js_code": code})

        # when
        used = await http.get(url, params={**params, "js_code": code})
        unknown = await http.get(url, params={**params, "js_code": "nope"})

        # then
        assert first.headers["content-type"].startswith("text/plain")
        assert (used.status_code, used.json()["errcode"]) == (200, 40163)
        assert used.json()["errmsg"].startswith("code been used, rid: ")
        assert unknown.json()["errcode"] == 40029


class TestCodesEndpoint:
    @pytest.mark.parametrize("body", [{}, {"openid": ""}, {"openid": 1}, {"openid": "o", "unionid": 2}, []])
    async def test_refuses_a_body_without_an_openid(
        self, hub: SandboxHub, http: httpx.AsyncClient, body: object
    ) -> None:
        response = await http.post(f"{hub.wechat.base_url}/codes", json=body)
        assert response.status_code == 400
