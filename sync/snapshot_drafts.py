"""What a pull page says about its drafts (sync-protocol.md §9 step 3, §6 `DraftChange`), loaded for the whole
page in a few batched queries: a 200-draft page of 30 fields each must not cost a query per draft.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from tortoise.functions import Count

from api.models.sync import (
    ConflictStatus,
    Draft,
    DraftBlobRef,
    DraftConflict,
    DraftConflictCandidate,
    DraftField,
    SyncQuarantine,
)
from sync import template_registry
from sync.contract import (
    AttachmentStateView,
    ConflictCandidateView,
    DraftChangeView,
    FieldConflictView,
    FieldValueView,
)
from sync.merge import item_fields, map_hash, value_hash
from sync.templates import FormTemplate
from sync.uploads import attachment_statuses

# Per field and per draft, what the JSON of a DraftChange adds around the values (keys, hash, version).
FIELD_OVERHEAD = 120
DRAFT_OVERHEAD = 400


@dataclass(frozen=True)
class _FieldRow:
    path: str
    value: Any
    value_hash: str
    version: int


def is_full(draft: Draft, floor: int) -> bool:
    """First sight (created after `floor`) or a reset cycle: the whole map, no removals."""
    return floor == 0 or draft.created_version > floor


def estimated_size(change: DraftChangeView) -> int:
    size = DRAFT_OVERHEAD + sum(FIELD_OVERHEAD + len(f.path) + len(_json(f.value)) for f in change.fields)
    size += sum(len(path) + 4 for path in change.removed_paths)
    for conflict in change.open_conflicts:
        size += FIELD_OVERHEAD + len(conflict.path) + len(_json(conflict.server_value))
        size += sum(FIELD_OVERHEAD + len(_json(c.value)) for c in conflict.candidates)
    return size + FIELD_OVERHEAD * len(change.attachments)


def _json(value: Any) -> bytes:
    # orjson rather than RFC 8785 here: the same length up to key order, at a fraction of the cost.
    return orjson.dumps(value)


async def _fields(drafts: list[Draft], floor: int) -> dict[uuid.UUID, list[_FieldRow]]:
    """Every field of a full draft; of a delta draft only those written after `floor`. Null values included."""
    full = [d.id for d in drafts if is_full(d, floor)]
    delta = [d.id for d in drafts if not is_full(d, floor)]
    columns = ("draft_id", "path", "value", "value_hash", "version")
    rows: list[tuple[Any, ...]] = []
    if full:
        rows += await DraftField.filter(draft_id__in=full).values_list(*columns)
    if delta:
        rows += await DraftField.filter(draft_id__in=delta, version__gt=floor).values_list(*columns)
    found: dict[uuid.UUID, list[_FieldRow]] = defaultdict(list)
    for draft_id, path, value, hashed, version in rows:
        found[_uuid(draft_id)].append(_FieldRow(path, value, hashed, version))
    return found


def _uuid(raw: Any) -> uuid.UUID:
    return raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))


async def _conflicts(draft_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[DraftConflict]]:
    found: dict[uuid.UUID, list[DraftConflict]] = defaultdict(list)
    for conflict in await DraftConflict.filter(draft_id__in=draft_ids, status=ConflictStatus.OPEN).order_by(
        "opened_version", "path"
    ):
        found[conflict.draft_id].append(conflict)
    return found


async def _candidates(conflict_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[ConflictCandidateView]]:
    found: dict[uuid.UUID, list[ConflictCandidateView]] = defaultdict(list)
    if not conflict_ids:
        return found
    for c in await DraftConflictCandidate.filter(conflict_id__in=conflict_ids).order_by("id"):
        found[c.conflict_id].append(
            ConflictCandidateView(c.client_id, c.platform, c.value, c.value_hash, c.client_time)
        )
    return found


def _is_item_conflict(template: FormTemplate | None, path: str, paths: set[str]) -> bool:
    """The push's reading of a conflict's path (an item of a repeating group that is no field of its own); with
    the template unknown to this instance (rolling deploy), a path with no field row but fields under it."""
    if template is not None:
        return template.field_for(path) is None and template.is_item_path(path)
    prefix = path + "/"
    return path not in paths and any(p.startswith(prefix) for p in paths)


async def _server_sides(drafts: list[Draft], conflicts: list[DraftConflict]) -> dict[uuid.UUID, tuple[Any, str]]:
    """A conflict's server value is the field's current value, or, when an edit beat a REMOVE_ITEM (§8.4), the
    item's `{path: value}` map. Read whole, whatever the delta of the page."""
    if not conflicts:
        return {}
    conflicted = {c.draft_id for c in conflicts}
    by_id = {d.id: d for d in drafts if d.id in conflicted}
    values: dict[uuid.UUID, dict[str, Any]] = defaultdict(dict)
    columns = ("draft_id", "path", "value")
    for draft_id, path, value in await DraftField.filter(draft_id__in=list(conflicted)).values_list(*columns):
        values[_uuid(draft_id)][path] = value
    forms = {(d.service_code, d.form_version) for d in by_id.values()}
    # One lookup per form, not per conflict: an unknown form is not cached by the registry.
    templates = {form: await template_registry.find(*form) for form in forms}
    sides: dict[uuid.UUID, tuple[Any, str]] = {}
    for conflict in conflicts:
        draft_values = values[conflict.draft_id]
        draft = by_id[conflict.draft_id]
        template = templates[(draft.service_code, draft.form_version)]
        if _is_item_conflict(template, conflict.path, set(draft_values)):
            item = item_fields(draft_values, conflict.path)
            sides[conflict.id] = (item, map_hash(item))
        else:
            value = draft_values.get(conflict.path)
            sides[conflict.id] = (value, value_hash(value))
    return sides


async def _attachments(
    space_id: str, draft_ids: list[uuid.UUID], now: datetime
) -> dict[uuid.UUID, list[AttachmentStateView]]:
    refs = await DraftBlobRef.filter(draft_id__in=draft_ids).order_by("path").values_list("draft_id", "path", "sha256")
    statuses = await attachment_statuses(space_id, {sha256 for _, _, sha256 in refs}, now)
    found: dict[uuid.UUID, list[AttachmentStateView]] = defaultdict(list)
    for draft_id, path, sha256 in refs:
        found[_uuid(draft_id)].append(AttachmentStateView(path, sha256, statuses[sha256]))
    return found


async def _quarantine_counts(space_id: str, draft_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = (
        await SyncQuarantine.filter(space_id=space_id, draft_id__in=draft_ids)
        .annotate(n=Count("id"))
        .group_by("draft_id")
        .values_list("draft_id", "n")
    )
    return {_uuid(draft_id): int(n) for draft_id, n in rows}


async def draft_changes(space_id: str, drafts: list[Draft], floor: int, now: datetime) -> list[DraftChangeView]:
    """The DraftChange of each draft, in the given order."""
    if not drafts:
        return []
    ids = [d.id for d in drafts]
    fields = await _fields(drafts, floor)
    conflicts = await _conflicts(ids)
    every_conflict = [c for found in conflicts.values() for c in found]
    candidates = await _candidates([c.id for c in every_conflict])
    sides = await _server_sides(drafts, every_conflict)
    attachments = await _attachments(space_id, ids, now)
    quarantined = await _quarantine_counts(space_id, ids)
    changes = []
    for draft in drafts:
        rows = sorted(fields.get(draft.id, []), key=lambda row: row.path)
        full = is_full(draft, floor)
        open_conflicts = [
            FieldConflictView(c.id, c.path, *sides[c.id], candidates.get(c.id, []), c.opened_version)
            for c in conflicts.get(draft.id, [])
        ]
        changes.append(
            DraftChangeView(
                draft_id=draft.id,
                status=draft.status,
                service_code=draft.service_code,
                form_version=draft.form_version,
                full=full,
                version=draft.version,
                content_hash=draft.content_hash,
                fields=[FieldValueView(r.path, r.value, r.value_hash, r.version) for r in rows if r.value is not None],
                removed_paths=[] if full else [r.path for r in rows if r.value is None],
                open_conflicts=open_conflicts,
                attachments=attachments.get(draft.id, []),
                quarantined_ops=quarantined.get(draft.id, 0),
                required_form_version=draft.required_form_version,
                application_id=draft.application_id,
                restorable_until=draft.restorable_until,
            )
        )
    return changes
