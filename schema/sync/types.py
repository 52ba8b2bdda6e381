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
from schema.sync.enums import Platform, SyncErrorCode, SyncMutationStatus
from sync import contract


def json_value(value: Any) -> JSON:
    return cast(JSON, value)


def to_id(value: object) -> strawberry.ID:
    return strawberry.ID(str(value))


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
            client_id=to_id(view.client_id),
            platform=None if view.platform is None else Platform(view.platform.value),
            value=json_value(view.value),
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
            id=to_id(view.id),
            path=view.path,
            server_value=json_value(view.server_value),
            server_hash=view.server_hash,
            candidates=[ConflictCandidate.of(c) for c in view.candidates],
            opened_version=BigIntString(view.opened_version),
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
            id=to_id(view.id),
            client_id=to_id(view.client_id),
            mutation_id=view.mutation_id,
            draft_id=to_id(view.draft_id),
            reason=SyncErrorCode(view.reason.value),
            message=view.message,
            mutation=json_value(view.mutation),
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
            draft_version=None if view.draft_version is None else BigIntString(view.draft_version),
            application_id=None if view.application_id is None else to_id(view.application_id),
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
            server_epoch=to_id(view.server_epoch),
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
            server_epoch=to_id(view.server_epoch),
            client_last_mutation_id=view.client_last_mutation_id,
        )
