"""Public reads over GET may be cached for a minute; anything personal or any write never is."""

from __future__ import annotations

import hashlib
import json

from api.catalog import search
from api.lifespan import Services
from tests.support.client import Api

BROWSE = "query Browse { browseServices(first: 2) { edges { node { name } } } }"


async def _persist_and_get(api: Api, query: str, token: str | None = None) -> tuple[int, dict[str, str]]:
    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    await api.post({"query": query, "extensions": extensions})
    response = await api.http.get("/graphql", params={"extensions": json.dumps(extensions)}, headers=api.headers(token))
    return response.status_code, dict(response.headers)


class TestCacheHeaders:
    async def test_an_anonymous_public_get_is_cacheable(self, api: Api) -> None:
        status, headers = await _persist_and_get(api, BROWSE)
        assert status == 200
        assert headers["cache-control"] == "public, max-age=60"
        assert "Authorization" in headers["vary"]

    async def test_a_signed_in_get_is_not(self, api: Api) -> None:
        session = await api.sign_in()
        _, headers = await _persist_and_get(api, BROWSE, session.access_token)
        assert headers["cache-control"] == "no-store"

    async def test_a_personal_query_is_not(self, api: Api) -> None:
        _, headers = await _persist_and_get(api, "query Me { me { id } }")
        assert headers["cache-control"] == "no-store"

    async def test_a_post_is_not(self, api: Api) -> None:
        response = await api.post({"query": BROWSE})
        assert response.headers["cache-control"] == "no-store"


class TestResponseCache:
    async def test_a_repeated_public_read_is_served_from_redis_until_the_catalog_changes(self, api: Api) -> None:
        query = "query Browse2 { browseServices(first: 1) { edges { node { name } } } }"
        digest = hashlib.sha256(query.encode()).hexdigest()
        params = {"extensions": json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}})}
        await api.post({"query": query, "extensions": json.loads(params["extensions"])})
        first = (await api.http.get("/graphql", params=params, headers=api.headers())).json()
        second = (await api.http.get("/graphql", params=params, headers=api.headers())).json()
        assert "cached" not in first["extensions"] and second["extensions"]["cached"] is True
        assert second["data"] == first["data"]
        assert second["extensions"]["requestId"] != first["extensions"]["requestId"]

        services: Services = api.live.app.state.services
        await search.invalidate(services.redis)  # what every publish, suspension or cancellation does
        third = (await api.http.get("/graphql", params=params, headers=api.headers())).json()
        assert "cached" not in third["extensions"]
