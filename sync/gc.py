"""Garbage collection of draft sync (sync-protocol.md decisions 4 and 5, §9, §11.4, §13).

- Tombstones: DELETED drafts past `restorable_until` go with everything hanging off them, and the space's
  `min_valid_version` rises to the highest purged version, so a cursor that may not have seen a deletion resets.
- Stored mutation results and quarantine entries older than 90 days.
- Blobs unreferenced for 30 days: rows, then the file once no space holds that hash any more.

Every function takes `now` so a test can run it at a shifted moment without moving the shared clock. Whatever
changes what a pull returns runs under the space serialization, like a push.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tortoise.expressions import Q

from api.models import Application
from api.models.sync import (
    AttachmentStatus,
    Blob,
    Draft,
    DraftBlobRef,
    DraftConflict,
    DraftConflictCandidate,
    DraftField,
    DraftFieldHistory,
    DraftStatus,
    SyncMutationResult,
    SyncQuarantine,
    SyncSpace,
    Upload,
)
from sync.spaces import serialized

log = logging.getLogger("zsb.sync.gc")

RESULT_RETENTION = timedelta(days=90)
QUARANTINE_RETENTION = timedelta(days=90)
BLOB_RETENTION = timedelta(days=30)
# Drafts or blobs per transaction: the space is locked while they go, so pushes wait at most one batch.
BATCH = 100


@dataclass(frozen=True)
class GcReport:
    drafts: int
    results: int
    quarantine: int
    blobs: int


def _batches(items: list[uuid.UUID]) -> Iterator[list[uuid.UUID]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def _by_space(rows: Iterable[tuple[str, Any]]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for space_id, item in rows:
        grouped[space_id].append(item)
    return grouped


# ---- tombstones ---------------------------------------------------------------------------------------------


async def purge_tombstones(now: datetime) -> int:
    due = await Draft.filter(status=DraftStatus.DELETED, restorable_until__lte=now).values_list("space_id", "id")
    purged = 0
    for space_id, draft_ids in _by_space(due).items():
        for batch in _batches(draft_ids):
            purged += await _purge_drafts(space_id, batch, now)
    return purged


async def _purge_drafts(space_id: str, draft_ids: list[uuid.UUID], now: datetime) -> int:
    async with serialized(space_id) as space:
        # Read again under the lock: a RESTORE_DRAFT may have committed since the scan.
        rows = await Draft.filter(
            id__in=draft_ids, space_id=space_id, status=DraftStatus.DELETED, restorable_until__lte=now
        ).values_list("id", "version")
        if not rows:
            return 0
        ids = [draft_id for draft_id, _ in rows]
        highest = max(version for _, version in rows)
        conflict_ids = await DraftConflict.filter(draft_id__in=ids).values_list("id", flat=True)
        await DraftConflictCandidate.filter(conflict_id__in=list(conflict_ids)).delete()
        await DraftConflict.filter(draft_id__in=ids).delete()
        await DraftField.filter(draft_id__in=ids).delete()
        await DraftFieldHistory.filter(draft_id__in=ids).delete()
        await DraftBlobRef.filter(draft_id__in=ids).delete()
        await SyncQuarantine.filter(space_id=space_id, draft_id__in=ids).delete()
        await Draft.filter(id__in=ids).delete()
        if space.min_valid_version < highest:
            await SyncSpace.filter(space_id=space_id).update(min_valid_version=highest)
    log.info("purged deleted drafts", extra={"space_id": space_id, "drafts": len(ids), "min_valid_version": highest})
    return len(ids)


# ---- results and quarantine ---------------------------------------------------------------------------------


async def purge_results(now: datetime) -> int:
    """Stored results are only replayed to a resend; after 90 days a resend gets NOOP, replayed (§8.2)."""
    return int(await SyncMutationResult.filter(created_at__lt=now - RESULT_RETENTION).delete())


async def purge_quarantine(now: datetime) -> int:
    """Expired entries leave the pulled count, so their drafts take a new version, under the space lock."""
    due = await SyncQuarantine.filter(created_at__lt=now - QUARANTINE_RETENTION).values_list("space_id", "id")
    removed = 0
    for space_id, entry_ids in _by_space(due).items():
        for batch in _batches(entry_ids):
            async with serialized(space_id) as space:
                entries = SyncQuarantine.filter(id__in=batch, space_id=space_id)
                draft_ids = list(set(await entries.values_list("draft_id", flat=True)))
                count = await entries.delete()
                removed += count
                touched = Draft.filter(id__in=draft_ids, space_id=space_id)
                if count and await touched.exists():
                    version = space.version + 1
                    await SyncSpace.filter(space_id=space_id).update(version=version)
                    await touched.update(version=version)
    return removed


# ---- blobs --------------------------------------------------------------------------------------------------


def _file_hashes(value: Any, found: set[str]) -> None:
    """Every `blobSha256` in a field map, however the map nests its file references."""
    if isinstance(value, dict):
        sha256 = value.get("blobSha256")
        if isinstance(sha256, str):
            found.add(sha256)
        for inner in value.values():
            _file_hashes(inner, found)
    elif isinstance(value, list):
        for inner in value:
            _file_hashes(inner, found)


async def _pinned(space_id: str, hashes: list[str], now: datetime) -> set[str]:
    """Hashes of the space still in use: referenced by a draft (a submitted one keeps its references), named in
    the field map of an application made from a draft (it outlives its draft), or uploaded again lately."""
    pinned: set[str] = set()
    refs = await DraftBlobRef.filter(sha256__in=hashes).values_list("draft_id", "sha256")
    if refs:
        in_space = set(
            await Draft.filter(id__in=list({d for d, _ in refs}), space_id=space_id).values_list("id", flat=True)
        )
        pinned |= {sha256 for draft_id, sha256 in refs if draft_id in in_space}
    kind, _, owner = space_id.partition(":")
    applicant = Q(applicant_person_id=owner) if kind == "P" else Q(applicant_enterprise_id=owner)
    # Made from a draft still here, or by the space's applicant from a draft since purged.
    drafts = await Draft.filter(space_id=space_id, application_id__isnull=False).values_list("id", flat=True)
    made_here = Q(draft_id__in=list(drafts)) | (applicant & Q(draft_id__isnull=False))
    for form_data in await Application.filter(made_here).values_list("form_data", flat=True):
        _file_hashes(form_data, pinned)
    recent = Upload.filter(space_id=space_id, sha256__in=hashes, created_at__gte=now - BLOB_RETENTION)
    pinned |= {str(sha256) for sha256 in await recent.values_list("sha256", flat=True)}
    return pinned & set(hashes)


async def purge_blobs(upload_root: Path, now: datetime) -> int:
    due = await Blob.filter(created_at__lt=now - BLOB_RETENTION).values_list("space_id", "sha256")
    removed: set[str] = set()
    count = 0
    for space_id, hashes in _by_space(due).items():
        for start in range(0, len(hashes), BATCH):
            batch = hashes[start : start + BATCH]
            async with serialized(space_id):
                unpinned = set(batch) - await _pinned(space_id, batch, now)
                if unpinned:
                    count += await Blob.filter(space_id=space_id, sha256__in=list(unpinned)).delete()
                    removed |= unpinned
    for sha256 in removed:
        await _drop_file(upload_root, sha256)
    return count


async def _drop_file(upload_root: Path, sha256: str) -> None:
    # One file serves every space holding the hash; an upload in progress may be about to publish it again.
    if await Blob.exists(sha256=sha256) or await Upload.exists(sha256=sha256, status=AttachmentStatus.PENDING):
        return
    await asyncio.to_thread((upload_root / "blobs" / sha256).unlink, True)


# ---- all of it ----------------------------------------------------------------------------------------------


async def collect(upload_root: Path, now: datetime) -> GcReport:
    report = GcReport(
        drafts=await purge_tombstones(now),
        results=await purge_results(now),
        quarantine=await purge_quarantine(now),
        blobs=await purge_blobs(upload_root, now),
    )
    log.info("sync gc", extra={"report": report.__dict__})
    return report
