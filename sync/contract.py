"""The sync service's inputs and answers (sync-protocol.md §6), free of GraphQL: the schema layer converts its
inputs into these and these into its types, so the service, the model test and a bench speak the same shapes.

Input fields are kept raw (strings as sent, `value_given` for SET without a value) because telling a malformed
batch from a valid one is the service's job (§8.1), with typed answers rather than GraphQL errors.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from api.models.sync import AttachmentStatus, DraftStatus, Platform, SyncMutationStatus

T = TypeVar("T")


class SyncErrorCode(StrEnum):
    OUT_OF_ORDER = "OUT_OF_ORDER"
    CLIENT_STATE_NOT_FOUND = "CLIENT_STATE_NOT_FOUND"
    CLIENT_NOT_OWNED = "CLIENT_NOT_OWNED"
    NOT_OWNER = "NOT_OWNER"
    DRAFT_DELETED = "DRAFT_DELETED"
    DRAFT_SUBMITTED = "DRAFT_SUBMITTED"
    DELETE_CONFLICT = "DELETE_CONFLICT"
    ALREADY_SUBMITTED = "ALREADY_SUBMITTED"
    CONTENT_CHANGED = "CONTENT_CHANGED"
    UNRESOLVED_CONFLICTS = "UNRESOLVED_CONFLICTS"
    VALIDATION_FAILED = "VALIDATION_FAILED"
    ATTACHMENT_INCOMPLETE = "ATTACHMENT_INCOMPLETE"
    UNKNOWN_PATH = "UNKNOWN_PATH"
    VALUE_TOO_LARGE = "VALUE_TOO_LARGE"
    FORM_VERSION_UNKNOWN = "FORM_VERSION_UNKNOWN"
    CLIENT_UPGRADE_REQUIRED = "CLIENT_UPGRADE_REQUIRED"
    SERVICE_CLOSED = "SERVICE_CLOSED"
    ASSURANCE_TOO_LOW = "ASSURANCE_TOO_LOW"
    AGENT_OUT_OF_SCOPE = "AGENT_OUT_OF_SCOPE"
    SERVER_BUSY = "SERVER_BUSY"
    INVALID_BATCH = "INVALID_BATCH"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class SyncMutationType(StrEnum):
    CREATE_DRAFT = "CREATE_DRAFT"
    EDIT = "EDIT"
    DELETE_DRAFT = "DELETE_DRAFT"
    RESTORE_DRAFT = "RESTORE_DRAFT"
    RESOLVE_CONFLICT = "RESOLVE_CONFLICT"
    SUBMIT = "SUBMIT"


# ---- push input -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldOpIn:
    path: str
    kind: str  # a FieldOpKind name (GraphQL has already refused unknown ones)
    base_hash: str
    value: Any = None
    value_given: bool = False  # SET needs a non-null value; UNSET and REMOVE_ITEM none
    base_version: str | None = None  # diagnostic only (§8.4)


@dataclass(frozen=True)
class MutationIn:
    id: int
    draft_id: str
    type: SyncMutationType
    form_version: str
    client_time: datetime | None = None
    service_code: str | None = None
    ops: list[FieldOpIn] | None = None
    base_draft_version: str | None = None
    conflict_id: str | None = None
    expected_content_hash: str | None = None
    # The SyncMutationInput as the client sent it (camelCase JSON): what quarantine keeps and shows back.
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PushRequest:
    client_id: str
    platform: Platform
    protocol_version: int
    mutations: list[MutationIn]
    ack_results_through: int | None = None


# ---- push answers -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncErrorView:
    code: SyncErrorCode
    message: str
    retryable: bool = False
    paths: list[str] | None = None  # draft field paths


@dataclass(frozen=True)
class ConflictCandidateView:
    client_id: uuid.UUID
    platform: Platform | None
    value: Any
    value_hash: str
    client_time: datetime | None


@dataclass(frozen=True)
class FieldConflictView:
    id: uuid.UUID
    path: str
    server_value: Any
    server_hash: str
    candidates: list[ConflictCandidateView]
    opened_version: int


@dataclass(frozen=True)
class QuarantinedOpView:
    id: uuid.UUID
    client_id: uuid.UUID
    mutation_id: int
    draft_id: uuid.UUID
    reason: SyncErrorCode
    message: str
    mutation: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class MutationResultView:
    id: int
    status: SyncMutationStatus
    replayed: bool = False
    draft_version: int | None = None
    application_id: uuid.UUID | None = None
    conflicts: list[FieldConflictView] | None = None
    reoffered_ops: list[QuarantinedOpView] | None = None
    error: SyncErrorView | None = None  # set iff status is REJECTED


@dataclass(frozen=True)
class PushPayload:
    last_mutation_id: int
    results: list[MutationResultView]
    server_epoch: uuid.UUID
    stopped_at: int | None = None
    stop_reason: SyncErrorView | None = None
    retry_after_ms: int | None = None


@dataclass(frozen=True)
class PushRejected:
    """The whole request was refused; nothing was processed. `code` is a SyncErrorCode name or RATE_LIMITED."""

    code: str
    message: str
    server_epoch: uuid.UUID
    path: list[str] | None = None
    retryable: bool = False
    retry_after_ms: int | None = None
    client_last_mutation_id: int | None = None  # only when the client exists and belongs to the caller (§6)


# ---- pull -------------------------------------------------------------------------------------------------

DEFAULT_PULL_LIMIT = 50
MAX_PULL_LIMIT = 200
DEFAULT_PULL_BYTES = 512 * 1024
MIN_PULL_BYTES = 64 * 1024
MAX_PULL_BYTES = 1024 * 1024


@dataclass(frozen=True)
class PullRequest:
    client_id: str
    protocol_version: int
    cursor: str | None = None
    limit: int = DEFAULT_PULL_LIMIT  # clamped to 1..200 by the service
    max_bytes: int = DEFAULT_PULL_BYTES  # clamped to 64 KiB..1 MiB by the service


@dataclass(frozen=True)
class FieldValueView:
    path: str
    value: Any
    hash: str
    version: int


@dataclass(frozen=True)
class AttachmentStateView:
    path: str
    blob_sha256: str
    status: AttachmentStatus


@dataclass(frozen=True)
class DraftChangeView:
    draft_id: uuid.UUID
    status: DraftStatus
    service_code: str
    form_version: str
    full: bool
    version: int
    content_hash: str
    fields: list[FieldValueView]
    removed_paths: list[str]
    open_conflicts: list[FieldConflictView]
    attachments: list[AttachmentStateView]
    quarantined_ops: int
    required_form_version: str | None = None
    application_id: uuid.UUID | None = None
    restorable_until: datetime | None = None


@dataclass(frozen=True)
class ClientAckView:
    client_id: uuid.UUID
    last_mutation_id: int


@dataclass(frozen=True)
class PullPayload:
    cursor: str
    has_more: bool
    reset: bool
    snapshot_version: int
    drafts: list[DraftChangeView]
    server_epoch: uuid.UUID
    clients: list[ClientAckView]


@dataclass(frozen=True)
class PullRejected:
    code: str
    message: str
    path: list[str] | None = None
    retry_after_ms: int | None = None


# ---- reads and acknowledgements ---------------------------------------------------------------------------

MAX_PAGE = 100
DEFAULT_PAGE = 20
MAX_ACK_IDS = 100


@dataclass(frozen=True)
class DraftHistoryEntryView:
    path: str
    value: Any
    value_hash: str
    version: int
    client_id: uuid.UUID
    mutation_id: int
    at: datetime


@dataclass(frozen=True)
class Slice(Generic[T]):
    """One page of a Relay connection: the items, each one's opaque cursor, and whether more follow."""

    items: list[T]
    cursors: list[str]
    has_next_page: bool


@dataclass(frozen=True)
class QuarantineAcknowledged:
    removed: int
    draft_version: int | None


@dataclass(frozen=True)
class AcknowledgeRejected:
    code: str  # NOT_FOUND or INVALID_INPUT
    message: str
    path: list[str] | None = None
