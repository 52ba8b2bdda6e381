"""syncPush on the GraphQL edge (sync-protocol.md §6, §8.1, S18, S19): the inputs reach the service as sent, a
malformed batch gets a typed SyncPushRejected, and the API-wide limits (body, JSON, list caps, types) answer
where the specification says, with nothing applied."""

from __future__ import annotations

import uuid
from typing import Any

from api.models.sync import SyncClient
from sync import template_registry
from sync.merge import NULL_HASH, value_hash
from sync.templates import derive
from tests.support.client import Api, Session

SERVICE = "GQLPUSH"
TEMPLATE = derive(SERVICE, "1", {"type": "object", "properties": {"f1": {"type": "string"}}})

PUSH = """mutation Push($input: SyncPushInput!) { syncPush(input: $input) { __typename
  ... on SyncPushPayload { lastMutationId stoppedAt serverEpoch
    stopReason { code retryable }
    results { id status draftVersion replayed error { code message paths retryable } } }
  ... on SyncPushRejected { code message path retryable serverEpoch clientLastMutationId } } }"""


def create(mutation_id: int, draft_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": mutation_id,
        "draftId": draft_id,
        "type": "CREATE_DRAFT",
        "formVersion": "1",
        "serviceCode": SERVICE,
        **extra,
    }


def edit(mutation_id: int, draft_id: str, value: Any, base: Any = None, **extra: Any) -> dict[str, Any]:
    op = {"path": "f1", "kind": "SET", "value": value, "baseHash": NULL_HASH if base is None else value_hash(base)}
    return {"id": mutation_id, "draftId": draft_id, "type": "EDIT", "formVersion": "1", "ops": [op], **extra}


def push_input(client_id: str, mutations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"clientId": client_id, "platform": "WECHAT_MP", "protocolVersion": 1, "mutations": mutations}


async def push(api: Api, session: Session, client_id: str, mutations: list[dict[str, Any]]) -> dict[str, Any]:
    template_registry.register(TEMPLATE)  # other suites clear the registry between their tests
    body = await api.data(PUSH, {"input": push_input(client_id, mutations)}, session.access_token)
    result: dict[str, Any] = body["syncPush"]
    return result


async def lmid(client_id: str) -> int | None:
    found = await SyncClient.get_or_none(client_id=uuid.UUID(client_id))
    return None if found is None else found.last_mutation_id


class TestPush:
    async def test_a_batch_is_applied_and_its_versions_are_strings(self, api: Api) -> None:
        session = await api.sign_in()
        client, draft = str(uuid.uuid4()), str(uuid.uuid4())
        result = await push(api, session, client, [create(1, draft), edit(2, draft, "张三")])
        assert result["__typename"] == "SyncPushPayload", result
        assert result["lastMutationId"] == 2 and result["stoppedAt"] is None
        assert [r["status"] for r in result["results"]] == ["APPLIED", "APPLIED"]
        versions = [r["draftVersion"] for r in result["results"]]
        assert all(isinstance(v, str) and v.isdigit() for v in versions) and int(versions[1]) > int(versions[0])
        uuid.UUID(result["serverEpoch"])
        again = await push(api, session, client, [create(1, draft), edit(2, draft, "张三")])
        assert [r["replayed"] for r in again["results"]] == [True, True]

    async def test_more_than_100_mutations_is_a_typed_payload_too_large_not_the_generic_list_cap(
        self, api: Api
    ) -> None:
        session = await api.sign_in()
        client, draft = str(uuid.uuid4()), str(uuid.uuid4())
        await push(api, session, client, [create(1, draft)])
        batch = [edit(i, draft, f"v{i}") for i in range(2, 103)]
        result = await push(api, session, client, batch)
        assert result["__typename"] == "SyncPushRejected" and result["code"] == "PAYLOAD_TOO_LARGE", result
        assert result["clientLastMutationId"] == 1 and await lmid(client) == 1

    async def test_more_than_100_ops_in_one_mutation_reach_the_service(self, api: Api) -> None:
        session = await api.sign_in()
        client, draft = str(uuid.uuid4()), str(uuid.uuid4())
        ops = [{"path": "f1", "kind": "SET", "value": f"v{i}", "baseHash": NULL_HASH} for i in range(101)]
        result = await push(api, session, client, [create(1, draft), {**edit(2, draft, "x"), "ops": ops}])
        assert result["__typename"] == "SyncPushPayload", result
        assert result["results"][1]["status"] == "REJECTED"
        assert result["results"][1]["error"]["code"] == "VALUE_TOO_LARGE"

    async def test_an_absurd_batch_stops_at_the_generic_cap_ceiling(self, api: Api) -> None:
        session = await api.sign_in()
        client, draft = str(uuid.uuid4()), str(uuid.uuid4())
        batch = [edit(i, draft, "x") for i in range(1, 1002)]
        body = await api.gql(PUSH, {"input": push_input(client, batch)}, session.access_token)
        assert body["errors"][0]["extensions"]["code"] == "INPUT_LIST_TOO_LONG" and "data" not in body
        assert await lmid(client) is None

    async def test_other_input_lists_keep_the_generic_cap(self, api: Api) -> None:
        session = await api.sign_in()
        query = """mutation A($input: AcknowledgeQuarantinedOpsInput!) {
          acknowledgeQuarantinedOps(input: $input) { __typename } }"""
        ids = [str(uuid.uuid4()) for _ in range(101)]
        body = await api.gql(query, {"input": {"draftId": str(uuid.uuid4()), "ids": ids}}, session.access_token)
        assert body["errors"][0]["extensions"]["code"] == "INPUT_LIST_TOO_LONG"
        # A JSON value's own lists are capped too, outside the op values sync checks by size.
        query = "mutation P($input: SyncPushInput!) { syncPush(input: $input) { __typename } }"
        spoofed = {**push_input(str(uuid.uuid4()), [create(1, str(uuid.uuid4()))]), "extra": list(range(101))}
        body = await api.gql(query, {"input": spoofed}, session.access_token)
        assert body["errors"][0]["message"] != "Unexpected error."


class TestMalformedBatches:
    async def test_structure_errors_are_typed_invalid_batch_with_the_input_path(self, api: Api) -> None:
        session = await api.sign_in()
        client, draft = str(uuid.uuid4()), str(uuid.uuid4())
        set_without_value = edit(2, draft, None)
        del set_without_value["ops"][0]["value"]
        cases: list[tuple[list[dict[str, Any]], list[str]]] = [
            ([create(1, "not-a-uuid")], ["mutations", "0", "draftId"]),
            ([create(0, draft)], ["mutations", "0", "id"]),
            ([create(1, draft), set_without_value], ["mutations", "1", "ops", "0", "value"]),
            ([create(1, draft), edit(3, draft, "x"), edit(2, draft, "y")], ["mutations", "1", "id"]),
            ([], ["mutations"]),
        ]
        for mutations, path in cases:
            result = await push(api, session, client, mutations)
            assert result["__typename"] == "SyncPushRejected", (mutations, result)
            assert (result["code"], result["path"]) == ("INVALID_BATCH", path), mutations
        assert await lmid(client) is None

    async def test_wrong_types_are_graphql_validation_errors_and_nothing_is_applied(self, api: Api) -> None:
        session = await api.sign_in()
        client, draft = str(uuid.uuid4()), str(uuid.uuid4())
        for broken in (
            [{**create(1, draft), "id": "1"}],
            [{**create(1, draft), "type": "CREATE"}],
            [create(1, draft), {**edit(2, draft, "x"), "type": "DELETE_DRAFT", "baseDraftVersion": 3}],
            [create(1, draft), {**edit(2, draft, "x"), "type": "DELETE_DRAFT", "baseDraftVersion": "007"}],
        ):
            body = await api.gql(PUSH, {"input": push_input(client, broken)}, session.access_token)
            assert body.get("data") is None and body["errors"], broken
            assert "Unexpected error." not in {e["message"] for e in body["errors"]}
        assert await lmid(client) is None

    async def test_a_body_over_1_mib_is_413_and_invalid_json_is_400(self, api: Api) -> None:
        session = await api.sign_in()
        client, draft = str(uuid.uuid4()), str(uuid.uuid4())
        big = [create(1, draft), edit(2, draft, "x" * (1024 * 1024))]
        response = await api.post(
            {"query": PUSH, "variables": {"input": push_input(client, big)}}, session.access_token
        )
        assert response.status_code == 413
        response = await api.http.post(
            "/graphql",
            content=b'{"query": "mutation {',
            headers={**api.headers(session.access_token), "content-type": "application/json"},
        )
        assert response.status_code == 400
        assert await lmid(client) is None

    async def test_a_foreign_client_is_refused_with_no_last_mutation_id(self, api: Api) -> None:
        owner, other = await api.sign_in(), await api.sign_in()
        client, draft = str(uuid.uuid4()), str(uuid.uuid4())
        await push(api, owner, client, [create(1, draft)])
        result = await push(api, other, client, [edit(2, draft, "x")])
        assert result["__typename"] == "SyncPushRejected" and result["code"] == "CLIENT_NOT_OWNED"
        assert result["clientLastMutationId"] is None and await lmid(client) == 1
