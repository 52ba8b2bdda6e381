"""Uploads through the public surface (sync-protocol.md §6, §7): GraphQL for create/complete/read, the chunk
routes over HTTP, `PUT` with a raw body or the multipart `POST` fallback."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import httpx

from sync.uploads import CHUNK_SIZE
from tests.support.sync_device import SyncDevice

MIB = 1024 * 1024
CREATE = """mutation($input: CreateUploadInput!) { createUpload(input: $input) {
  __typename ... on Upload { id sha256 size mime chunkSize receivedChunks status expiresAt }
  ... on CreateUploadError { code message path } } }"""
COMPLETE = """mutation($input: CompleteUploadInput!) { completeUpload(input: $input) {
  __typename ... on Upload { id status receivedChunks }
  ... on CompleteUploadError { code message path upload { status receivedChunks } } } }"""
READ = "query($id: ID!) { upload(id: $id) { id status receivedChunks chunkSize expiresAt } }"


def photo(size: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + os.urandom(size - 4)


def reference(data: bytes, name: str = "photo.jpg") -> dict[str, Any]:
    """The value of a file field (§5)."""
    return {"blobSha256": hashlib.sha256(data).hexdigest(), "name": name, "size": len(data), "mime": "image/jpeg"}


def chunk(data: bytes, index: int, size: int = CHUNK_SIZE) -> bytes:
    return data[index * size : (index + 1) * size]


async def create_upload(device: SyncDevice, data: bytes, **overrides: Any) -> dict[str, Any]:
    variables = {
        "clientId": device.client_id,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "mime": "image/jpeg",
        "fileName": "photo.jpg",
        **overrides,
    }
    found: dict[str, Any] = (await device.gql(CREATE, {"input": variables}))["createUpload"]
    return found


async def complete_upload(device: SyncDevice, upload_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await device.gql(COMPLETE, {"input": {"uploadId": upload_id}}))["completeUpload"]
    return found


async def read_upload(device: SyncDevice, upload_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (await device.gql(READ, {"id": upload_id}))["upload"]
    return found


async def send_chunk(
    http: httpx.AsyncClient, device: SyncDevice, upload_id: str, index: int, body: bytes, via: str
) -> httpx.Response:
    url = f"/sync/uploads/{upload_id}/chunks/{index}"
    headers = device.api.headers(device.token)
    digest = hashlib.sha256(body).hexdigest()
    if via == "put":
        return await http.put(url, content=body, headers={**headers, "x-chunk-sha256": digest})
    return await http.post(
        url, files={"chunk": ("blob", body, "application/octet-stream")}, data={"sha256": digest}, headers=headers
    )


async def send_chunks(device: SyncDevice, upload_id: str, data: bytes, indexes: range, via: str = "put") -> None:
    for index in indexes:
        response = await send_chunk(device.api.http, device, upload_id, index, chunk(data, index), via)
        assert response.status_code == 201, response.text
