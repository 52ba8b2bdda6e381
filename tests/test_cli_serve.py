"""`make run` as a newcomer runs it: `zsb migrate`, `zsb seed`, `zsb serve` in their own processes, then a
sign-in through the SMS sandbox and `me`, all over HTTP. This also covers what the in-process test server cannot:
uvicorn serving the lifespan and the requests from different tasks."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.make_run import make_run_server


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from make_run_server(tmp_path_factory)


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
