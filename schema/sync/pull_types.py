"""Output types of syncPull (sync-protocol.md §6, §9), each built from its `sync.contract` view by `of`."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from schema.errors import Error
from schema.scalars import BigIntString
from schema.sync.enums import DraftStatus
from schema.sync.types import FieldConflict, json_value, to_id
from schema.sync.uploads import AttachmentStatus
from sync import contract


@strawberry.type
class FieldValue:
    path: str
    value: JSON | None
    hash: str
    version: BigIntString

    @classmethod
    def of(cls, view: contract.FieldValueView) -> FieldValue:
        return cls(path=view.path, value=json_value(view.value), hash=view.hash, version=BigIntString(view.version))


@strawberry.type
class AttachmentState:
    path: str
    blob_sha256: str
    status: AttachmentStatus

    @classmethod
    def of(cls, view: contract.AttachmentStateView) -> AttachmentState:
        return cls(path=view.path, blob_sha256=view.blob_sha256, status=AttachmentStatus(view.status.value))


@strawberry.type
class DraftChange:
    draft_id: strawberry.ID
    status: DraftStatus
    service_code: str
    form_version: str
    full: bool = strawberry.field(description="True: `fields` is the whole map (first sight or reset).")
    required_form_version: str | None = strawberry.field(
        description="The client must fetch this template before editing."
    )
    version: BigIntString
    content_hash: str
    fields: list[FieldValue] = strawberry.field(description="Non-null values only.")
    removed_paths: list[str] = strawberry.field(description="Became null since the cursor; empty when full.")
    open_conflicts: list[FieldConflict] = strawberry.field(description="Always the complete list.")
    attachments: list[AttachmentState] = strawberry.field(description="Always the complete list.")
    quarantined_ops: int = strawberry.field(description="Unacknowledged entries; details in Query.quarantinedOps.")
    application_id: strawberry.ID | None
    restorable_until: datetime | None

    @classmethod
    def of(cls, view: contract.DraftChangeView) -> DraftChange:
        return cls(
            draft_id=to_id(view.draft_id),
            status=DraftStatus(view.status.value),
            service_code=view.service_code,
            form_version=view.form_version,
            full=view.full,
            required_form_version=view.required_form_version,
            version=BigIntString(view.version),
            content_hash=view.content_hash,
            fields=[FieldValue.of(f) for f in view.fields],
            removed_paths=view.removed_paths,
            open_conflicts=[FieldConflict.of(c) for c in view.open_conflicts],
            attachments=[AttachmentState.of(a) for a in view.attachments],
            quarantined_ops=view.quarantined_ops,
            application_id=None if view.application_id is None else to_id(view.application_id),
            restorable_until=view.restorable_until,
        )


@strawberry.type
class ClientAck:
    client_id: strawberry.ID
    last_mutation_id: int


@strawberry.type
class SyncPullPayload:
    cursor: str = strawberry.field(description="Opaque: pass it back verbatim.")
    has_more: bool
    reset: bool = strawberry.field(description="First page of a reset: replace your server-base copy.")
    snapshot_version: BigIntString = strawberry.field(description="Pinned for all pages of this cycle.")
    drafts: list[DraftChange] = strawberry.field(description="At most `limit` (at most 200).")
    server_epoch: strawberry.ID
    clients: list[ClientAck] = strawberry.field(description="Every client of the space, read in the same snapshot.")

    @classmethod
    def of(cls, view: contract.PullPayload) -> SyncPullPayload:
        return cls(
            cursor=view.cursor,
            has_more=view.has_more,
            reset=view.reset,
            snapshot_version=BigIntString(view.snapshot_version),
            drafts=[DraftChange.of(d) for d in view.drafts],
            server_epoch=to_id(view.server_epoch),
            clients=[
                ClientAck(client_id=to_id(c.client_id), last_mutation_id=c.last_mutation_id) for c in view.clients
            ],
        )


@strawberry.type(description="The pull was refused (CLIENT_NOT_OWNED, CLIENT_UPGRADE_REQUIRED, SERVER_BUSY).")
class SyncPullRejected(Error):
    retry_after_ms: int | None

    @classmethod
    def of(cls, view: contract.PullRejected) -> SyncPullRejected:
        return cls(code=view.code, message=view.message, path=view.path, retry_after_ms=view.retry_after_ms)
