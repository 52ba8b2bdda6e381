"""A simulated sync device (sync-protocol.md §14): one client (clientId, platform) of one signed-in person that
drives the real GraphQL endpoint over HTTP the way a mini-program or the app would.

It keeps a server-base copy of its drafts (built from pulls only), a queue of pending mutations numbered 1, 2, 3 …
per client, and an optimistic local view (base + pending, rebased after every pull). The op helpers compute
`baseHash` and `expectedContentHash` from that local view, as a real client does. `push(lose_ack=True)` lets the
request complete on the server and then raises a connection error to the caller (a lost ACK, §14.2).

Everything the server answered is recorded (`results`, `mutations`, observed LMIDs and snapshot versions), which
is what `tests.support.sync_invariants` checks I1–I5 against.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from sync.merge import item_fields, item_hash, map_hash, value_hash
from tests.support.client import Api, LiveServer, Session
from tests.support.sync_documents import ACKNOWLEDGE, HISTORY, PROTOCOL_VERSION, PULL, PUSH, QUARANTINE
from tests.support.sync_local import DraftCopy, LostAckTransport, Op, PullOutcome, apply_locally, uuid7

__all__ = ["PUSH", "DraftCopy", "LostAckTransport", "Op", "PullOutcome", "SyncDevice", "uuid7"]


class SyncDevice:
    def __init__(
        self, live: LiveServer, session: Session, http: httpx.AsyncClient, transport: LostAckTransport, platform: str
    ) -> None:
        self.api = Api(live, http)
        self.session = session
        self.transport = transport
        self.platform = platform
        self.client_id = str(uuid.uuid4())
        self.space_id = f"P:{session.person_id}"
        self.base: dict[str, DraftCopy] = {}
        self.pending: list[int] = []  # mutation ids not yet covered by a pulled LMID
        self.mutations: dict[int, dict[str, Any]] = {}  # every SyncMutationInput built, by id
        self.next_id = 1
        self.pushed_through = 0  # the last lastMutationId a push answered
        self.results: dict[int, dict[str, Any]] = {}  # the first (non-replayed) result per mutation id
        self.replays: dict[int, list[dict[str, Any]]] = {}
        self.lmids_seen: list[int] = []
        self.snapshots: list[tuple[str, int, bool]] = []  # (epoch, snapshotVersion, reset) per page
        self.cursor: str | None = None
        self.acknowledged_quarantine: set[tuple[str, int]] = set()  # (clientId, mutationId)
        self.results_acked_through = 0
        self.last_push_body: dict[str, Any] | None = None
        self.page_limit: int | None = None  # drafts per pull page; None: the server's default

    @classmethod
    @asynccontextmanager
    async def open(cls, live: LiveServer, session: Session, platform: str = "APP_IOS") -> AsyncIterator[SyncDevice]:
        transport = LostAckTransport(httpx.AsyncHTTPTransport())
        async with httpx.AsyncClient(base_url=live.base_url, timeout=60.0, transport=transport) as http:
            yield cls(live, session, http, transport, platform)

    @property
    def token(self) -> str:
        return self.session.access_token

    # ---- GraphQL over HTTP -----------------------------------------------------------------------------------

    async def post(self, body: Any) -> httpx.Response:
        """One POST /graphql; a 429 (the shared test buckets) is waited out, as a real client does."""
        for _ in range(30):
            response = await self.api.post(body, self.token)
            if response.status_code != 429:
                return response
            retry_ms = int(response.json().get("extensions", {}).get("retryAfterMs", 1000) or 1000)
            await asyncio.sleep(min(retry_ms, 5000) / 1000)
        raise AssertionError("rate limited for too long")

    async def gql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await self.post({"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    # ---- local view ------------------------------------------------------------------------------------------

    def view(self, draft_id: str) -> DraftCopy | None:
        """The optimistic local view: the base copy with every pending mutation replayed on it, in order."""
        local = copy.deepcopy(self.base.get(draft_id))
        for mid in self.pending:
            if self.mutations[mid]["draftId"] == draft_id:
                local = apply_locally(local, self.mutations[mid])
        return local

    def values(self, draft_id: str) -> dict[str, Any]:
        view = self.view(draft_id)
        return {} if view is None else dict(view.fields)

    def content_hash(self, draft_id: str) -> str:
        return map_hash(self.values(draft_id))

    # ---- building mutations ----------------------------------------------------------------------------------

    def enqueue(self, draft_id: str, type_: str, form_version: str, **extra: Any) -> int:
        mid = self.next_id
        self.next_id += 1
        mutation: dict[str, Any] = {"id": mid, "draftId": draft_id, "type": type_, "formVersion": form_version}
        mutation.update({k: v for k, v in extra.items() if v is not None})
        self.mutations[mid] = mutation
        self.pending.append(mid)
        return mid

    def op_inputs(self, draft_id: str, ops: Iterable[Op]) -> list[dict[str, Any]]:
        """FieldOpInputs with baseHash from the local view, each op seeing the ones before it (§8.4 rule 2)."""
        values = self.values(draft_id)
        base = self.base.get(draft_id)
        inputs = []
        for op in ops:
            entry: dict[str, Any] = {"path": op.path, "kind": op.kind}
            if op.kind == "REMOVE_ITEM":
                entry["baseHash"] = item_hash(values, op.path)
                for path in item_fields(values, op.path):
                    values.pop(path)
            else:
                entry["baseHash"] = value_hash(values.get(op.path))
                if op.kind == "SET":
                    entry["value"] = op.value
                    values[op.path] = op.value
                else:
                    values.pop(op.path, None)
            if base is not None and op.path in base.field_versions:
                entry["baseVersion"] = str(base.field_versions[op.path])
            inputs.append(entry)
        return inputs

    def form_version_of(self, draft_id: str) -> str:
        view = self.view(draft_id)
        assert view is not None, f"draft {draft_id} is unknown to this device"
        return view.form_version

    def create_draft(
        self, service_code: str, form_version: str, values: dict[str, Any] | None = None, draft_id: str | None = None
    ) -> str:
        draft_id = draft_id or uuid7()
        ops = [Op(path, "SET", value) for path, value in (values or {}).items()]
        self.enqueue(
            draft_id,
            "CREATE_DRAFT",
            form_version,
            serviceCode=service_code,
            ops=self.op_inputs(draft_id, ops) if ops else None,
        )
        return draft_id

    def edit(self, draft_id: str, ops: list[Op], form_version: str | None = None) -> int:
        form = form_version or self.form_version_of(draft_id)
        return self.enqueue(draft_id, "EDIT", form, ops=self.op_inputs(draft_id, ops))

    def set(self, draft_id: str, path: str, value: Any, form_version: str | None = None) -> int:
        return self.edit(draft_id, [Op(path, "SET", value)], form_version)

    def unset(self, draft_id: str, path: str) -> int:
        return self.edit(draft_id, [Op(path, "UNSET")])

    def remove_item(self, draft_id: str, item_path: str) -> int:
        return self.edit(draft_id, [Op(item_path, "REMOVE_ITEM")])

    def base_version(self, draft_id: str) -> str:
        base = self.base.get(draft_id)
        return str(base.version if base is not None else 0)

    def delete(self, draft_id: str, base_draft_version: int | None = None) -> int:
        base = str(base_draft_version) if base_draft_version is not None else self.base_version(draft_id)
        return self.enqueue(draft_id, "DELETE_DRAFT", self.form_version_of(draft_id), baseDraftVersion=base)

    def restore(self, draft_id: str) -> int:
        return self.enqueue(draft_id, "RESTORE_DRAFT", self.form_version_of(draft_id))

    def resolve(self, draft_id: str, conflict_id: str, path: str, value: Any) -> int:
        op = Op(path, "UNSET") if value is None else Op(path, "SET", value)
        return self.enqueue(
            draft_id,
            "RESOLVE_CONFLICT",
            self.form_version_of(draft_id),
            conflictId=conflict_id,
            ops=self.op_inputs(draft_id, [op]),
        )

    def submit(self, draft_id: str, expected_content_hash: str | None = None) -> int:
        return self.enqueue(
            draft_id,
            "SUBMIT",
            self.form_version_of(draft_id),
            baseDraftVersion=self.base_version(draft_id),
            expectedContentHash=expected_content_hash or self.content_hash(draft_id),
        )

    # ---- push ------------------------------------------------------------------------------------------------

    def push_input(self, ids: Iterable[int] | None = None, **overrides: Any) -> dict[str, Any]:
        chosen = list(ids) if ids is not None else [m for m in self.pending if m > self.pushed_through]
        data: dict[str, Any] = {
            "clientId": self.client_id,
            "platform": self.platform,
            "protocolVersion": PROTOCOL_VERSION,
            "mutations": [self.mutations[m] for m in chosen],
        }
        data.update(overrides)
        return data

    async def push(
        self, ids: Iterable[int] | None = None, *, lose_ack: bool = False, **overrides: Any
    ) -> dict[str, Any]:
        """Push the pending mutations not yet answered (or `ids`); returns the `syncPush` union member."""
        body = {"query": PUSH, "variables": {"input": self.push_input(ids, **overrides)}}
        return await self.send_push(body, lose_ack=lose_ack)

    async def push_raw(self, mutations: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
        """Push mutations the test built itself (malformed ones included); they never join the queue."""
        data: dict[str, Any] = {
            "clientId": self.client_id,
            "platform": self.platform,
            "protocolVersion": PROTOCOL_VERSION,
            "mutations": mutations,
        }
        data.update(overrides)
        answer = await self.send_push({"query": PUSH, "variables": {"input": data}})
        if answer["__typename"] == "SyncPushPayload":
            self.next_id = max(self.next_id, int(answer["lastMutationId"]) + 1)
        return answer

    async def resend_last(self) -> dict[str, Any]:
        assert self.last_push_body is not None
        return await self.send_push(copy.deepcopy(self.last_push_body))

    async def send_push(self, body: dict[str, Any], *, lose_ack: bool = False) -> dict[str, Any]:
        self.last_push_body = copy.deepcopy(body)
        self.transport.drop_next = lose_ack
        try:
            response = await self.post(body)
        finally:
            self.transport.drop_next = False
        assert response.status_code == 200, response.text
        payload: dict[str, Any] = response.json()
        assert "errors" not in payload, payload["errors"]
        result: dict[str, Any] = payload["data"]["syncPush"]
        self.record_push(result)
        return result

    def record_push(self, result: dict[str, Any]) -> None:
        if result["__typename"] == "SyncPushRejected":
            if result.get("clientLastMutationId") is not None:
                self.lmids_seen.append(int(result["clientLastMutationId"]))
            return
        self.lmids_seen.append(int(result["lastMutationId"]))
        self.pushed_through = max(self.pushed_through, int(result["lastMutationId"]))
        for entry in result["results"]:
            mid = int(entry["id"])
            if entry["replayed"] and mid in self.results:
                self.replays.setdefault(mid, []).append(entry)
            else:
                self.results.setdefault(mid, entry)

    async def ack_results(self, through: int) -> dict[str, Any]:
        """An otherwise empty push is INVALID_BATCH, so the acknowledgement rides on a replay of `through`."""
        result = await self.push([through], ackResultsThrough=through)
        self.results_acked_through = max(self.results_acked_through, min(through, self.pushed_through))
        return result

    # ---- pull ------------------------------------------------------------------------------------------------

    async def pull_page(
        self, cursor: str | None, *, limit: int | None = None, max_bytes: int | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"clientId": self.client_id, "protocolVersion": PROTOCOL_VERSION}
        if cursor is not None:
            data["cursor"] = cursor
        if limit is not None:
            data["limit"] = limit
        if max_bytes is not None:
            data["maxBytes"] = max_bytes
        result: dict[str, Any] = (await self.gql(PULL, {"input": data}))["syncPull"]
        return result

    async def pull(
        self,
        cursor: str | None = None,
        *,
        from_start: bool = False,
        limit: int | None = None,
        allow_reset: bool = False,
    ) -> PullOutcome:
        """Page until hasMore = false, applying every page to the base copy; then rebase the pending queue.

        I4: a pull from a cursor resets only on an epoch change, GC or invalid input, which the caller announces
        with `allow_reset`."""
        start = None if from_start else (cursor if cursor is not None else self.cursor)
        limit = limit if limit is not None else self.page_limit
        pages: list[dict[str, Any]] = []
        current = start
        for _ in range(200):
            page = await self.pull_page(current, limit=limit)
            assert page["__typename"] == "SyncPullPayload", page
            if not pages and start is not None and not allow_reset:
                assert not page["reset"], "I4: a pull from a valid cursor was answered with a reset"
            if pages:
                assert page["snapshotVersion"] == pages[0]["snapshotVersion"], "snapshotVersion moved within a cycle"
                assert not page["reset"], "reset = true on a page other than the first of a cycle"
            self.apply_page(page)
            pages.append(page)
            current = page["cursor"]
            if not page["hasMore"]:
                self.cursor = current
                return PullOutcome(pages)
        raise AssertionError("pull did not finish in 200 pages")

    def apply_page(self, page: dict[str, Any]) -> None:
        epoch, version, reset = page["serverEpoch"], int(page["snapshotVersion"]), bool(page["reset"])
        if self.snapshots and not reset:
            last_epoch, last_version, _ = self.snapshots[-1]
            if last_epoch == epoch:
                assert version >= last_version, f"I4: snapshotVersion went back from {last_version} to {version}"
        self.snapshots.append((epoch, version, reset))
        if reset:
            self.base.clear()
        for change in page["drafts"]:
            self.apply_change(change)
        for ack in page["clients"]:
            if ack["clientId"] == self.client_id:
                lmid = int(ack["lastMutationId"])
                self.lmids_seen.append(lmid)
                self.pushed_through = max(self.pushed_through, lmid)
                self.pending = [m for m in self.pending if m > lmid]

    def apply_change(self, change: dict[str, Any]) -> None:
        draft_id = change["draftId"]
        known = self.base.get(draft_id)
        if change["full"] or known is None:
            assert change["full"], f"a delta for draft {draft_id}, which this device never received in full"
            known = DraftCopy(draft_id, change["status"], change["serviceCode"], change["formVersion"])
            known.fields, known.field_versions = {}, {}
        else:
            for path in change["removedPaths"]:
                known.fields.pop(path, None)
                known.field_versions.pop(path, None)
        for entry in change["fields"]:
            assert entry["value"] is not None, f"a null value among the fields of {draft_id}"
            assert entry["hash"] == value_hash(entry["value"]), f"field hash of {entry['path']} is not H(value)"
            known.fields[entry["path"]] = entry["value"]
            known.field_versions[entry["path"]] = int(entry["version"])
        known.status = change["status"]
        known.service_code = change["serviceCode"]
        known.form_version = change["formVersion"]
        known.version = int(change["version"])
        known.content_hash = change["contentHash"]
        known.open_conflicts = change["openConflicts"]
        known.attachments = change["attachments"]
        known.quarantined_ops = int(change["quarantinedOps"])
        known.application_id = change["applicationId"]
        known.restorable_until = change["restorableUntil"]
        known.required_form_version = change["requiredFormVersion"]
        assert map_hash(known.fields) == known.content_hash, (
            f"I2: the materialized fields of {draft_id} do not hash to its contentHash"
        )
        self.base[draft_id] = known

    # ---- reads -----------------------------------------------------------------------------------------------

    async def history(self, draft_id: str) -> list[dict[str, Any]]:
        return await self._all(HISTORY, "draftHistory", draft_id)

    async def quarantined(self, draft_id: str) -> list[dict[str, Any]]:
        return await self._all(QUARANTINE, "quarantinedOps", draft_id)

    async def _all(self, query: str, name: str, draft_id: str) -> list[dict[str, Any]]:
        nodes: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(100):
            connection = (await self.gql(query, {"draftId": draft_id, "after": after}))[name]
            nodes.extend(edge["node"] for edge in connection["edges"])
            if not connection["pageInfo"]["hasNextPage"]:
                return nodes
            after = connection["pageInfo"]["endCursor"]
        raise AssertionError(f"{name} did not end in 100 pages")

    async def acknowledge(self, draft_id: str, ids: list[str]) -> dict[str, Any]:
        """Acknowledge quarantine entries; the (clientId, mutationId) of each is remembered for I1."""
        known = {node["id"]: node for node in await self.quarantined(draft_id)}
        result: dict[str, Any] = (await self.gql(ACKNOWLEDGE, {"input": {"draftId": draft_id, "ids": ids}}))[
            "acknowledgeQuarantinedOps"
        ]
        if result["__typename"] == "QuarantinedOpsAcknowledged":
            for entry in ids:
                if entry in known:
                    self.acknowledged_quarantine.add((known[entry]["clientId"], int(known[entry]["mutationId"])))
        return result
