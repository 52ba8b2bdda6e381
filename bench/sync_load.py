"""The sync benchmark's client side (bench.sync): simulated devices and the operations its load runs send — pushes
of field edits, full pulls, chunked uploads — each against the real GraphQL API or the bare baseline routes of
bench.sync_server."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from bench.harness import Operation
from bench.server import BARE_PREFIX
from bench.sync_server import FIELDS, FORM_VERSION, SERVICE_CODE

MIB = 1024 * 1024
PULL_DRAFTS, PULL_FIELDS = 200, 30
PROTOCOL = 1
JSON_HEADERS = {"content-type": "application/json"}

PUSH = """
mutation Push($input: SyncPushInput!) {
  syncPush(input: $input) {
    __typename
    ... on SyncPushPayload {
      lastMutationId stoppedAt serverEpoch
      results { id status replayed draftVersion error { code message } conflicts { id path } }
      stopReason { code message }
    }
    ... on SyncPushRejected { code message path }
  }
}
"""
PULL = """
query Pull($input: SyncPullInput!) {
  syncPull(input: $input) {
    __typename
    ... on SyncPullPayload {
      cursor hasMore reset snapshotVersion serverEpoch
      drafts {
        draftId status serviceCode formVersion full version contentHash requiredFormVersion
        fields { path value hash version }
        removedPaths
        openConflicts { id path serverHash candidates { clientId valueHash } }
        attachments { path blobSha256 status }
        quarantinedOps applicationId restorableUntil
      }
      clients { clientId lastMutationId }
    }
    ... on SyncPullRejected { code message }
  }
}
"""
CREATE_UPLOAD = """
mutation Create($input: CreateUploadInput!) {
  createUpload(input: $input) {
    __typename
    ... on Upload { id chunkSize status receivedChunks }
    ... on CreateUploadError { code message }
  }
}
"""
COMPLETE_UPLOAD = """
mutation Complete($input: CompleteUploadInput!) {
  completeUpload(input: $input) {
    __typename
    ... on Upload { id status }
    ... on CompleteUploadError { code message }
  }
}
"""


class BenchFailure(Exception):
    pass


def value_hash(value: Any) -> str:
    from sync.merge import value_hash as h

    return h(value)


def _body(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(response.content) if response.content else {}
    if response.status_code != 200 or body.get("errors"):
        raise BenchFailure(f"HTTP {response.status_code}: {response.content[:300]!r}")
    return body


# ======================================================================================= devices


@dataclass
class Device:
    """One person's client and draft, with the values it knows the server holds."""

    token: str
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    next_id: int = 1
    draft_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    values: dict[str, Any] = field(default_factory=dict)
    turn: int = 0

    @property
    def headers(self) -> dict[str, str]:
        return {**JSON_HEADERS, "authorization": f"Bearer {self.token}"}

    def set_ops(self, values: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"path": path, "kind": "SET", "value": value, "baseHash": value_hash(self.values.get(path))}
            for path, value in values.items()
        ]

    def mutation(self, kind: str, values: dict[str, Any], **extra: Any) -> dict[str, Any]:
        m = {"id": self.next_id, "draftId": extra.pop("draft_id", self.draft_id), "type": kind}
        m |= {"formVersion": FORM_VERSION, "ops": self.set_ops(values), **extra}
        self.next_id += 1
        return m

    def push_input(self, mutations: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "platform": "APP_ANDROID",
            "protocolVersion": PROTOCOL,
            "mutations": mutations,
        }


async def push(client: httpx.AsyncClient, device: Device, mutations: list[dict[str, Any]], *, bare: bool) -> list[str]:
    """One push; raises unless every mutation was APPLIED. Keeps the device's mutation ids in step either way."""
    data = device.push_input(mutations)
    if bare:
        response = await client.post(f"{BARE_PREFIX}/sync/push", content=orjson.dumps(data), headers=device.headers)
        answer = _body(response)["data"]["syncPush"]
        last, results = answer.get("last_mutation_id"), answer.get("results") or []
        statuses = [str(r["status"]) for r in results]
    else:
        body = orjson.dumps({"query": PUSH, "variables": {"input": data}})
        answer = _body(await client.post("/graphql", content=body, headers=device.headers))["data"]["syncPush"]
        last, results = answer.get("lastMutationId"), answer.get("results") or []
        statuses = [str(r["status"]) for r in results]
    if last is not None:
        device.next_id = int(last) + 1
    if last != mutations[-1]["id"] or statuses != ["APPLIED"] * len(mutations):
        raise BenchFailure(f"push not applied: {str(answer)[:300]}")
    return statuses


def edit_operation(devices: asyncio.Queue[Device], edits: int, *, bare: bool) -> Operation:
    """One EDIT of `edits` fields of the draft of whichever device is idle (a new value for each)."""

    async def edit(client: httpx.AsyncClient) -> None:
        device = await devices.get()
        try:
            device.turn += 1
            start = (device.turn * edits) % FIELDS
            paths = [f"f{(start + i) % FIELDS:03d}" for i in range(edits)]
            values = {path: f"{device.turn}号 张三 {path}" for path in paths}
            try:
                await push(client, device, [device.mutation("EDIT", values)], bare=bare)
            except Exception:
                # The device learns what the server holds, so that its next baseHash is right: one failed answer
                # never drifts the rest of the run into conflicts.
                await _refresh(client, device)
                raise
            device.values.update(values)
        finally:
            devices.put_nowait(device)

    return edit


async def _refresh(client: httpx.AsyncClient, device: Device) -> None:
    """The device's draft fields as the server holds them (its space holds that one draft)."""
    data = {"clientId": device.client_id, "protocolVersion": PROTOCOL}
    body = orjson.dumps({"query": PULL, "variables": {"input": data}})
    page = _body(await client.post("/graphql", content=body, headers=device.headers))["data"]["syncPull"]
    for draft in page.get("drafts") or []:
        if draft["draftId"] == device.draft_id:
            device.values = {f["path"]: f["value"] for f in draft["fields"]}


# ======================================================================================= pull


async def full_pull(client: httpx.AsyncClient, device: Device, *, bare: bool) -> tuple[int, int]:
    """Pages from no cursor until hasMore is false; (drafts, pages). Raises unless every draft came whole."""
    cursor: str | None = None
    drafts = pages = 0
    while True:
        data = {"clientId": device.client_id, "cursor": cursor, "protocolVersion": PROTOCOL}
        data |= {"limit": 200, "maxBytes": MIB}
        if bare:
            response = await client.post(f"{BARE_PREFIX}/sync/pull", content=orjson.dumps(data), headers=device.headers)
            page = _body(response)["data"]["syncPull"]
            more, cursor, found = page.get("has_more"), page.get("cursor"), page.get("drafts")
        else:
            body = orjson.dumps({"query": PULL, "variables": {"input": data}})
            page = _body(await client.post("/graphql", content=body, headers=device.headers))["data"]["syncPull"]
            more, cursor, found = page.get("hasMore"), page.get("cursor"), page.get("drafts")
        if found is None:
            raise BenchFailure(f"pull refused: {str(page)[:300]}")
        if any(len(d["fields"]) != PULL_FIELDS for d in found):
            raise BenchFailure("a draft came without its 30 fields")
        drafts += len(found)
        pages += 1
        if not more:
            return drafts, pages


def pull_operation(device: Device, *, bare: bool) -> Operation:
    async def pull(client: httpx.AsyncClient) -> None:
        drafts, _ = await full_pull(client, device, bare=bare)
        if drafts != PULL_DRAFTS:
            raise BenchFailure(f"a full pull returned {drafts} drafts, not {PULL_DRAFTS}")

    return pull


async def fill_space(client: httpx.AsyncClient, device: Device) -> None:
    """200 drafts of 30 fields in the device's space, created by two pushes of 100 CREATE_DRAFT each."""
    for _ in range(PULL_DRAFTS // 100):
        mutations = [
            device.mutation(
                "CREATE_DRAFT",
                {f"f{i:03d}": f"压测草稿 {n} 字段 {i} 云溪市" for i in range(PULL_FIELDS)},
                draft_id=str(uuid.uuid4()),
                serviceCode=SERVICE_CODE,
            )
            for n in range(100)
        ]
        await push(client, device, mutations, bare=False)


# ======================================================================================= upload


@dataclass(frozen=True)
class File:
    """A JPEG-looking file of 20 MiB with its digests, computed before the clock starts (a device hashes first)."""

    data: bytes
    sha256: str
    chunk_digests: list[str]

    @classmethod
    def make(cls, n: int, noise: bytes) -> File:
        data = b"\xff\xd8\xff\xe0" + n.to_bytes(8, "big") + noise[12:]
        chunks = [hashlib.sha256(data[i : i + MIB]).hexdigest() for i in range(0, len(data), MIB)]
        return cls(data, hashlib.sha256(data).hexdigest(), chunks)


async def upload_file(client: httpx.AsyncClient, device: Device, file: File, *, bare: bool) -> None:
    headers = device.headers
    if bare:
        upload_id = uuid.uuid4().hex
        path = f"{BARE_PREFIX}/sync/uploads/{upload_id}/chunks"
    else:
        data = {"clientId": device.client_id, "sha256": file.sha256, "size": len(file.data)}
        data |= {"mime": "image/jpeg", "fileName": "营业执照.jpg"}
        body = orjson.dumps({"query": CREATE_UPLOAD, "variables": {"input": data}})
        created = _body(await client.post("/graphql", content=body, headers=headers))["data"]["createUpload"]
        if created.get("__typename") != "Upload" or created["status"] != "PENDING" or created["chunkSize"] != MIB:
            raise BenchFailure(f"createUpload: {created}")
        upload_id = created["id"]
        path = f"/sync/uploads/{upload_id}/chunks"
    for index, digest in enumerate(file.chunk_digests):
        chunk = file.data[index * MIB : (index + 1) * MIB]
        response = await client.put(
            f"{path}/{index}",
            content=chunk,
            headers={"authorization": headers["authorization"], "x-chunk-sha256": digest},
        )
        if response.status_code != 201:
            raise BenchFailure(f"chunk {index}: HTTP {response.status_code} {response.text[:200]}")
    if not bare:
        body = orjson.dumps({"query": COMPLETE_UPLOAD, "variables": {"input": {"uploadId": upload_id}}})
        done = _body(await client.post("/graphql", content=body, headers=headers))["data"]["completeUpload"]
        if done.get("status") != "COMPLETE":
            raise BenchFailure(f"completeUpload: {done}")


def upload_operations(device: Device, files: list[File], *, bare: bool) -> list[Operation]:
    def one(file: File) -> Operation:
        async def upload(client: httpx.AsyncClient) -> None:
            await upload_file(client, device, file, bare=bare)

        return upload

    return [one(file) for file in files]
