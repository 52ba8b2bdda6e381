"""Uploads on the GraphQL edge (sync-protocol.md §6, §11): createUpload, completeUpload and the upload query.
Adapters only: one sync.uploads call per field; the bytes travel over the chunk routes, never here."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated

import strawberry

from api.identity.principal import require_citizen
from schema.access import CitizenOnly
from schema.context import Info
from schema.errors import Error
from sync import uploads
from sync.uploads import Storage, UploadError, UploadView


@strawberry.enum(description="A file field's attachment state (sync-protocol.md §11.4).")
class AttachmentStatus(Enum):
    PENDING = "PENDING"
    COMPLETE = "COMPLETE"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"


@strawberry.type(description="A resumable upload: `PUT` each missing chunk, then `completeUpload`.")
class Upload:
    id: strawberry.ID
    sha256: str
    size: int
    mime: str
    chunk_size: int
    received_chunks: list[int]
    status: AttachmentStatus
    expires_at: datetime

    @classmethod
    def of(cls, view: UploadView) -> Upload:
        return cls(
            id=strawberry.ID(str(view.id)),
            sha256=view.sha256,
            size=view.size,
            mime=view.mime,
            chunk_size=view.chunk_size,
            received_chunks=view.received_chunks,
            status=AttachmentStatus(view.status.value),
            expires_at=view.expires_at,
        )


@strawberry.type(description="Codes: NOT_FOUND, CHECKSUM_MISMATCH, FILE_TOO_LARGE, MIME_NOT_ALLOWED.")
class CreateUploadError(Error):
    pass


@strawberry.type(description="Codes: NOT_FOUND, EXPIRED, CHUNKS_MISSING, CHECKSUM_MISMATCH.")
class CompleteUploadError(Error):
    upload: Upload | None = None


@strawberry.input
class CreateUploadInput:
    client_id: strawberry.ID
    sha256: str
    size: int
    mime: str
    file_name: str


@strawberry.input
class CompleteUploadInput:
    upload_id: strawberry.ID


CreateUploadResult = Annotated[Upload | CreateUploadError, strawberry.union("CreateUploadResult")]
CompleteUploadResult = Annotated[Upload | CompleteUploadError, strawberry.union("CompleteUploadResult")]


def _storage(info: Info) -> Storage:
    # Only complete_upload touches files; a context built without a var dir gets one that fails loudly there.
    root = info.context.upload_root or Path("/nonexistent")
    return Storage(root, info.context.identity.clock)


@strawberry.type
class SyncUploadQuery:
    @strawberry.field(
        permission_classes=[CitizenOnly], description="Null when unknown or in another space; resume from it."
    )
    async def upload(self, info: Info, id: strawberry.ID) -> Upload | None:
        view = await uploads.read_upload(_storage(info), require_citizen(info.context.principal), str(id))
        return None if view is None else Upload.of(view)


@strawberry.type
class SyncUploadMutation:
    @strawberry.mutation(
        permission_classes=[CitizenOnly],
        description="Declares a file by size and SHA-256; COMPLETE at once if your space already holds it.",
    )
    async def create_upload(self, info: Info, input: CreateUploadInput) -> CreateUploadResult:
        try:
            view = await uploads.create_upload(
                _storage(info),
                require_citizen(info.context.principal),
                client_id=str(input.client_id),
                sha256=input.sha256,
                size=input.size,
                mime=input.mime,
                file_name=input.file_name,
            )
        except UploadError as exc:
            return CreateUploadError(code=exc.code, message=exc.message, path=exc.path)
        return Upload.of(view)

    @strawberry.mutation(
        permission_classes=[CitizenOnly], description="Verifies the whole file's SHA-256 and its type."
    )
    async def complete_upload(self, info: Info, input: CompleteUploadInput) -> CompleteUploadResult:
        try:
            view = await uploads.complete_upload(
                _storage(info), require_citizen(info.context.principal), str(input.upload_id)
            )
        except UploadError as exc:
            found = None if exc.upload is None else Upload.of(exc.upload)
            return CompleteUploadError(code=exc.code, message=exc.message, path=exc.path, upload=found)
        return Upload.of(view)
