"""What applying one mutation knows (sync-protocol.md §8.2 step 3) and what it reports back to the push loop."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from api.identity.tokens import AccessClaims
from api.models.sync import Draft, DraftStatus, Platform, SyncMutationStatus
from sync.contract import FieldConflictView, MutationIn, QuarantinedOpView, SyncErrorCode
from sync.deps import SyncDeps
from sync.push_errors import Rejected, not_owner


@dataclass(frozen=True)
class MutationContext:
    deps: SyncDeps
    claims: AccessClaims
    space_id: str
    client_id: uuid.UUID
    platform: Platform
    mutation: MutationIn
    version: int  # v: the space version this mutation writes if it changes anything a pull returns
    now: datetime


@dataclass
class Applied:
    """The outcome of an applied (not rejected) mutation. `changed` says whether anything a pull returns changed,
    so the draft and the space take version v."""

    status: SyncMutationStatus
    changed: bool
    draft_version: int | None = None
    application_id: uuid.UUID | None = None
    conflicts: list[FieldConflictView] | None = None
    reoffered_ops: list[QuarantinedOpView] | None = None


def plain_uuid(value: uuid.UUID) -> uuid.UUID:
    """The driver's UUID subclass (asyncpg) as a plain uuid.UUID, so that answers serialize anywhere (orjson
    serializes exactly uuid.UUID)."""
    return value if type(value) is uuid.UUID else uuid.UUID(int=value.int)


def maybe_uuid(value: uuid.UUID | None) -> uuid.UUID | None:
    return None if value is None else plain_uuid(value)


def json_create(value: Any) -> Any:
    """A JSONField value for a model constructor (`Model(...)`, `create`). The constructor decodes a str as JSON
    text and saving then treats a str as JSON text again, so a string value ("张三", or "1", which would become the
    number 1) must reach it encoded twice. Other values pass as they are."""
    return orjson.dumps(orjson.dumps(value).decode()).decode() if isinstance(value, str) else value


def json_update(value: Any) -> Any:
    """A JSONField value for `QuerySet.update`, which only encodes: a string value goes in as its JSON text."""
    return orjson.dumps(value).decode() if isinstance(value, str) else value


async def own_draft(ctx: MutationContext, *, lock: bool = True) -> Draft:
    """The draft of the mutation in the caller's space, else NOT_OWNER (same answer for missing and foreign)."""
    try:
        draft_id = uuid.UUID(ctx.mutation.draft_id)
    except ValueError:
        raise not_owner() from None
    query = Draft.select_for_update() if lock else Draft.all()
    draft = await query.get_or_none(id=draft_id)
    if draft is None or draft.space_id != ctx.space_id:
        raise not_owner()
    return draft


def rejected_if_not_editable(draft: Draft) -> None:
    if draft.status is DraftStatus.DELETED:
        raise Rejected(SyncErrorCode.DRAFT_DELETED, "this draft was deleted; restore it first")
    if draft.status is DraftStatus.SUBMITTED:
        raise Rejected(
            SyncErrorCode.DRAFT_SUBMITTED,
            "this draft was submitted; it can no longer be edited",
            application_id=maybe_uuid(draft.application_id),
        )
