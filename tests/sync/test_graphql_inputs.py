"""The GraphQL inputs of sync reach the service as the client sent them (sync-protocol.md §6): the quarantine keeps
the SyncMutationInput in camelCase with exactly the fields sent, `value` present or absent stays apart, and the
conversion to `sync.contract` keeps raw strings. Also the cost budgets of syncPush and syncPull (graphql.md §3)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from strawberry import ID
from strawberry.scalars import JSON

from api.models.sync import Platform as ModelPlatform
from schema.scalars import BigIntString
from schema.sync.enums import FieldOpKind, Platform, SyncMutationType
from schema.sync.inputs import FieldOpInput, SyncMutationInput, SyncPullInput, SyncPushInput, pull_request, push_request
from sync import contract
from sync.merge import NULL_HASH, value_hash
from tests.support.client import Api
from tests.sync.test_graphql_push import create, push, push_input

CONFLICT = """fragment Conflict on FieldConflict { id path serverValue serverHash openedVersion
  candidates { clientId platform value valueHash clientTime } }"""
# Every field of each answer selected (§6), as a device sends them.
PUSH = (
    """mutation Push($input: SyncPushInput!) { syncPush(input: $input) { __typename
  ... on SyncPushPayload { lastMutationId stoppedAt retryAfterMs serverEpoch
    stopReason { code message paths retryable }
    results { id status draftVersion applicationId replayed conflicts { ...Conflict } reofferedOps { ...QOp }
      error { code message paths retryable } } }
  ... on SyncPushRejected { code message path retryable retryAfterMs serverEpoch clientLastMutationId } } }
fragment QOp on QuarantinedOp { id clientId mutationId draftId reason message mutation createdAt }
"""
    + CONFLICT
)
PULL = (
    """query Pull($input: SyncPullInput!) { syncPull(input: $input) { __typename
  ... on SyncPullPayload { cursor hasMore reset snapshotVersion serverEpoch clients { clientId lastMutationId }
    drafts { draftId status serviceCode formVersion full requiredFormVersion version contentHash
      fields { path value hash version } removedPaths openConflicts { ...Conflict }
      attachments { path blobSha256 status } quarantinedOps applicationId restorableUntil } }
  ... on SyncPullRejected { code message path retryAfterMs } } }
"""
    + CONFLICT
)
QUARANTINE = """query Q($draftId: ID!) { quarantinedOps(draftId: $draftId, first: 10) {
  edges { node { id mutationId reason mutation } } pageInfo { hasNextPage } } }"""
ACKNOWLEDGE = """mutation A($input: AcknowledgeQuarantinedOpsInput!) { acknowledgeQuarantinedOps(input: $input) {
  __typename ... on QuarantinedOpsAcknowledged { removed draftVersion }
  ... on AcknowledgeQuarantinedOpsError { code } } }"""


async def acknowledge(api: Api, token: str, draft_id: str, ids: list[str]) -> dict[str, Any]:
    variables = {"input": {"draftId": draft_id, "ids": ids}}
    answer: dict[str, Any] = (await api.data(ACKNOWLEDGE, variables, token))["acknowledgeQuarantinedOps"]
    return answer


HISTORY = """query H($draftId: ID!) { draftHistory(draftId: $draftId) {
  edges { cursor node { path value version clientId mutationId } } pageInfo { hasNextPage endCursor } } }"""


class TestConversion:
    def test_a_push_input_becomes_the_contract_request_with_raw_values(self) -> None:
        draft = str(uuid.uuid4())
        sent_at = datetime.fromisoformat("2026-03-01T09:30:00+08:00")
        ops = [
            FieldOpInput(path="f1", kind=FieldOpKind.SET, value=cast(JSON, {"a": [1, "二"]}), base_hash=NULL_HASH),
            FieldOpInput(path="f2", kind=FieldOpKind.SET, value=None, base_hash="x", base_version=BigIntString(7)),
            FieldOpInput(path="f3", kind=FieldOpKind.UNSET, base_hash="y"),
        ]
        edit = SyncMutationInput(
            id=2, draft_id=ID(draft), type=SyncMutationType.EDIT, form_version="1", client_time=sent_at, ops=ops
        )
        submit = SyncMutationInput(
            id=3,
            draft_id=ID(draft),
            type=SyncMutationType.SUBMIT,
            form_version="1",
            base_draft_version=BigIntString(12),
            expected_content_hash="h",
            conflict_id=None,
        )
        request = push_request(
            SyncPushInput(client_id=ID("c"), platform=Platform.ALIPAY_MP, protocol_version=1, mutations=[edit, submit])
        )
        assert request.client_id == "c" and request.platform is ModelPlatform.ALIPAY_MP
        assert request.ack_results_through is None
        first, second = request.mutations
        assert first.type is contract.SyncMutationType.EDIT and first.client_time == sent_at
        assert first.ops is not None
        assert [(o.kind, o.value, o.value_given, o.base_version) for o in first.ops] == [
            ("SET", {"a": [1, "二"]}, True, None),
            ("SET", None, False, "7"),
            ("UNSET", None, False, None),
        ]
        assert first.raw == {
            "id": 2,
            "draftId": draft,
            "type": "EDIT",
            "formVersion": "1",
            "clientTime": "2026-03-01T09:30:00+08:00",
            "ops": [
                {"path": "f1", "kind": "SET", "value": {"a": [1, "二"]}, "baseHash": NULL_HASH},
                {"path": "f2", "kind": "SET", "value": None, "baseHash": "x", "baseVersion": "7"},
                {"path": "f3", "kind": "UNSET", "baseHash": "y"},
            ],
        }
        assert second.base_draft_version == "12" and second.ops is None and second.conflict_id is None
        assert second.raw == {
            "id": 3,
            "draftId": draft,
            "type": "SUBMIT",
            "formVersion": "1",
            "baseDraftVersion": "12",
            "conflictId": None,
            "expectedContentHash": "h",
        }

    def test_the_mutations_as_sent_replace_the_rendering_when_the_request_carried_them(self) -> None:
        draft = ID(str(uuid.uuid4()))
        sent_at = "2026-03-01T01:30:00.000Z"
        mutation = SyncMutationInput(
            id=1,
            draft_id=draft,
            type=SyncMutationType.DELETE_DRAFT,
            form_version="1",
            client_time=datetime.fromisoformat(sent_at),
            base_draft_version=BigIntString(3),
        )
        data = SyncPushInput(client_id=ID("c"), platform=Platform.WEB, protocol_version=1, mutations=[mutation])
        sent = {
            "id": 1,
            "draftId": draft,
            "type": "DELETE_DRAFT",
            "formVersion": "1",
            "clientTime": sent_at,
            "baseDraftVersion": "3",
        }
        assert push_request(data, [sent]).mutations[0].raw == sent
        rendered = push_request(data, None).mutations[0].raw
        assert rendered == {**sent, "clientTime": "2026-03-01T01:30:00+00:00"}
        assert push_request(data, [sent, sent]).mutations[0].raw == rendered  # not the request's mutations

    def test_a_pull_input_takes_the_defaults_for_absent_or_null_bounds(self) -> None:
        absent = pull_request(SyncPullInput(client_id=ID("c"), protocol_version=1))
        null = pull_request(SyncPullInput(client_id=ID("c"), protocol_version=1, limit=None, max_bytes=None))
        assert absent == null == contract.PullRequest(client_id=ID("c"), protocol_version=1)
        given = pull_request(SyncPullInput(client_id=ID("c"), protocol_version=1, cursor="k", limit=500, max_bytes=1))
        assert (given.cursor, given.limit, given.max_bytes) == ("k", 500, 1)  # the service clamps


class TestOverHttp:
    async def test_the_quarantine_shows_the_mutation_as_sent(self, api: Api) -> None:
        session = await api.sign_in()
        client, draft = str(uuid.uuid4()), str(uuid.uuid4())
        rejected: dict[str, Any] = {
            "id": 2,
            "draftId": draft,
            "type": "EDIT",
            "formVersion": "1",
            "clientTime": "2026-03-01T01:30:00.000Z",  # as JS toISOString() writes it
            "ops": [{"path": "nowhere", "kind": "SET", "value": {"城市": ["北京", 1]}, "baseHash": NULL_HASH}],
        }
        result = await push(api, session, client, [create(1, draft), rejected])
        assert result["results"][1]["error"]["code"] == "UNKNOWN_PATH", result
        page = (await api.data(QUARANTINE, {"draftId": draft}, session.access_token))["quarantinedOps"]
        [edge] = page["edges"]
        shown = {k: v for k, v in edge["node"].items() if k != "id"}
        assert shown == {"mutationId": 2, "reason": "UNKNOWN_PATH", "mutation": rejected}
        stranger = await api.sign_in()
        refused = await acknowledge(api, stranger.access_token, draft, [edge["node"]["id"]])
        assert refused == {"__typename": "AcknowledgeQuarantinedOpsError", "code": "NOT_FOUND"}
        done = await acknowledge(api, session.access_token, draft, [edge["node"]["id"], str(uuid.uuid4())])
        assert done["__typename"] == "QuarantinedOpsAcknowledged" and done["removed"] == 1
        assert int(done["draftVersion"]) > int(result["results"][1]["draftVersion"] or 0)
        page = (await api.data(QUARANTINE, {"draftId": draft}, session.access_token))["quarantinedOps"]
        assert page["edges"] == []

    async def test_draft_history_pages_with_string_versions(self, api: Api) -> None:
        session = await api.sign_in()
        client, draft = str(uuid.uuid4()), str(uuid.uuid4())
        ops = [{"path": "f1", "kind": "SET", "value": "a", "baseHash": NULL_HASH}]
        again = [{"path": "f1", "kind": "SET", "value": "b", "baseHash": value_hash("a")}]
        edit = {"draftId": draft, "type": "EDIT", "formVersion": "1"}
        await push(api, session, client, [create(1, draft, ops=ops), {"id": 2, **edit, "ops": again}])
        page = (await api.data(HISTORY, {"draftId": draft}, session.access_token))["draftHistory"]
        nodes = [e["node"] for e in page["edges"]]
        assert [(n["value"], n["mutationId"], n["clientId"]) for n in nodes] == [("a", 1, client), ("b", 2, client)]
        assert all(isinstance(n["version"], str) for n in nodes) and page["pageInfo"]["hasNextPage"] is False
        foreign = await api.sign_in()
        page = (await api.data(HISTORY, {"draftId": draft}, foreign.access_token))["draftHistory"]
        assert page["edges"] == []

    async def test_the_full_push_and_pull_selections_cost_what_graphql_md_budgets(self, api: Api) -> None:
        session = await api.sign_in()
        client = str(uuid.uuid4())
        mutations = [create(1, str(uuid.uuid4()))]
        one = await api.gql(PUSH, {"input": push_input(client, mutations)}, session.access_token)
        many = await api.gql(PUSH, {"input": push_input(client, mutations * 100)}, session.access_token)
        too_many = await api.gql(PUSH, {"input": push_input(client, mutations * 150)}, session.access_token)
        assert many["extensions"]["cost"] - one["extensions"]["cost"] == 99
        assert many["extensions"]["cost"] < 200 and too_many["extensions"]["cost"] == many["extensions"]["cost"]
        assert too_many["data"]["syncPush"]["code"] == "PAYLOAD_TOO_LARGE"
        costs = []
        for limit in (None, 200, 10_000):
            bounds = {} if limit is None else {"limit": limit}
            body = await api.gql(
                PULL, {"input": {"clientId": client, "protocolVersion": 1, **bounds}}, session.access_token
            )
            assert body["data"]["syncPull"]["__typename"] == "SyncPullPayload", body
            costs.append(body["extensions"]["cost"])
        assert costs[1] - costs[0] == 150 and costs[2] == costs[1] < 300
