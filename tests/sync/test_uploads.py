"""Resumable uploads over the chunk routes (sync-protocol.md §7, §11, S24) against the live server."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import timedelta

import httpx
import pytest

from api.identity.tokens import AccessClaims
from api.models.sync import Platform, SyncClient, Upload
from sync.uploads import CHUNK_SIZE, Storage, UploadView, create_upload
from tests.support.client import Api, Session

MIB = 1024 * 1024


async def _client(session: Session, api: Api) -> str:
    client_id = uuid.uuid4()
    space_id = f"P:{session.person_id}"
    now = api.live.clock.now()
    await SyncClient.create(client_id=client_id, space_id=space_id, platform=Platform.APP_IOS, last_seen_at=now)
    return str(client_id)


def _claims(session: Session, api: Api) -> AccessClaims:
    now = api.live.clock.now()
    return AccessClaims(uuid.UUID(session.person_id), "citizen", uuid.uuid4(), 1, now + timedelta(hours=1))


async def _create(api: Api, session: Session, data: bytes, *, sha256: str | None = None) -> UploadView:
    storage = Storage(api.live.settings.var_dir, api.live.clock)
    return await create_upload(
        storage,
        _claims(session, api),
        client_id=await _client(session, api),
        sha256=sha256 or hashlib.sha256(data).hexdigest(),
        size=len(data),
        mime="image/jpeg",
        file_name="photo.jpg",
    )


def photo(size: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + os.urandom(size - 4)


async def put(
    api: Api, session: Session | None, upload_id: object, index: int, body: bytes, digest: str | None = None
) -> httpx.Response:
    headers = api.headers(session.access_token if session else None)
    headers["x-chunk-sha256"] = digest or hashlib.sha256(body).hexdigest()
    return await api.http.put(f"/sync/uploads/{upload_id}/chunks/{index}", content=body, headers=headers)


async def post(api: Api, session: Session, upload_id: object, index: int, body: bytes) -> httpx.Response:
    return await api.http.post(
        f"/sync/uploads/{upload_id}/chunks/{index}",
        files={"chunk": ("blob", body, "application/octet-stream")},
        data={"sha256": hashlib.sha256(body).hexdigest()},
        headers=api.headers(session.access_token),
    )


def chunk(data: bytes, index: int) -> bytes:
    return data[index * CHUNK_SIZE : (index + 1) * CHUNK_SIZE]


@pytest.mark.parametrize("via", ["put", "post"])
async def test_s24_chunks_resume_and_conflict(api: Api, via: str) -> None:
    session = await api.sign_in()
    data = photo(3 * MIB + 17)
    upload = await _create(api, session, data)
    assert upload.chunk_size == CHUNK_SIZE and upload.received_chunks == []
    send = put if via == "put" else post
    for index in (0, 1):
        response = await send(api, session, upload.id, index, chunk(data, index))
        assert response.status_code == 201, response.text
    assert response.json()["receivedChunks"] == [0, 1]
    again = await send(api, session, upload.id, 1, chunk(data, 1))
    assert again.status_code == 200 and again.json()["status"] == "PENDING"
    other = await send(api, session, upload.id, 1, os.urandom(CHUNK_SIZE))
    assert other.status_code == 409, other.text
    assert other.json()["code"] == "CHUNK_CONFLICT"
    last = await send(api, session, upload.id, 3, chunk(data, 3))
    assert last.status_code == 201 and last.json()["receivedChunks"] == [0, 1, 3]


async def test_chunk_checks_in_order(api: Api) -> None:
    session = await api.sign_in()
    data = photo(MIB + 10)
    upload = await _create(api, session, data)
    first = chunk(data, 0)
    assert (await put(api, None, upload.id, 0, first)).status_code == 401
    stranger = await api.sign_in()
    assert (await put(api, stranger, upload.id, 0, first)).status_code == 404
    assert (await put(api, session, uuid.uuid4(), 0, first)).status_code == 404
    assert (await put(api, session, "garbage", 0, first)).status_code == 404
    assert (await put(api, session, upload.id, 2, b"x")).status_code == 400
    assert (await put(api, session, upload.id, 0, first, digest="ABC")).status_code == 400
    assert (await put(api, session, upload.id, 0, first[:-1])).status_code == 400
    assert (await put(api, session, upload.id, 1, chunk(data, 1) + b"!")).status_code == 413
    wrong = await put(api, session, upload.id, 0, first, digest=hashlib.sha256(b"other").hexdigest())
    assert wrong.status_code == 422 and wrong.json()["code"] == "CHECKSUM_MISMATCH"
    bad_multipart = await api.http.post(
        f"/sync/uploads/{upload.id}/chunks/0", content=b"garbage", headers=api.headers(session.access_token)
    )
    assert bad_multipart.status_code == 400
    assert not (api.live.settings.var_dir / "uploads" / str(upload.id)).exists()


async def test_chunk_past_expiry_is_gone(api: Api) -> None:
    session = await api.sign_in()
    data = photo(1000)
    upload = await _create(api, session, data)
    # Moving the clock would expire the access token too: the upload's deadline moves instead.
    await Upload.filter(id=upload.id).update(expires_at=api.live.clock.now() - timedelta(seconds=1))
    response = await put(api, session, upload.id, 0, data)
    assert response.status_code == 410 and response.json()["code"] == "EXPIRED"
