"""Output types of sync (sync-protocol.md §6), each built from its `sync.contract` view by `of`.

Every field is a plain attribute (graphql.md §4: sync resolvers are cheapest); the service has already read all
of it in one snapshot.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from schema.errors import Error
from schema.scalars import BigIntString
from schema.sync.enums import DraftStatus, Platform, SyncErrorCode, SyncMutationStatus
from schema.sync.uploads import AttachmentStatus
from sync import contract


def _json(value: Any) -> JSON:
    return cast(JSON, value)


def _id(value: object) -> strawberry.ID:
    return strawberry.ID(str(value))


def _big(value: int) -> BigIntString:
    return BigIntString(value)


@strawberry.type(
    description="The outcome of one mutation, or why a batch stopped. Not an `Error`: it is no union member, "
    "and `paths` are draft field paths, not input paths."
)
class SyncError:
    code: SyncErrorCode
    message: str
    paths: list[str] | None
    retryable: bool

    @classmethod
    def of(cls, view: contract.SyncErrorView) -> SyncError:
        return cls(
            code=SyncErrorCode(view.code.value), message=view.message, paths=view.paths, retryable=view.retryable
        )


@strawberry.type
class ConflictCandidate:
    client_id: strawberry.ID
    platform: Platform | None
    value: JSON | None
    value_hash: str
    client_time: datetime | None

    @classmethod
    def of(cls, view: contract.ConflictCandidateView) -> ConflictCandidate:
        return cls(
            client_id=_id(view.client_id),
            platform=None if view.platform is None else Platform(view.platform.value),
            value=_json(view.value),
            value_hash=view.value_hash,
            client_time=view.client_time,
        )


@strawberry.type(description="An open conflict on one field: the server value and the losing candidates.")
class FieldConflict:
    id: strawberry.ID
    path: str
    server_value: JSON | None
    server_hash: str
    candidates: list[ConflictCandidate]
    opened_version: BigIntString

    @classmethod
    def of(cls, view: contract.FieldConflictView) -> FieldConflict:
        return cls(
            id=_id(view.id),
            path=view.path,
            server_value=_json(view.server_value),
            server_hash=view.server_hash,
            candidates=[ConflictCandidate.of(c) for c in view.candidates],
            opened_version=_big(view.opened_version),
        )


@strawberry.type(description="A rejected mutation kept for the user; `mutation` is the SyncMutationInput as sent.")
class QuarantinedOp:
    id: strawberry.ID
    client_id: strawberry.ID
    mutation_id: int
    draft_id: strawberry.ID
    reason: SyncErrorCode
    message: str
    mutation: JSON
    created_at: datetime

    @classmethod
    def of(cls, view: contract.QuarantinedOpView) -> QuarantinedOp:
        return cls(
            id=_id(view.id),
            client_id=_id(view.client_id),
            mutation_id=view.mutation_id,
            draft_id=_id(view.draft_id),
            reason=SyncErrorCode(view.reason.value),
            message=view.message,
            mutation=_json(view.mutation),
            created_at=view.created_at,
        )


@strawberry.type
class SyncMutationResult:
    id: int
    status: SyncMutationStatus
    draft_version: BigIntString | None
    application_id: strawberry.ID | None
    replayed: bool = strawberry.field(description="Served from the stored result (already processed).")
    conflicts: list[FieldConflict] | None = strawberry.field(description="Conflicts this mutation opened or extended.")
    reoffered_ops: list[QuarantinedOp] | None = strawberry.field(
        description="RESTORE_DRAFT: the draft's quarantine entries, to re-send as new EDITs."
    )
    error: SyncError | None = strawberry.field(description="Set iff status is REJECTED.")

    @classmethod
    def of(cls, view: contract.MutationResultView) -> SyncMutationResult:
        return cls(
            id=view.id,
            status=SyncMutationStatus(view.status.value),
            draft_version=None if view.draft_version is None else _big(view.draft_version),
            application_id=None if view.application_id is None else _id(view.application_id),
            replayed=view.replayed,
            conflicts=None if view.conflicts is None else [FieldConflict.of(c) for c in view.conflicts],
            reoffered_ops=None if view.reoffered_ops is None else [QuarantinedOp.of(q) for q in view.reoffered_ops],
            error=None if view.error is None else SyncError.of(view.error),
        )


@strawberry.type
class SyncPushPayload:
    last_mutation_id: int = strawberry.field(description="Authoritative after this request.")
    results: list[SyncMutationResult] = strawberry.field(
        description="The processed mutations only, in order: at most 100."
    )
    stopped_at: int | None = strawberry.field(description="The first mutation NOT processed.")
    stop_reason: SyncError | None = strawberry.field(description="OUT_OF_ORDER or a temporary error; retryable.")
    retry_after_ms: int | None
    server_epoch: strawberry.ID

    @classmethod
    def of(cls, view: contract.PushPayload) -> SyncPushPayload:
        return cls(
            last_mutation_id=view.last_mutation_id,
            results=[SyncMutationResult.of(r) for r in view.results],
            stopped_at=view.stopped_at,
            stop_reason=None if view.stop_reason is None else SyncError.of(view.stop_reason),
            retry_after_ms=view.retry_after_ms,
            server_epoch=_id(view.server_epoch),
        )


@strawberry.type(
    description="The whole push was refused; nothing was processed. `code`: a SyncErrorCode name or RATE_LIMITED."
)
class SyncPushRejected(Error):
    retryable: bool
    retry_after_ms: int | None
    server_epoch: strawberry.ID
    client_last_mutation_id: int | None = strawberry.field(
        description="Only when the client exists and belongs to the caller."
    )

    @classmethod
    def of(cls, view: contract.PushRejected) -> SyncPushRejected:
        return cls(
            code=view.code,
            message=view.message,
            path=view.path,
            retryable=view.retryable,
            retry_after_ms=view.retry_after_ms,
            server_epoch=_id(view.server_epoch),
            client_last_mutation_id=view.client_last_mutation_id,
        )


@strawberry.type
class FieldValue:
    path: str
    value: JSON | None
    hash: str
    version: BigIntString

    @classmethod
    def of(cls, view: contract.FieldValueView) -> FieldValue:
        return cls(path=view.path, value=_json(view.value), hash=view.hash, version=_big(view.version))


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
            draft_id=_id(view.draft_id),
            status=DraftStatus(view.status.value),
            service_code=view.service_code,
            form_version=view.form_version,
            full=view.full,
            required_form_version=view.required_form_version,
            version=_big(view.version),
            content_hash=view.content_hash,
            fields=[FieldValue.of(f) for f in view.fields],
            removed_paths=view.removed_paths,
            open_conflicts=[FieldConflict.of(c) for c in view.open_conflicts],
            attachments=[AttachmentState.of(a) for a in view.attachments],
            quarantined_ops=view.quarantined_ops,
            application_id=None if view.application_id is None else _id(view.application_id),
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
            snapshot_version=_big(view.snapshot_version),
            drafts=[DraftChange.of(d) for d in view.drafts],
            server_epoch=_id(view.server_epoch),
            clients=[ClientAck(client_id=_id(c.client_id), last_mutation_id=c.last_mutation_id) for c in view.clients],
        )


@strawberry.type(description="The pull was refused (CLIENT_NOT_OWNED, CLIENT_UPGRADE_REQUIRED, SERVER_BUSY).")
class SyncPullRejected(Error):
    retry_after_ms: int | None

    @classmethod
    def of(cls, view: contract.PullRejected) -> SyncPullRejected:
        return cls(code=view.code, message=view.message, path=view.path, retry_after_ms=view.retry_after_ms)


@strawberry.type
class QuarantinedOpsAcknowledged:
    removed: int
    draft_version: BigIntString | None


@strawberry.type(description="Codes: NOT_FOUND (unknown or foreign draft), INVALID_INPUT.")
class AcknowledgeQuarantinedOpsError(Error):
    pass


@strawberry.type(description="One applied field change; none for NOOPs, candidates or status changes.")
class DraftHistoryEntry:
    path: str
    value: JSON | None
    value_hash: str
    version: BigIntString
    client_id: strawberry.ID
    mutation_id: int
    at: datetime

    @classmethod
    def of(cls, view: contract.DraftHistoryEntryView) -> DraftHistoryEntry:
        return cls(
            path=view.path,
            value=_json(view.value),
            value_hash=view.value_hash,
            version=_big(view.version),
            client_id=_id(view.client_id),
            mutation_id=view.mutation_id,
            at=view.at,
        )
