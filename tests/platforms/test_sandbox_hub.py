"""The conventions every sandbox shares: the listing, request logs and scripts, driven over HTTP."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Mount

from api.platforms.sandbox import SandboxHub
from tests.platforms.support import loopback_socket, serving


class TestIndex:
    async def test_lists_every_sandbox_with_its_urls(self, hub: SandboxHub, http: httpx.AsyncClient) -> None:
        # given the hub served at <base>/sandbox
        base = hub.base_url

        # when
        response = await http.get(base)

        # then
        assert response.status_code == 200
        assert response.json() == [
            {"name": name, "baseUrl": f"{base}/{name}", "controlUrl": f"{base}/{name}/_control"}
            for name in ("sms", "wechat", "alipay", "idp")
        ]

    async def test_the_trailing_slash_form_answers_the_same(self, hub: SandboxHub, http: httpx.AsyncClient) -> None:
        assert (await http.get(f"{hub.base_url}/")).json() == (await http.get(hub.base_url)).json()


class TestAddListing:
    async def test_a_sandbox_served_elsewhere_is_listed(self) -> None:
        # given
        hub = SandboxHub("http://127.0.0.1:1/sandbox")

        # when
        hub.add_listing("apns", "https://127.0.0.1:9443", "http://127.0.0.1:8000/sandbox/apns/_control")

        # then
        assert [entry["name"] for entry in await _listing(hub)] == ["sms", "wechat", "alipay", "idp", "apns"]


async def _listing(hub: SandboxHub) -> list[dict[str, str]]:
    transport = httpx.ASGITransport(app=hub.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        listing: list[dict[str, str]] = (await client.get("/")).json()
        return listing


class TestControlRequests:
    async def test_records_provider_requests_only(self, hub: SandboxHub, http: httpx.AsyncClient) -> None:
        # given a minted code (harness) and one provider call
        await http.post(f"{hub.wechat.base_url}/codes", json={"openid": "o-1"})
        await http.get(f"{hub.wechat.base_url}/sns/jscode2session", params={"appid": "x", "js_code": "c"})

        # when
        response = await http.get(f"{hub.wechat.control_url}/requests")

        # then
        [recorded] = response.json()
        assert recorded["method"] == "GET"
        assert recorded["path"] == "/sns/jscode2session"
        assert recorded["query"] == {"appid": "x", "js_code": "c"}
        assert recorded["body"] is None
        assert recorded["headers"]["accept"] == "*/*"
        assert recorded["receivedAt"].endswith("+00:00")

    async def test_records_parsed_json_and_form_bodies(self, hub: SandboxHub, http: httpx.AsyncClient) -> None:
        # given
        await http.post(f"{hub.sms.base_url}/", data={"Action": "SendSms", "PhoneNumbers": "13800000001"})
        await http.post(f"{hub.idp.base_url}/token", json={"grant_type": "x"})

        # when
        sms_log = (await http.get(f"{hub.sms.control_url}/requests")).json()
        idp_log = (await http.get(f"{hub.idp.control_url}/requests")).json()

        # then
        assert [r["body"] for r in sms_log] == [{"Action": "SendSms", "PhoneNumbers": "13800000001"}]
        assert [r["body"] for r in idp_log] == [{"grant_type": "x"}]

    async def test_delete_clears_the_log(self, hub: SandboxHub, http: httpx.AsyncClient) -> None:
        # given
        await http.get(f"{hub.idp.base_url}/jwks")

        # when
        deleted = await http.delete(f"{hub.idp.control_url}/requests")

        # then
        assert deleted.status_code == 204
        assert (await http.get(f"{hub.idp.control_url}/requests")).json() == []
        assert hub.idp.requests() == []


class TestControlScript:
    async def test_a_script_answers_matching_requests_for_its_times(
        self, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        # given
        script = {"match": {"path": "/jwks"}, "action": {"status": 503}, "times": 2}
        created = await http.post(f"{hub.idp.control_url}/script", json=script)

        # when
        statuses = [(await http.get(f"{hub.idp.base_url}/jwks")).status_code for _ in range(3)]

        # then
        assert created.status_code == 201
        assert statuses == [503, 503, 200]
        assert (await http.get(f"{hub.idp.control_url}/script")).json() == []

    async def test_null_times_applies_until_cleared(self, hub: SandboxHub, http: httpx.AsyncClient) -> None:
        # given
        script = {"match": {"path": "/jwks"}, "action": {"body": {"keys": []}}, "times": None}
        await http.post(f"{hub.idp.control_url}/script", json=script)
        answers = [(await http.get(f"{hub.idp.base_url}/jwks")).json() for _ in range(3)]

        # when
        cleared = await http.delete(f"{hub.idp.control_url}/script")

        # then
        assert answers == [{"keys": []}] * 3
        assert cleared.status_code == 204
        assert len((await http.get(f"{hub.idp.base_url}/jwks")).json()["keys"]) >= 2

    async def test_field_matchers_select_by_parameter(self, hub: SandboxHub, http: httpx.AsyncClient) -> None:
        # given
        script = {
            "match": {"path": "/sns/*", "httpMethod": "get", "js_code": "bad"},
            "action": {"status": 500},
        }
        await http.post(f"{hub.wechat.control_url}/script", json=script)
        url = f"{hub.wechat.base_url}/sns/jscode2session"

        # when
        other = await http.get(url, params={"js_code": "good"})
        matched = await http.get(url, params={"js_code": "bad"})

        # then
        assert (other.status_code, matched.status_code) == (200, 500)

    async def test_dotted_matchers_reach_into_parsed_bodies(self) -> None:
        # given
        hub = SandboxHub("http://127.0.0.1:1/sandbox")
        hub.alipay.script({"biz_content.out_trade_no": "T1"}, {"status": 502})

        # when
        transport = httpx.ASGITransport(app=hub.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            other = await client.post("/alipay/gateway.do", data={"biz_content": '{"out_trade_no":"T2"}'})
            matched = await client.post("/alipay/gateway.do", data={"biz_content": '{"out_trade_no":"T1"}'})

        # then
        assert (other.status_code, matched.status_code) == (200, 502)

    @pytest.mark.parametrize(
        "script",
        [
            {"match": {}, "action": {"explode": True}},
            {"match": {}, "action": {}},
            {"match": {}, "action": {"status": 42}},
            {"match": {}, "action": {"delayMs": -1}},
            {"match": [], "action": {"status": 500}},
            {"match": {}, "action": {"status": 500}, "times": 0},
        ],
    )
    async def test_malformed_scripts_are_refused(
        self, hub: SandboxHub, http: httpx.AsyncClient, script: dict[str, object]
    ) -> None:
        # when
        response = await http.post(f"{hub.sms.control_url}/script", json=script)

        # then
        assert response.status_code == 400
        assert (await http.get(f"{hub.sms.control_url}/script")).json() == []


class TestScriptedDisconnect:
    async def test_drops_the_connection_mid_response_even_behind_gzip(self, hub: SandboxHub) -> None:
        # given the hub behind GZip, which holds a response's start back until its first body chunk (as the API does)
        app = Starlette(
            routes=[Mount("/sandbox", app=hub.app)], middleware=[Middleware(GZipMiddleware, minimum_size=1024)]
        )
        hub.idp.script({"path": "/jwks"}, {"disconnect": True}, times=None)

        async with serving(app, loopback_socket()) as base_url, httpx.AsyncClient() as client:
            for encoding in ("gzip", "identity"):
                # when / then
                with pytest.raises(httpx.RemoteProtocolError, match="peer closed connection"):
                    await client.get(f"{base_url}/sandbox/idp/jwks", headers={"accept-encoding": encoding})
