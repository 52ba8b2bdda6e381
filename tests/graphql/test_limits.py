"""GraphQL hygiene (graphql.md §3): size, depth, tokens, aliases, cost, list caps, APQ, rate limits."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from api.models import Person
from tests.support.client import Api, fresh_phone

TYPENAME = "query { __typename }"


def _code(body: dict[str, Any]) -> str:
    code: str = body["errors"][0]["extensions"]["code"]
    return code


class TestRequestShape:
    async def test_body_over_one_mib_is_413_before_parsing(self, api: Api) -> None:
        response = await api.http.post(
            "/graphql",
            content=b'{"query": "' + b" " * (1024 * 1024) + b'{ __typename }"}',
            headers={**api.headers(), "content-type": "application/json"},
        )
        assert response.status_code == 413
        assert _code(response.json()) == "PAYLOAD_TOO_LARGE"

    async def test_garbage_body_is_400(self, api: Api) -> None:
        response = await api.http.post(
            "/graphql", content=b"{nope", headers={**api.headers(), "content-type": "application/json"}
        )
        assert response.status_code == 400 and _code(response.json()) == "BAD_REQUEST"

    async def test_batching_is_off(self, api: Api) -> None:
        response = await api.post([{"query": TYPENAME}, {"query": TYPENAME}])
        assert response.status_code == 400

    async def test_mutation_over_get_is_refused(self, api: Api) -> None:
        query = 'mutation { requestSmsCode(input: {phone: "17000000000"}) { __typename } }'
        response = await api.http.get("/graphql", params={"query": query}, headers=api.headers())
        assert response.status_code == 405
        assert await api.sms_messages("17000000000") == []

    async def test_request_id_is_echoed_in_header_and_extensions(self, api: Api) -> None:
        response = await api.http.post(
            "/graphql", json={"query": TYPENAME}, headers={**api.headers(), "x-request-id": "test-req-0001"}
        )
        assert response.headers["x-request-id"] == "test-req-0001"
        assert response.json()["extensions"]["requestId"] == "test-req-0001"

    async def test_large_responses_are_gzipped(self, api: Api) -> None:
        query = "query { __schema { types { name description } } }"
        response = await api.http.post(
            "/graphql", json={"query": query}, headers={**api.headers(), "accept-encoding": "gzip"}
        )
        assert response.status_code == 200 and response.headers["content-encoding"] == "gzip"


class TestDocumentLimits:
    async def test_depth_over_ten_is_refused(self, api: Api) -> None:
        deep = "query { me { " + "a { " * 10 + "b" + " }" * 10 + " } }"
        body = await api.gql(deep)
        assert body["data"] is None
        assert any("exceeds maximum operation depth" in error["message"] for error in body["errors"])

    async def test_more_than_2000_tokens_are_refused(self, api: Api) -> None:
        body = await api.gql("query { " + " ".join(["__typename"] * 2100) + " }")
        assert body["data"] is None and "token" in body["errors"][0]["message"].lower()

    async def test_more_than_30_aliases_are_refused(self, api: Api) -> None:
        body = await api.gql("query { " + " ".join(f"a{i}: __typename" for i in range(31)) + " }")
        assert body["data"] is None and "aliases" in body["errors"][0]["message"].lower()

    async def test_cost_is_echoed_and_capped(self, api: Api) -> None:
        session = await api.sign_in()
        body = await api.gql("query { me { id } }", token=session.access_token)
        assert body["extensions"]["cost"] == 2
        # mySessions declares at most 50; each of the 25 aliases costs 1 + 50 × 1.
        costly = "query { " + " ".join(f"s{i}: mySessions {{ id }}" for i in range(25)) + " }"
        refused = await api.gql(costly, token=session.access_token)
        assert refused["data"] is None and _code(refused) == "QUERY_TOO_COSTLY"
        assert refused["errors"][0]["extensions"]["cost"] == 25 * 51

    async def test_cost_follows_the_bounding_variable_and_ignores_the_others(self, api: Api) -> None:
        # Given one document whose list is bounded by $first, and a string variable that bounds nothing
        session = await api.sign_in()
        query = "query L($first: Int, $after: String) { myLicenses(first: $first, after: $after) { edges { cursor } } }"
        costs = []
        # When it is sent with different bounds, then with only the other variable changed
        for variables in ({"first": 5}, {"first": 10}, {"first": 5, "after": None}, {"first": 10, "after": "x"}):
            body = await api.gql(query, variables, session.access_token)
            costs.append(body["extensions"]["cost"])
        # Then the cost is that of each bound, whatever the other variable holds
        assert costs[0] == costs[2] and costs[1] == costs[3] and costs[1] > costs[0]

    async def test_input_lists_over_100_items_are_refused_and_nothing_changes(self, api: Api) -> None:
        session = await api.sign_in()
        query = """mutation G($input: GrantAgentInput!) { grantAgent(input: $input) { __typename } }"""
        variables = {
            "input": {
                "enterpriseId": "x",
                "agentPhone": fresh_phone(),
                "serviceCodes": [str(i) for i in range(101)],
            }
        }
        body = await api.gql(query, variables, session.access_token)
        assert _code(body) == "INPUT_LIST_TOO_LONG" and "data" not in body


class TestIntrospection:
    async def test_is_on_outside_production(self, api: Api) -> None:
        body = await api.gql("query { __schema { queryType { name } } }")
        assert body["data"]["__schema"]["queryType"]["name"] == "Query"


class TestPersistedQueries:
    async def test_miss_then_register_then_hash_only_over_get(self, api: Api) -> None:
        query = "query Apq { __typename }"
        digest = hashlib.sha256(query.encode()).hexdigest()
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
        miss = (await api.post({"extensions": extensions})).json()
        assert _code(miss) == "PERSISTED_QUERY_NOT_FOUND"
        stored = (await api.post({"query": query, "extensions": extensions})).json()
        assert stored["data"] == {"__typename": "Query"}
        response = await api.http.get(
            "/graphql",
            params={"extensions": f'{{"persistedQuery":{{"version":1,"sha256Hash":"{digest}"}}}}'},
            headers=api.headers(),
        )
        assert response.json()["data"] == {"__typename": "Query"}

    async def test_a_hash_that_does_not_match_the_text_is_refused(self, api: Api) -> None:
        body = (
            await api.post(
                {"query": TYPENAME, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}}
            )
        ).json()
        assert _code(body) == "PERSISTED_QUERY_HASH_MISMATCH"


class TestRateLimit:
    async def test_per_ip_bucket_answers_429_with_retry_after(self, api: Api) -> None:
        burst = api.live.settings.graphql.burst_per_ip
        statuses = await asyncio.gather(*(api.post({"query": TYPENAME}) for _ in range(burst + 40)))
        limited = [r for r in statuses if r.status_code == 429]
        assert limited, "the burst should have been exhausted"
        body = limited[0].json()
        assert _code(body) == "RATE_LIMITED" and body["errors"][0]["extensions"]["retryAfterMs"] > 0
        assert int(limited[0].headers["retry-after"]) >= 1

    async def test_a_limited_mutation_changes_nothing(self, api: Api) -> None:
        burst = api.live.settings.graphql.burst_per_ip
        await asyncio.gather(*(api.post({"query": TYPENAME}) for _ in range(burst + 40)))
        phone = fresh_phone()
        query = "mutation C($input: RequestSmsCodeInput!) { requestSmsCode(input: $input) { __typename } }"
        response = await api.post({"query": query, "variables": {"input": {"phone": phone}}})
        assert response.status_code == 429
        assert await api.sms_messages(phone) == []
        assert await Person.filter(mobile=phone).count() == 0
