"""Draft sync (sync-protocol.md §4): spaces, clients, stored mutation results, drafts, their fields, history,
conflicts, quarantine, uploads and blobs. Table names are the specification's.

Where the specification names a composite key, the table has a surrogate id and a unique index on that key,
because Tortoise has no composite primary keys. References are plain columns, as in the other aggregates.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from api.models.base import Entity

SPACE_ID_LENGTH = 40  # "P:" or "E:" and a UUID
HASH_LENGTH = 64  # lowercase hex SHA-256
PATH_LENGTH = 256


class Platform(StrEnum):
    APP_IOS = "APP_IOS"
    APP_ANDROID = "APP_ANDROID"
    WECHAT_MP = "WECHAT_MP"
    ALIPAY_MP = "ALIPAY_MP"
    WEB = "WEB"


class SyncMutationStatus(StrEnum):
    APPLIED = "APPLIED"
    APPLIED_WITH_CONFLICTS = "APPLIED_WITH_CONFLICTS"
    NOOP = "NOOP"
    REJECTED = "REJECTED"


class DraftStatus(StrEnum):
    EDITING = "EDITING"
    SUBMITTED = "SUBMITTED"
    DELETED = "DELETED"
    CORRECTION = "CORRECTION"


class ConflictStatus(StrEnum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"


class AttachmentStatus(StrEnum):
    PENDING = "PENDING"
    COMPLETE = "COMPLETE"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"


class BlobStatus(StrEnum):
    COMPLETE = "COMPLETE"
    REJECTED = "REJECTED"


class SyncSpace(Model):
    """同步空间: every write to a space locks this row first, so its version order is commit order."""

    space_id = fields.CharField(max_length=SPACE_ID_LENGTH, primary_key=True)
    version = fields.BigIntField(default=0)
    epoch = fields.UUIDField()  # replaced on a restore from backup, which resets every cursor
    min_valid_version = fields.BigIntField(default=0)  # GC watermark: older cursors reset
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sync_space"


class SyncClient(Model):
    """One installation in one space, bound to the space of its first push for good."""

    client_id = fields.UUIDField(primary_key=True)
    space_id = fields.CharField(max_length=SPACE_ID_LENGTH, db_index=True)
    platform = fields.CharEnumField(Platform, max_length=12)
    last_mutation_id = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField()

    class Meta:
        table = "sync_client"


class SyncMutationResult(Model):
    """The stored outcome of one processed mutation, committed with its effects, replayed on a resend."""

    id = fields.BigIntField(primary_key=True)
    client_id = fields.UUIDField()
    mutation_id = fields.IntField()
    status = fields.CharEnumField(SyncMutationStatus, max_length=24)
    result = fields.JSONField[dict[str, Any]]()  # the SyncMutationResult as first answered
    space_version = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "sync_mutation_result"
        unique_together = (("client_id", "mutation_id"),)


class Draft(Entity):
    """草稿: id is the UUIDv7 the client generated. version is the space version of its last pulled change."""

    space_id = fields.CharField(max_length=SPACE_ID_LENGTH)
    service_code = fields.CharField(max_length=64)
    form_version = fields.CharField(max_length=64)
    required_form_version = fields.CharField(max_length=64, null=True)
    status = fields.CharEnumField(DraftStatus, max_length=12, default=DraftStatus.EDITING)
    status_before_delete = fields.CharEnumField(DraftStatus, max_length=12, null=True)
    version = fields.BigIntField()
    created_version = fields.BigIntField()
    content_hash = fields.CharField(max_length=HASH_LENGTH)
    application_id = fields.UUIDField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    restorable_until = fields.DatetimeField(null=True)

    class Meta:
        table = "draft"
        indexes = (("space_id", "version", "id"),)


class DraftField(Model):
    """The current value of one path. A cleared field keeps its row with a null value and a new version."""

    id = fields.BigIntField(primary_key=True)
    draft_id = fields.UUIDField()
    path = fields.CharField(max_length=PATH_LENGTH)
    value = fields.JSONField[Any](null=True)
    value_hash = fields.CharField(max_length=HASH_LENGTH)
    version = fields.BigIntField()
    writer_client_id = fields.UUIDField()
    writer_mutation_id = fields.IntField()

    class Meta:
        table = "draft_field"
        unique_together = (("draft_id", "path"),)
        indexes = (("draft_id", "version"),)


class DraftFieldHistory(Model):
    """Append-only, one row per applied field change (draftHistory)."""

    id = fields.BigIntField(primary_key=True)
    draft_id = fields.UUIDField()
    path = fields.CharField(max_length=PATH_LENGTH)
    value = fields.JSONField[Any](null=True)
    value_hash = fields.CharField(max_length=HASH_LENGTH)
    version = fields.BigIntField()
    client_id = fields.UUIDField()
    mutation_id = fields.IntField()
    at = fields.DatetimeField()

    class Meta:
        table = "draft_field_history"
        indexes = (("draft_id", "version", "path"),)


class DraftConflict(Model):
    """A concurrent edit kept for a person to resolve. At most one OPEN per path (migration 0008)."""

    id = fields.UUIDField(primary_key=True)
    draft_id = fields.UUIDField()
    path = fields.CharField(max_length=PATH_LENGTH)
    status = fields.CharEnumField(ConflictStatus, max_length=8, default=ConflictStatus.OPEN)
    opened_version = fields.BigIntField()
    resolved_version = fields.BigIntField(null=True)

    class Meta:
        table = "draft_conflict"
        indexes = (("draft_id", "status"),)


class DraftConflictCandidate(Model):
    """A losing value of a conflict, with who wrote it."""

    id = fields.BigIntField(primary_key=True)
    conflict_id = fields.UUIDField(db_index=True)
    client_id = fields.UUIDField()
    platform = fields.CharEnumField(Platform, max_length=12, null=True)
    mutation_id = fields.IntField()
    value = fields.JSONField[Any](null=True)
    value_hash = fields.CharField(max_length=HASH_LENGTH)
    client_time = fields.DatetimeField(null=True)

    class Meta:
        table = "draft_conflict_candidate"


class DraftBlobRef(Model):
    """The blob a file field references, kept in step with the field, so a blob status change finds its drafts."""

    id = fields.BigIntField(primary_key=True)
    draft_id = fields.UUIDField()
    path = fields.CharField(max_length=PATH_LENGTH)
    sha256 = fields.CharField(max_length=HASH_LENGTH, db_index=True)

    class Meta:
        table = "draft_blob_ref"
        unique_together = (("draft_id", "path"),)


class SyncQuarantine(Model):
    """A permanently rejected mutation with ops, kept where the person sees it until acknowledged or 90 days."""

    id = fields.UUIDField(primary_key=True)
    space_id = fields.CharField(max_length=SPACE_ID_LENGTH)
    client_id = fields.UUIDField()
    mutation_id = fields.IntField()
    draft_id = fields.UUIDField()
    payload = fields.JSONField[dict[str, Any]]()  # the SyncMutationInput as received
    reason = fields.CharField(max_length=32)  # a SyncErrorCode name
    message = fields.CharField(max_length=500)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "sync_quarantine"
        indexes = (("space_id", "draft_id", "created_at"),)


class Upload(Entity):
    """A resumable upload of one file. chunk_digests maps a chunk index to the SHA-256 of its stored bytes."""

    space_id = fields.CharField(max_length=SPACE_ID_LENGTH)
    sha256 = fields.CharField(max_length=HASH_LENGTH)
    size = fields.BigIntField()
    mime = fields.CharField(max_length=100)
    file_name = fields.CharField(max_length=255)
    chunk_size = fields.IntField()
    chunk_digests = fields.JSONField[dict[str, str]](default=dict)
    status = fields.CharEnumField(AttachmentStatus, max_length=8, default=AttachmentStatus.PENDING)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "upload"
        indexes = (("space_id", "sha256"),)


class Blob(Model):
    """A verified file, content-addressed per space only, so no space learns what another holds."""

    id = fields.BigIntField(primary_key=True)
    space_id = fields.CharField(max_length=SPACE_ID_LENGTH)
    sha256 = fields.CharField(max_length=HASH_LENGTH)
    storage_key = fields.CharField(max_length=255)
    size = fields.BigIntField()
    mime = fields.CharField(max_length=100)
    status = fields.CharEnumField(BlobStatus, max_length=8)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "blob"
        unique_together = (("space_id", "sha256"),)
