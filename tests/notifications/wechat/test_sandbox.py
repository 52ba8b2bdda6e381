"""The WeChat sandbox's own rules, over HTTP as any client sees them: stable tokens and subscribe sends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.kit.clock import ShiftableClock
from api.platforms.sandbox import SandboxHub
from tests.notifications.wechat.conftest import WechatApp


async def _stable_token(http: httpx.AsyncClient, hub: SandboxHub, app: WechatApp, force: bool = False) -> Any:
    body = {"grant_type": "client_credential", "appid": app.app_id, "secret": app.secret, "force_refresh": force}
    response = await http.post(f"{hub.wechat.base_url}/cgi-bin/stable_token", json=body)
    assert response.status_code == 200
    return response.json()


async def _send(http: httpx.AsyncClient, hub: SandboxHub, token: str, **overrides: Any) -> Any:
    body = {
        "touser": "o-user",
        "template_id": "TPL-accepted",
        "page": "applications/C42",
        "data": {"thing1": {"value": "营业执照"}},
        "miniprogram_state": "formal",
        "lang": "zh_CN",
    } | overrides
    response = await http.post(
        f"{hub.wechat.base_url}/cgi-bin/message/subscribe/send", params={"access_token": token}, json=body
    )
    assert response.status_code == 200  # WeChat answers 200 whatever happened
    return response.json()


class TestStableToken:
    async def test_normal_mode_returns_the_same_token_while_valid(
        self, http: httpx.AsyncClient, hub: SandboxHub, wechat_app: WechatApp, wechat_clock: ShiftableClock
    ) -> None:
        first = await _stable_token(http, hub, wechat_app)
        wechat_clock.advance(timedelta(minutes=10))
        second = await _stable_token(http, hub, wechat_app)
        assert first["access_token"] == second["access_token"]
        assert first["expires_in"] == 7200
        assert 7200 - 600 - 2 <= second["expires_in"] <= 7200 - 600  # real seconds pass between the calls too

    async def test_in_its_last_five_minutes_a_new_token_comes_and_the_old_still_works(
        self, http: httpx.AsyncClient, hub: SandboxHub, wechat_app: WechatApp, wechat_clock: ShiftableClock
    ) -> None:
        # given
        old = (await _stable_token(http, hub, wechat_app))["access_token"]
        wechat_clock.advance(timedelta(seconds=7200 - 200))

        # when
        new = (await _stable_token(http, hub, wechat_app))["access_token"]

        # then
        assert new != old
        assert (await _send(http, hub, old))["errcode"] == 0
        assert (await _send(http, hub, new))["errcode"] == 0

    async def test_a_forced_refresh_invalidates_the_previous_token(
        self, http: httpx.AsyncClient, hub: SandboxHub, wechat_app: WechatApp
    ) -> None:
        old = (await _stable_token(http, hub, wechat_app))["access_token"]
        new = (await _stable_token(http, hub, wechat_app, force=True))["access_token"]
        assert new != old
        assert (await _send(http, hub, old))["errcode"] == 40001
        assert (await _send(http, hub, new))["errcode"] == 0

    async def test_an_expired_token_gets_42001(
        self, http: httpx.AsyncClient, hub: SandboxHub, wechat_app: WechatApp, wechat_clock: ShiftableClock
    ) -> None:
        token = (await _stable_token(http, hub, wechat_app))["access_token"]
        wechat_clock.advance(timedelta(seconds=7201))
        assert (await _send(http, hub, token))["errcode"] == 42001

    async def test_a_wrong_secret_gets_40125_and_no_token(
        self, http: httpx.AsyncClient, hub: SandboxHub, wechat_app: WechatApp
    ) -> None:
        answer = await _stable_token(http, hub, WechatApp(wechat_app.app_id, "wrong"))
        assert answer["errcode"] == 40125
        assert hub.wechat.current_token(wechat_app.app_id) is None


class TestSubscribeSend:
    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("thing3", "一二三四五六七八九十一二三四五六七八九十一"),
            ("phrase2", "已经办结完毕"),
            ("name1", "一二三四五六七八九十一"),
            ("number4", "1" * 33),
            ("phone_number5", "1" * 18),
            ("car_number6", "浙A1234567"),
            ("amount7", "¥12345678901"),
        ],
    )
    async def test_a_field_over_its_limit_gets_47003_naming_the_field(
        self, http: httpx.AsyncClient, hub: SandboxHub, wechat_app: WechatApp, key: str, value: str
    ) -> None:
        # given
        token = (await _stable_token(http, hub, wechat_app))["access_token"]

        # when
        answer = await _send(http, hub, token, data={key: {"value": value}})

        # then
        assert answer["errcode"] == 47003
        assert answer["errmsg"].startswith(f"argument invalid! data.{key}.value exceeds")
        assert hub.wechat.messages() == []

    async def test_fields_at_their_limits_are_accepted(
        self, http: httpx.AsyncClient, hub: SandboxHub, wechat_app: WechatApp
    ) -> None:
        # given
        token = (await _stable_token(http, hub, wechat_app))["access_token"]
        data = {
            "thing1": "一" * 20,
            "phrase2": "已办结",
            "name3": "欧阳" * 5,
            "number4": "1" * 32,
            "phone_number5": "1" * 17,
            "car_number6": "浙A12345",
            "amount7": "¥1234567890",
        }

        # when
        answer = await _send(http, hub, token, data={k: {"value": v} for k, v in data.items()})

        # then
        assert answer["errcode"] == 0
        [message] = hub.wechat.messages()
        assert (message.msgid, message.data) == (str(answer["msgid"]), data)

    async def test_an_unknown_token_gets_40001(self, http: httpx.AsyncClient, hub: SandboxHub) -> None:
        assert (await _send(http, hub, "never-issued"))["errcode"] == 40001

    async def test_an_absolute_url_as_page_gets_41030(
        self, http: httpx.AsyncClient, hub: SandboxHub, wechat_app: WechatApp
    ) -> None:
        token = (await _stable_token(http, hub, wechat_app))["access_token"]
        assert (await _send(http, hub, token, page="https://example.invalid/x"))["errcode"] == 41030
