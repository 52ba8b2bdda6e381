"""The Huawei sandbox's own checks and its control endpoints, over plain HTTP as an end-to-end test drives them."""

from __future__ import annotations

from typing import Any

import httpx

from notifications.sandbox.huawei import HuaweiSandbox
from tests.notifications.huawei.conftest import CLIENT_ID, CLIENT_SECRET


async def access_token(http: httpx.AsyncClient, sandbox: HuaweiSandbox) -> str:
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    response = await http.post(sandbox.oauth_url, data=form)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def push(http: httpx.AsyncClient, sandbox: HuaweiSandbox, token: str, message: dict[str, Any]) -> httpx.Response:
    url = f"{sandbox.base_url}/v1/{sandbox.app_id}/messages:send"
    return await http.post(url, json={"message": message}, headers={"authorization": f"Bearer {token}"})


NOTIFICATION = {"android": {"notification": {"title": "t", "body": "b", "click_action": {"type": 3}}}}


class TestHuaweiSandboxChecks:
    async def test_a_wrong_client_secret_gets_no_token(self, http: httpx.AsyncClient, huawei: HuaweiSandbox) -> None:
        form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "nope"}
        response = await http.post(huawei.oauth_url, data=form)
        assert (response.status_code, response.json()["error"]) == (401, 1101)

    async def test_a_missing_bearer_is_an_oauth_error(self, http: httpx.AsyncClient, huawei: HuaweiSandbox) -> None:
        response = await http.post(f"{huawei.base_url}/v1/{huawei.app_id}/messages:send", json={"message": {}})
        assert (response.status_code, response.json()["code"]) == (401, "80200001")

    async def test_token_counts_outside_one_to_a_thousand_are_refused(
        self, http: httpx.AsyncClient, huawei: HuaweiSandbox
    ) -> None:
        # given
        token = await access_token(http, huawei)

        # when
        none = await push(http, huawei, token, NOTIFICATION | {"token": []})
        too_many = await push(http, huawei, token, NOTIFICATION | {"token": [f"t{n}" for n in range(1001)]})

        # then
        assert [(r.status_code, r.json()["code"]) for r in (none, too_many)] == [(400, "80300010"), (400, "80300010")]
        assert huawei.pushed() == []

    async def test_another_apps_id_is_not_allowed(self, http: httpx.AsyncClient, huawei: HuaweiSandbox) -> None:
        token = await access_token(http, huawei)
        url = f"{huawei.base_url}/v1/999/messages:send"
        response = await http.post(
            url, json={"message": NOTIFICATION | {"token": ["t1"]}}, headers={"authorization": f"Bearer {token}"}
        )
        assert response.json()["code"] == "80300002"


class TestHuaweiSandboxControl:
    async def test_a_token_script_posted_over_http_answers_in_turn(
        self, http: httpx.AsyncClient, huawei: HuaweiSandbox
    ) -> None:
        # given
        scripted = await http.post(
            f"{huawei.control_url}/token-script", json={"token": "flaky02", "actions": [503, "80300007"]}
        )
        token = await access_token(http, huawei)

        # when
        answers = [await push(http, huawei, token, NOTIFICATION | {"token": ["flaky02"]}) for _ in range(3)]

        # then
        assert scripted.status_code == 201
        assert [(a.status_code, a.json()["code"]) for a in answers] == [
            (503, "503"),
            (200, "80300007"),
            (200, "80000000"),
        ]

    async def test_a_malformed_token_script_is_refused(self, http: httpx.AsyncClient, huawei: HuaweiSandbox) -> None:
        response = await http.post(f"{huawei.control_url}/token-script", json={"token": "t", "actions": ["soon"]})
        assert response.status_code == 400

    async def test_the_request_log_and_the_pushed_messages_are_served(
        self, http: httpx.AsyncClient, huawei: HuaweiSandbox
    ) -> None:
        # given
        token = await access_token(http, huawei)
        await push(http, huawei, token, NOTIFICATION | {"token": ["tok-h1", "bad-h2"]})

        # when
        log = (await http.get(f"{huawei.control_url}/requests")).json()
        pushed = (await http.get(f"{huawei.base_url}/messages", params={"token": "tok-h1"})).json()

        # then
        assert [entry["path"] for entry in log] == ["/oauth2/v3/token", "/v1/{app_id}/messages:send"]
        assert [(p["token"], p["message"]) for p in pushed] == [("tok-h1", NOTIFICATION)]
