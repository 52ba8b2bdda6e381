"""Pull (sync-protocol.md §9): one page of the space's changed drafts, read in one snapshot, with a signed cursor
that never causes an error (P6) and deltas computed from `floor`, so a draft that drops out of a cycle mid-way
loses nothing on the device.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from tortoise.expressions import Q

from api.identity.tokens import AccessClaims
from api.models.sync import Draft, SyncClient, SyncSpace
from sync import cursor
from sync.contract import (
    MAX_PULL_BYTES,
    MAX_PULL_LIMIT,
    MIN_PULL_BYTES,
    ClientAckView,
    DraftChangeView,
    PullPayload,
    PullRejected,
    PullRequest,
    SyncErrorCode,
)
from sync.deps import SyncDeps
from sync.push_errors import SERVER_BUSY_RETRY_MS
from sync.push_transient import is_transient
from sync.snapshot import read_snapshot
from sync.snapshot_drafts import draft_changes, estimated_size
from sync.spaces import ensure_space, space_of

log = logging.getLogger("zsb.sync.pull")

# A newer protocol than this instance knows means a rolling deploy: another instance will answer soon (as push).
UPGRADE_RETRY_MS = 60_000
# Drafts are loaded in batches, so a byte budget reached early does not load the whole `limit`.
BATCH = 50


def _check_protocol(deps: SyncDeps, version: int) -> PullRejected | None:
    path = ["protocolVersion"]
    if version < deps.min_protocol_version:
        message = f"protocol {version} is no longer supported: update the app"
        return PullRejected(SyncErrorCode.CLIENT_UPGRADE_REQUIRED.value, message, path)
    if version > deps.max_protocol_version:
        message = f"protocol {version} is not served here yet: retry shortly"
        return PullRejected(SyncErrorCode.SERVER_BUSY.value, message, path, UPGRADE_RETRY_MS)
    return None


def _client_uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except (ValueError, TypeError, AttributeError):
        return None


async def pull(deps: SyncDeps, claims: AccessClaims, request: PullRequest) -> PullPayload | PullRejected:
    refused = _check_protocol(deps, request.protocol_version)
    if refused is not None:
        return refused
    client_id = _client_uuid(request.client_id)
    if client_id is None:
        return PullRejected(SyncErrorCode.INVALID_BATCH.value, "clientId must be a UUID", ["clientId"])
    try:
        return await _pull(deps, space_of(claims), client_id, request)
    except Exception as exc:
        if not is_transient(exc):
            raise
        log.warning("pull stopped by a temporary database failure", exc_info=True)
        busy = "the server is busy; retry shortly"
        return PullRejected(SyncErrorCode.SERVER_BUSY.value, busy, None, SERVER_BUSY_RETRY_MS)


async def _pull(
    deps: SyncDeps, space_id: str, client_id: uuid.UUID, request: PullRequest
) -> PullPayload | PullRejected:
    owner = await SyncClient.get_or_none(client_id=client_id)
    if owner is not None and owner.space_id != space_id:
        message = "this clientId belongs to another space: use one per space"
        return PullRejected(SyncErrorCode.CLIENT_NOT_OWNED.value, message, ["clientId"])
    await ensure_space(space_id)
    limit = min(max(request.limit, 1), MAX_PULL_LIMIT)
    max_bytes = min(max(request.max_bytes, MIN_PULL_BYTES), MAX_PULL_BYTES)
    async with read_snapshot():
        return await _page(deps, space_id, request.cursor, limit, max_bytes)


def _start(deps: SyncDeps, token: str | None, space: SyncSpace) -> cursor.Position:
    position = cursor.start(
        token,
        deps.cursor_key,
        space_id=space.space_id,
        epoch=space.epoch,
        space_version=space.version,
        min_valid_version=space.min_valid_version,
    )
    if position.reset_reason is not None:
        level = logging.WARNING if position.reset_reason.security_relevant else logging.INFO
        log.log(level, "pull cursor reset", extra={"reason": position.reset_reason.value, "space_id": space.space_id})
    return position


async def _fill(
    space_id: str, candidates: list[Draft], floor: int, max_bytes: int, now: datetime
) -> list[DraftChangeView]:
    """The drafts that fit the byte budget, in order; at least one."""
    served: list[DraftChangeView] = []
    size = 0
    for start in range(0, len(candidates), BATCH):
        for change in await draft_changes(space_id, candidates[start : start + BATCH], floor, now):
            change_size = estimated_size(change)
            if served and size + change_size > max_bytes:
                return served
            served.append(change)
            size += change_size
    return served


async def _page(deps: SyncDeps, space_id: str, token: str | None, limit: int, max_bytes: int) -> PullPayload:
    space = await SyncSpace.get(space_id=space_id)
    position = _start(deps, token, space)
    pinned = cursor.pin(position.cursor, space.version)
    up_to = space.version if pinned.up_to is None else pinned.up_to
    window = Draft.filter(space_id=space_id, version__gt=pinned.since, version__lte=up_to)
    if pinned.after_version is not None:
        window = window.filter(
            Q(version__gt=pinned.after_version) | Q(version=pinned.after_version, id__gt=pinned.after_draft_id)
        )
    candidates = await window.order_by("version", "id").limit(limit + 1)
    served = await _fill(space_id, candidates[:limit], pinned.floor, max_bytes, deps.clock.now())
    has_more = len(served) < len(candidates)
    if has_more:
        last = served[-1]
        following = cursor.next_page(pinned, last.version, last.draft_id)
    else:
        following = cursor.next_cycle(pinned, space.version)
    clients = await SyncClient.filter(space_id=space_id).order_by("created_at", "client_id")
    return PullPayload(
        cursor=cursor.encode(following, deps.cursor_key),
        has_more=has_more,
        reset=position.reset_reason is not None,
        snapshot_version=up_to,
        drafts=served,
        server_epoch=space.epoch,
        clients=[ClientAckView(c.client_id, c.last_mutation_id) for c in clients],
    )
