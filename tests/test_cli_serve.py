"""`make run` as a newcomer runs it: `zsb migrate`, `zsb seed`, `zsb serve` in their own processes, then a
sign-in through the SMS sandbox and `me`, all over HTTP. This also covers what the in-process test server cannot:
uvicorn serving the lifespan and the requests from different tasks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ZSB = [sys.executable, "-m", "api.cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    var_dir = tmp_path_factory.mktemp("var")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    env |= {"APP_VAR_DIR": str(var_dir), "APP_PORT": str(port), "APP_LOG_LEVEL": "WARNING"}
    for command in ("migrate", "seed"):
        done = subprocess.run([*ZSB, command], env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
    seeded = subprocess.run([*ZSB, "seed"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert "handler.scjg" in seeded.stdout  # the second run prints the same sign-in details
    log = (Path(var_dir) / "serve.log").open("w")
    server = subprocess.Popen([*ZSB, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail((Path(var_dir) / "serve.log").read_text())
        yield base
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()


class TestServe:
    def test_is_ready_and_signs_in_a_seeded_resident(self, served: str) -> None:
        phone = "19900000002"
        with httpx.Client(base_url=served) as http:
            sent = http.post(
                "/graphql",
                json={"query": f'mutation {{ requestSmsCode(input: {{phone: "{phone}"}}) {{ __typename }} }}'},
            )
            assert sent.json()["data"]["requestSmsCode"]["__typename"] == "SmsCodeSent"
            code = http.get("/sandbox/sms/messages", params={"phone": phone}).json()["messages"][-1]["params"]["code"]
            query = (
                f'mutation {{ signInWithSms(input: {{phone: "{phone}", code: "{code}"}}) '
                "{ ... on AuthPayload { accessToken } } }"
            )
            token = http.post("/graphql", json={"query": query}).json()["data"]["signInWithSms"]["accessToken"]
            me = http.post(
                "/graphql",
                json={"query": "{ me { name assuranceLevel } }"},
                headers={"authorization": f"Bearer {token}"},
            )
            assert me.json()["data"]["me"] == {"name": "李演示二", "assuranceLevel": "L3"}

    def test_serves_graphiql_and_health(self, served: str) -> None:
        assert httpx.get(f"{served}/healthz").json() == {"status": "ok"}
        page = httpx.get(f"{served}/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200 and "GraphiQL" in page.text
        assert httpx.get(f"{served}/metrics").text.count("zsb_http_requests_total") >= 1
        listing = httpx.get(f"{served}/sandbox").json()
        assert {entry["name"] for entry in listing} >= {"sms", "wechat", "alipay", "idp"}

    def test_search_and_the_home_page_work_on_the_seed(self, served: str) -> None:
        search = '{ searchServices(query: "开饭店", first: 3) { edges { node { service { name } } } } }'
        with httpx.Client(base_url=served) as http:
            hits = http.post("/graphql", json={"query": search}).json()["data"]["searchServices"]["edges"]
            assert "食品经营许可" in [hit["node"]["service"]["name"] for hit in hits]
            phone = "19900000003"
            http.post(
                "/graphql",
                json={"query": f'mutation {{ requestSmsCode(input: {{phone: "{phone}"}}) {{ __typename }} }}'},
            )
            code = http.get("/sandbox/sms/messages", params={"phone": phone}).json()["messages"][-1]["params"]["code"]
            signed = http.post(
                "/graphql",
                json={
                    "query": f'mutation {{ signInWithSms(input: {{phone: "{phone}", code: "{code}"}}) '
                    "{ ... on AuthPayload { accessToken } } }"
                },
            )
            token = signed.json()["data"]["signInWithSms"]["accessToken"]
            page = http.post(
                "/graphql",
                json={
                    "query": "{ myHomePage { expiringLicenses { daysLeft } recommendations { reason } } "
                    "myLicenses { edges { node { name } } } }"
                },
                headers={"authorization": f"Bearer {token}"},
            ).json()
            assert "errors" not in page
            assert page["data"]["myLicenses"]["edges"], "the seed gives every resident at least one licence"
