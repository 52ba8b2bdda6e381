"""Resumable uploads over the chunk routes (sync-protocol.md §7, §11, S24) against the live server."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.models.sync import AttachmentStatus, Draft, DraftBlobRef, Platform, SyncClient, SyncSpace, Upload
from api.worker import expire_sync_uploads
from sync.uploads import CHUNK_SIZE, attachment_statuses
from tests.support.client import Api, Session

MIB = 1024 * 1024


async def _client(session: Session, api: Api) -> str:
    # A client of the caller's space, as its first syncPush would register it.
    client_id = uuid.uuid4()
    space_id = f"P:{session.person_id}"
    now = api.live.clock.now()
    await SyncClient.create(client_id=client_id, space_id=space_id, platform=Platform.APP_IOS, last_seen_at=now)
    return str(client_id)


CREATE = """mutation($input: CreateUploadInput!) { createUpload(input: $input) {
  __typename ... on Upload { id sha256 size chunkSize receivedChunks status expiresAt }
  ... on CreateUploadError { code message path } } }"""
COMPLETE = """mutation($input: CompleteUploadInput!) { completeUpload(input: $input) {
  __typename ... on Upload { id status receivedChunks }
  ... on CompleteUploadError { code message path upload { status receivedChunks } } } }"""
READ = "query($id: ID!) { upload(id: $id) { id status receivedChunks chunkSize } }"


async def create(api: Api, session: Session, data: bytes, **overrides: Any) -> dict[str, Any]:
    variables = {
        "clientId": await _client(session, api),
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "mime": "image/jpeg",
        "fileName": "photo.jpg",
        **overrides,
    }
    result: dict[str, Any] = (await api.data(CREATE, {"input": variables}, session.access_token))["createUpload"]
    return result


async def complete(api: Api, session: Session, upload_id: object) -> dict[str, Any]:
    variables = {"input": {"uploadId": str(upload_id)}}
    result: dict[str, Any] = (await api.data(COMPLETE, variables, session.access_token))["completeUpload"]
    return result


async def read(api: Api, session: Session, upload_id: object) -> dict[str, Any] | None:
    result: dict[str, Any] | None = (await api.data(READ, {"id": str(upload_id)}, session.access_token))["upload"]
    return result


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


async def send_all(api: Api, session: Session, upload_id: object, data: bytes, indexes: range, via: str) -> None:
    send = put if via == "put" else post
    for index in indexes:
        response = await send(api, session, upload_id, index, chunk(data, index))
        assert response.status_code == 201, response.text


@pytest.mark.parametrize("via", ["put", "post"])
async def test_s24_resumable_upload(api: Api, via: str) -> None:
    session = await api.sign_in()
    data = photo(12 * MIB)
    upload = await create(api, session, data)
    assert upload["__typename"] == "Upload" and upload["chunkSize"] == CHUNK_SIZE, upload
    assert upload["status"] == "PENDING" and upload["receivedChunks"] == []
    await send_all(api, session, upload["id"], data, range(6), via)
    assert (await read(api, session, upload["id"])) == {
        "id": upload["id"],
        "status": "PENDING",
        "receivedChunks": [0, 1, 2, 3, 4, 5],
        "chunkSize": CHUNK_SIZE,
    }
    send = put if via == "put" else post
    assert (await send(api, session, upload["id"], 5, chunk(data, 5))).status_code == 200
    other = await send(api, session, upload["id"], 5, os.urandom(CHUNK_SIZE))
    assert other.status_code == 409 and other.json()["code"] == "CHUNK_CONFLICT"
    await send_all(api, session, upload["id"], data, range(6, 12), via)
    done = await complete(api, session, upload["id"])
    assert done["status"] == "COMPLETE", done
    assert (api.live.settings.var_dir / "blobs" / hashlib.sha256(data).hexdigest()).read_bytes() == data
    assert not (api.live.settings.var_dir / "uploads" / upload["id"]).exists()

    wrong = photo(2 * MIB + 5)
    declared = await create(api, session, wrong, sha256=hashlib.sha256(b"not this file").hexdigest())
    await send_all(api, session, declared["id"], wrong, range(3), via)
    mismatch = await complete(api, session, declared["id"])
    assert mismatch["code"] == "CHECKSUM_MISMATCH", mismatch
    assert mismatch["upload"] == {"status": "PENDING", "receivedChunks": []}

    again = await create(api, session, data)
    assert again["status"] == "COMPLETE" and again["id"] != upload["id"], again


async def test_complete_refuses_missing_chunks_and_wrong_type(api: Api) -> None:
    session = await api.sign_in()
    data = photo(2 * MIB)
    upload = await create(api, session, data)
    await send_all(api, session, upload["id"], data, range(1), "put")
    missing = await complete(api, session, upload["id"])
    assert missing["code"] == "CHUNKS_MISSING" and missing["upload"]["receivedChunks"] == [0], missing
    not_jpeg = b"%PDF-" + os.urandom(1000)
    declared = await create(api, session, not_jpeg)
    await send_all(api, session, declared["id"], not_jpeg, range(1), "put")
    assert (await complete(api, session, declared["id"]))["status"] == "REJECTED"


async def test_create_upload_refusals(api: Api) -> None:
    session = await api.sign_in()
    data = photo(100)
    assert (await create(api, session, data, clientId=str(uuid.uuid4())))["code"] == "NOT_FOUND"
    assert (await create(api, session, data, clientId="garbage"))["code"] == "NOT_FOUND"
    assert (await create(api, session, data, sha256="ABC"))["code"] == "CHECKSUM_MISMATCH"
    assert (await create(api, session, data, size=50 * MIB + 1))["code"] == "FILE_TOO_LARGE"
    assert (await create(api, session, data, size=0))["code"] == "FILE_TOO_LARGE"
    refused = await create(api, session, data, mime="text/html")
    assert refused == {
        "__typename": "CreateUploadError",
        "code": "MIME_NOT_ALLOWED",
        "message": refused["message"],
        "path": ["mime"],
    }
    first = await create(api, session, data)
    assert (await create(api, session, data))["id"] == first["id"]


async def test_another_persons_upload_is_invisible(api: Api) -> None:
    owner, stranger = await api.sign_in(), await api.sign_in()
    data = photo(100)
    upload = await create(api, owner, data)
    assert await read(api, stranger, upload["id"]) is None
    assert await read(api, owner, "garbage") is None
    assert (await complete(api, stranger, upload["id"]))["code"] == "NOT_FOUND"
    assert (await put(api, stranger, upload["id"], 0, data)).status_code == 404
    assert (await read(api, owner, upload["id"]))["receivedChunks"] == []  # type: ignore[index]
    # The stranger's own upload of the same bytes is not deduplicated against the owner's blob.
    await send_all(api, owner, upload["id"], data, range(1), "put")
    assert (await complete(api, owner, upload["id"]))["status"] == "COMPLETE"
    assert (await create(api, stranger, data))["status"] == "PENDING"


async def test_chunk_checks_in_order(api: Api) -> None:
    session = await api.sign_in()
    data = photo(MIB + 10)
    upload_id = (await create(api, session, data))["id"]
    first = chunk(data, 0)
    assert (await put(api, None, upload_id, 0, first)).status_code == 401
    assert (await put(api, session, uuid.uuid4(), 0, first)).status_code == 404
    assert (await put(api, session, "garbage", 0, first)).status_code == 404
    assert (await put(api, session, upload_id, 2, b"x")).status_code == 400
    assert (await put(api, session, upload_id, 0, first, digest="ABC")).status_code == 400
    assert (await put(api, session, upload_id, 0, first[:-1])).status_code == 400
    assert (await put(api, session, upload_id, 1, chunk(data, 1) + b"!")).status_code == 413
    wrong = await put(api, session, upload_id, 0, first, digest=hashlib.sha256(b"other").hexdigest())
    assert wrong.status_code == 422 and wrong.json()["code"] == "CHECKSUM_MISMATCH"
    bad_multipart = await api.http.post(
        f"/sync/uploads/{upload_id}/chunks/0", content=b"garbage", headers=api.headers(session.access_token)
    )
    assert bad_multipart.status_code == 400
    assert not (api.live.settings.var_dir / "uploads" / upload_id).exists()


async def test_uploads_past_expiry(api: Api) -> None:
    session = await api.sign_in()
    data = photo(1000)
    upload_id = (await create(api, session, data))["id"]
    # Moving the clock would expire the access token too: the upload's deadline moves instead.
    await Upload.filter(id=upload_id).update(expires_at=api.live.clock.now() - timedelta(seconds=1))
    response = await put(api, session, upload_id, 0, data)
    assert response.status_code == 410 and response.json()["code"] == "EXPIRED"
    assert (await read(api, session, upload_id))["status"] == "EXPIRED"  # type: ignore[index]
    assert (await complete(api, session, upload_id))["code"] == "EXPIRED"
    assert (await create(api, session, data))["id"] != upload_id


async def test_checksum_mismatch_discards_chunks(api: Api) -> None:
    session = await api.sign_in()
    data = photo(1000)
    upload_id = (await create(api, session, data, sha256=hashlib.sha256(b"declared").hexdigest()))["id"]
    await send_all(api, session, upload_id, data, range(1), "post")
    assert (await complete(api, session, upload_id))["code"] == "CHECKSUM_MISMATCH"
    assert (await read(api, session, upload_id)) == {
        "id": upload_id,
        "status": "PENDING",
        "receivedChunks": [],
        "chunkSize": CHUNK_SIZE,
    }
    assert (await complete(api, session, upload_id))["code"] == "CHUNKS_MISSING"


async def _draft_referencing(session: Session, sha256: str) -> Draft:
    draft = await Draft.create(
        space_id=f"P:{session.person_id}",
        service_code="S",
        form_version="1",
        version=0,
        created_version=0,
        content_hash="0" * 64,
    )
    await DraftBlobRef.create(draft_id=draft.id, path="materials/id/files/a", sha256=sha256)
    return draft


async def test_status_changes_bump_referencing_drafts(api: Api) -> None:
    session = await api.sign_in()
    data = photo(1000)
    upload_id = (await create(api, session, data))["id"]
    draft = await _draft_referencing(session, hashlib.sha256(data).hexdigest())
    await send_all(api, session, upload_id, data, range(1), "put")
    assert (await complete(api, session, upload_id))["status"] == "COMPLETE"
    space = await SyncSpace.get(space_id=draft.space_id)
    assert (await Draft.get(id=draft.id)).version == space.version >= 1

    stale = photo(500)
    stale_id = (await create(api, session, stale))["id"]
    other = await _draft_referencing(session, hashlib.sha256(stale).hexdigest())
    await Upload.filter(id=stale_id).update(expires_at=api.live.clock.now() - timedelta(seconds=1))
    assert await expire_sync_uploads({"clock": api.live.clock, "var_dir": api.live.settings.var_dir}) >= 1
    assert (await read(api, session, stale_id))["status"] == "EXPIRED"  # type: ignore[index]
    assert (await Draft.get(id=other.id)).version == space.version + 1


async def test_attachment_statuses_per_space(api: Api) -> None:
    session, stranger = await api.sign_in(), await api.sign_in()
    files = {
        "COMPLETE": photo(300),
        "REJECTED": b"%PDF-" + os.urandom(300),  # declared as JPEG below
        "PENDING": photo(301),
        "EXPIRED": photo(302),
    }
    never = photo(303)
    ids = {status: (await create(api, session, data))["id"] for status, data in files.items()}
    for status in ("COMPLETE", "REJECTED"):
        await send_all(api, session, ids[status], files[status], range(1), "put")
        await complete(api, session, ids[status])
    await Upload.filter(id=ids["EXPIRED"]).update(expires_at=api.live.clock.now() - timedelta(seconds=1))
    digest = {hashlib.sha256(data).hexdigest(): status for status, data in files.items()}
    never_digest = hashlib.sha256(never).hexdigest()
    now = api.live.clock.now()
    statuses = await attachment_statuses(f"P:{session.person_id}", {*digest, never_digest}, now)
    assert {sha: status.value for sha, status in statuses.items()} == {**digest, never_digest: "PENDING"}
    good = hashlib.sha256(files["COMPLETE"]).hexdigest()
    assert await attachment_statuses(f"P:{stranger.person_id}", {good}, now) == {good: AttachmentStatus.PENDING}
