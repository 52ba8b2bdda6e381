"""The enums of the sync schema (sync-protocol.md §6), value for value those of `sync.contract` and the models:
converting between them is `Enum(view.value)` and back."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="The kind of installation a sync client is (one `clientId` per install and space).")
class Platform(Enum):
    APP_IOS = "APP_IOS"
    APP_ANDROID = "APP_ANDROID"
    WECHAT_MP = "WECHAT_MP"
    ALIPAY_MP = "ALIPAY_MP"
    WEB = "WEB"


@strawberry.enum
class SyncMutationType(Enum):
    CREATE_DRAFT = "CREATE_DRAFT"
    EDIT = "EDIT"
    DELETE_DRAFT = "DELETE_DRAFT"
    RESTORE_DRAFT = "RESTORE_DRAFT"
    RESOLVE_CONFLICT = "RESOLVE_CONFLICT"
    SUBMIT = "SUBMIT"


@strawberry.enum(description="SET writes a non-null value, UNSET writes null, REMOVE_ITEM clears a repeating item.")
class FieldOpKind(Enum):
    SET = "SET"
    UNSET = "UNSET"
    REMOVE_ITEM = "REMOVE_ITEM"


@strawberry.enum
class SyncMutationStatus(Enum):
    APPLIED = "APPLIED"
    APPLIED_WITH_CONFLICTS = "APPLIED_WITH_CONFLICTS"
    NOOP = "NOOP"
    REJECTED = "REJECTED"


@strawberry.enum
class DraftStatus(Enum):
    EDITING = "EDITING"
    SUBMITTED = "SUBMITTED"
    DELETED = "DELETED"
    CORRECTION = "CORRECTION"


@strawberry.enum(description="Why one mutation was rejected or a push batch stopped (sync-protocol.md §8).")
class SyncErrorCode(Enum):
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
