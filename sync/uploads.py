"""Resumable uploads (sync-protocol.md §7, §11): createUpload, chunk writes, completeUpload, upload reads.

Bytes live under the settings' var dir: chunks in `uploads/<upload id>/<index>`, verified files in
`blobs/<sha256>` (content-addressed, so one file serves every space; the Blob row per (space, sha256) is what
grants access). File work runs in a thread so a 1 MiB write or a 50 MiB hash never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from api.identity.tokens import AccessClaims
from api.kit.clock import Clock
from api.models.sync import AttachmentStatus, Blob, BlobStatus, Draft, DraftBlobRef, SyncClient, SyncSpace, Upload
from sync import spaces

CHUNK_SIZE = 1024 * 1024
MAX_FILE_SIZE = 50 * 1024 * 1024
EXPIRY = timedelta(days=7)
ALLOWED_MIME = frozenset({"image/jpeg", "image/png", "application/pdf", "application/ofd"})
# OFD is a zip container; the others have their own magic numbers.
MAGIC = {
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "application/pdf": b"%PDF-",
    "application/ofd": b"PK\x03\x04",
}
SHA256_RE = re.compile(r"[0-9a-f]{64}")
# Uploads of one process serialize per id on these; PostgreSQL row locks cover other processes.
_LOCKS = [asyncio.Lock() for _ in range(64)]


class UploadError(Exception):
    def __init__(self, code: str, message: str, path: list[str] | None = None, upload: UploadView | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = path
        self.upload = upload


class ChunkRefused(Exception):
    """A chunk route answer other than 200/201: the HTTP status and the body's code."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class UploadView:
    id: uuid.UUID
    sha256: str
    size: int
    mime: str
    chunk_size: int
    received_chunks: list[int]
    status: AttachmentStatus
    expires_at: datetime


@dataclass(frozen=True)
class ChunkTarget:
    """What a chunk route needs before it reads the body: the expected length."""

    upload_id: uuid.UUID
    index: int
    expected_length: int


@dataclass
class Storage:
    root: Path
    clock: Clock

    def chunk_path(self, upload_id: uuid.UUID, index: int) -> Path:
        return self.root / "uploads" / str(upload_id) / str(index)

    def blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256


def space_of(claims: AccessClaims) -> str:
    """Kept for callers of `uploads.space_of`; the space derivation lives in sync.spaces."""
    return spaces.space_of(claims)


def _lock(upload_id: uuid.UUID) -> asyncio.Lock:
    return _LOCKS[upload_id.int % len(_LOCKS)]


def _chunk_count(size: int, chunk_size: int) -> int:
    return -(-size // chunk_size)


def _status(upload: Upload, now: datetime) -> AttachmentStatus:
    if upload.status is AttachmentStatus.PENDING and upload.expires_at <= now:
        return AttachmentStatus.EXPIRED
    return upload.status


def _view(upload: Upload, now: datetime) -> UploadView:
    status = _status(upload, now)
    if status in (AttachmentStatus.COMPLETE, AttachmentStatus.REJECTED):
        received = list(range(_chunk_count(upload.size, upload.chunk_size)))
    else:
        received = sorted(int(index) for index in upload.chunk_digests)
    return UploadView(
        upload.id, upload.sha256, upload.size, upload.mime, upload.chunk_size, received, status, upload.expires_at
    )


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


async def _own_upload(space_id: str, raw_id: str) -> Upload | None:
    upload_id = _uuid(raw_id)
    if upload_id is None:
        return None
    return await Upload.get_or_none(id=upload_id, space_id=space_id)


async def create_upload(
    storage: Storage, claims: AccessClaims, *, client_id: str, sha256: str, size: int, mime: str, file_name: str
) -> UploadView:
    space_id = space_of(claims)
    now = storage.clock.now()
    client_uuid = _uuid(client_id)
    if client_uuid is None or not await SyncClient.exists(client_id=client_uuid, space_id=space_id):
        raise UploadError("NOT_FOUND", "no such client in your space", ["clientId"])
    if not SHA256_RE.fullmatch(sha256):
        # A malformed hash can never match the file: the code a client already handles for a wrong hash.
        raise UploadError("CHECKSUM_MISMATCH", "sha256 must be 64 lowercase hex characters", ["sha256"])
    if not 1 <= size <= MAX_FILE_SIZE:
        raise UploadError("FILE_TOO_LARGE", f"size must be 1..{MAX_FILE_SIZE} bytes", ["size"])
    if mime not in ALLOWED_MIME:
        raise UploadError("MIME_NOT_ALLOWED", "only JPEG, PNG, PDF or OFD files", ["mime"])
    name = file_name.strip()[:255] or "file"
    blob = await Blob.get_or_none(space_id=space_id, sha256=sha256, status=BlobStatus.COMPLETE)
    if blob is not None:
        done = await Upload.create(
            space_id=space_id,
            sha256=sha256,
            size=blob.size,
            mime=blob.mime,
            file_name=name,
            chunk_size=CHUNK_SIZE,
            status=AttachmentStatus.COMPLETE,
            expires_at=now + EXPIRY,
        )
        return _view(done, now)
    pending = (
        await Upload.filter(space_id=space_id, sha256=sha256, status=AttachmentStatus.PENDING, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )
    if pending is not None:
        return _view(pending, now)
    created = await Upload.create(
        space_id=space_id,
        sha256=sha256,
        size=size,
        mime=mime,
        file_name=name,
        chunk_size=CHUNK_SIZE,
        expires_at=now + EXPIRY,
    )
    return _view(created, now)


async def read_upload(storage: Storage, claims: AccessClaims, upload_id: str) -> UploadView | None:
    upload = await _own_upload(space_of(claims), upload_id)
    return None if upload is None else _view(upload, storage.clock.now())


async def chunk_target(storage: Storage, claims: AccessClaims, upload_id: str, raw_index: str) -> ChunkTarget:
    """The checks of §7 that come before the body: 404, 410, 400 for the index."""
    upload = await _own_upload(space_of(claims), upload_id)
    if upload is None:
        raise ChunkRefused(404, "NOT_FOUND", "no such upload")
    if _status(upload, storage.clock.now()) is AttachmentStatus.EXPIRED:
        raise ChunkRefused(410, "EXPIRED", "this upload has expired; create a new one")
    count = _chunk_count(upload.size, upload.chunk_size)
    index = int(raw_index) if raw_index.isascii() and raw_index.isdigit() and len(raw_index) < 10 else -1
    if not 0 <= index < count:
        raise ChunkRefused(400, "INDEX_OUT_OF_RANGE", f"chunk index must be 0..{count - 1}")
    expected = min(upload.chunk_size, upload.size - index * upload.chunk_size)
    return ChunkTarget(upload.id, index, expected)


def check_chunk(target: ChunkTarget, digest: str | None, body: bytes) -> None:
    """The body checks of §7 in their order: checksum well-formed, length, then the hash."""
    if digest is None or not SHA256_RE.fullmatch(digest):
        raise ChunkRefused(400, "CHECKSUM_MISSING", "send the chunk's SHA-256 as 64 lowercase hex characters")
    if len(body) < target.expected_length:
        raise ChunkRefused(400, "CHUNK_TOO_SHORT", f"chunk {target.index} must be {target.expected_length} bytes")
    if len(body) > target.expected_length:
        raise ChunkRefused(413, "CHUNK_TOO_LARGE", f"chunk {target.index} must be {target.expected_length} bytes")
    if hashlib.sha256(body).hexdigest() != digest:
        raise ChunkRefused(422, "CHECKSUM_MISMATCH", "the chunk does not match its SHA-256")


def _write(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(body)
    partial.replace(path)  # a crash mid-write never leaves a short chunk under its final name


async def store_chunk(storage: Storage, target: ChunkTarget, digest: str, body: bytes) -> tuple[int, UploadView]:
    """201 when stored, 200 when these bytes were already there; 409 when other bytes were."""
    async with _lock(target.upload_id), in_transaction():
        upload = await Upload.select_for_update().get(id=target.upload_id)
        now = storage.clock.now()
        stored = upload.chunk_digests.get(str(target.index))
        if stored == digest:
            return 200, _view(upload, now)
        if stored is not None or upload.status is not AttachmentStatus.PENDING:
            raise ChunkRefused(409, "CHUNK_CONFLICT", "other bytes are already stored at this index")
        await asyncio.to_thread(_write, storage.chunk_path(upload.id, target.index), body)
        upload.chunk_digests = {**upload.chunk_digests, str(target.index): digest}
        await upload.save(update_fields=["chunk_digests", "updated_at"])
        return 201, _view(upload, now)


def _assemble(chunks: list[Path], target: Path) -> str:
    """Concatenates the chunks into `target` and returns the whole file's SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for chunk in chunks:
            data = chunk.read_bytes()
            digest.update(data)
            out.write(data)
    return digest.hexdigest()


async def attachment_statuses(space_id: str, hashes: set[str], now: datetime) -> dict[str, AttachmentStatus]:
    """§11.4 for file fields (pull `attachments`, SUBMIT's ATTACHMENT_INCOMPLETE): the blob's COMPLETE or REJECTED
    if the space has one; else PENDING while an upload is unexpired or none was made; else EXPIRED."""
    if not hashes:
        return {}
    found: dict[str, AttachmentStatus] = {}
    for sha256, status in await Blob.filter(space_id=space_id, sha256__in=list(hashes)).values_list("sha256", "status"):
        found[sha256] = AttachmentStatus(BlobStatus(status).value)
    rest = hashes - found.keys()
    if rest:
        uploads = await Upload.filter(space_id=space_id, sha256__in=list(rest)).values_list(
            "sha256", "status", "expires_at"
        )
        made = {sha256 for sha256, _, _ in uploads}
        # GC may have expired an upload at a moment the caller's clock has not reached: the row's status counts too.
        alive = {
            sha256 for sha256, status, expires_at in uploads if status != AttachmentStatus.EXPIRED and expires_at > now
        }
        for sha256 in rest:
            expired = sha256 in made and sha256 not in alive
            found[sha256] = AttachmentStatus.EXPIRED if expired else AttachmentStatus.PENDING
    return found


async def bump_referencing_drafts(space_id: str, sha256: str) -> int | None:
    """§11.4: an attachment status change is a change a pull returns, so every draft of the space referencing the
    hash takes the next space version. The UPDATE of the space row is what serializes it with pushes (it takes the
    row lock on PostgreSQL and the write lock on SQLite before the version is read). Call inside a transaction."""
    draft_ids = await DraftBlobRef.filter(sha256=sha256).values_list("draft_id", flat=True)
    if not draft_ids:
        return None
    drafts = Draft.filter(id__in=list(draft_ids), space_id=space_id)
    if not await drafts.exists():
        return None
    await SyncSpace.get_or_create(space_id=space_id, defaults={"epoch": uuid.uuid4()})
    await SyncSpace.filter(space_id=space_id).update(version=F("version") + 1)
    version: int = (await SyncSpace.get(space_id=space_id)).version
    await drafts.update(version=version)
    return version


async def expire_uploads(storage: Storage) -> int:
    """The GC of §11.4: PENDING uploads past their deadline become EXPIRED and their chunks go."""
    expired = 0
    now = storage.clock.now()
    due: list[uuid.UUID] = await Upload.filter(status=AttachmentStatus.PENDING, expires_at__lte=now).values_list(
        "id", flat=True
    )  # type: ignore[assignment]
    for upload_id in due:
        async with _lock(upload_id), in_transaction():
            upload = await Upload.select_for_update().get(id=upload_id)
            if upload.status is not AttachmentStatus.PENDING:
                continue
            upload.status = AttachmentStatus.EXPIRED
            upload.chunk_digests = {}
            await upload.save(update_fields=["status", "chunk_digests", "updated_at"])
            # Another upload of the same file may still finish: only then does the attachment state change.
            if not await Upload.filter(
                space_id=upload.space_id, sha256=upload.sha256, status=AttachmentStatus.PENDING, expires_at__gt=now
            ).exists():
                await bump_referencing_drafts(upload.space_id, upload.sha256)
        await asyncio.to_thread(shutil.rmtree, storage.chunk_path(upload_id, 0).parent, True)
        expired += 1
    return expired


def _publish(assembled: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    assembled.replace(target)


def _sniffed(path: Path, mime: str) -> bool:
    with path.open("rb") as file:
        head = file.read(16)
    return head.startswith(MAGIC[mime])


async def complete_upload(storage: Storage, claims: AccessClaims, upload_id: str) -> UploadView:
    outcome = await _complete(storage, space_of(claims), upload_id)
    if isinstance(outcome, UploadError):
        raise outcome
    return outcome


async def _complete(storage: Storage, space_id: str, upload_id: str) -> UploadView | UploadError:
    found = await _own_upload(space_id, upload_id)
    if found is None:
        raise UploadError("NOT_FOUND", "no such upload", ["uploadId"])
    async with _lock(found.id), in_transaction():
        upload = await Upload.select_for_update().get(id=found.id)
        now = storage.clock.now()
        status = _status(upload, now)
        if status in (AttachmentStatus.COMPLETE, AttachmentStatus.REJECTED):
            return _view(upload, now)
        if status is AttachmentStatus.EXPIRED:
            raise UploadError("EXPIRED", "this upload has expired; create a new one", ["uploadId"])
        count = _chunk_count(upload.size, upload.chunk_size)
        if len(upload.chunk_digests) < count:
            raise UploadError("CHUNKS_MISSING", "some chunks are missing", ["uploadId"], _view(upload, now))
        chunk_dir = storage.chunk_path(upload.id, 0).parent
        assembled = chunk_dir / "assembled"
        chunks = [storage.chunk_path(upload.id, index) for index in range(count)]
        try:
            whole = await asyncio.to_thread(_assemble, chunks, assembled)
        except FileNotFoundError:
            whole = None  # chunks lost on disk: the client sends them again
        if whole != upload.sha256:
            await asyncio.to_thread(shutil.rmtree, chunk_dir, True)
            upload.chunk_digests = {}
            await upload.save(update_fields=["chunk_digests", "updated_at"])
            # Returned, not raised: raising here would roll back the discarded chunks.
            code = "CHUNKS_MISSING" if whole is None else "CHECKSUM_MISMATCH"
            return UploadError(code, "the file does not match its SHA-256", ["uploadId"], _view(upload, now))
        # No malware scanner is wired yet: the sniffed type is the only content check.
        ok = await asyncio.to_thread(_sniffed, assembled, upload.mime)
        blob_status = BlobStatus.COMPLETE if ok else BlobStatus.REJECTED
        await asyncio.to_thread(_publish, assembled, storage.blob_path(upload.sha256))
        await asyncio.to_thread(shutil.rmtree, chunk_dir, True)
        blob, _ = await Blob.get_or_create(
            space_id=space_id,
            sha256=upload.sha256,
            defaults={
                "storage_key": f"blobs/{upload.sha256}",
                "size": upload.size,
                "mime": upload.mime,
                "status": blob_status,
            },
        )
        upload.status = AttachmentStatus(blob.status.value)
        await upload.save(update_fields=["status", "updated_at"])
        await bump_referencing_drafts(space_id, upload.sha256)
        return _view(upload, now)
