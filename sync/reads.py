"""The draft's side lists (sync-protocol.md §6): `draftHistory`, `quarantinedOps` and
`acknowledgeQuarantinedOps`. An unknown draft and another space's draft look the same: empty, or NOT_FOUND.

Lists follow the API's paging (api.kit.pagination): `first` ≤ 100, a negative one or a cursor of another list is
INVALID_INPUT.
"""

from __future__ import annotations

import uuid

from api.identity.tokens import AccessClaims
from api.kit.errors import InvalidInput
from api.kit.pagination import clamp_first, decode_cursor, encode_cursor, moment_id_after
from api.models.sync import Draft, DraftFieldHistory, SyncQuarantine, SyncSpace
from sync import poke, quarantine
from sync.contract import (
    MAX_ACK_IDS,
    AcknowledgeRejected,
    DraftHistoryEntryView,
    QuarantineAcknowledged,
    QuarantinedOpView,
    Slice,
)
from sync.deps import SyncDeps
from sync.spaces import serialized, space_of

NOT_FOUND = "NOT_FOUND"


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except (ValueError, TypeError, AttributeError):
        return None


async def _own_draft(space_id: str, raw_id: str) -> Draft | None:
    draft_id = _uuid(raw_id)
    return None if draft_id is None else await Draft.get_or_none(id=draft_id, space_id=space_id)


# ---- draftHistory -------------------------------------------------------------------------------------------

HistoryKey = tuple[int, str, int]


def _history_key(row: DraftFieldHistory) -> HistoryKey:
    # Paths compare as Python strings (code points), so the order is the same on SQLite and on a PostgreSQL
    # database whatever its collation.
    return (row.version, row.path, row.id)


def _history_after(after: str | None) -> HistoryKey | None:
    position = decode_cursor(after)
    if position is None:
        return None
    match position:
        case [int(version), str(path), int(row_id)] if not isinstance(version, bool) and not isinstance(row_id, bool):
            return (version, path, row_id)
    raise InvalidInput("not a cursor of this list", path=["after"], code="INVALID_CURSOR")


async def _history_rows(draft_id: uuid.UUID, after: HistoryKey | None, first: int) -> list[DraftFieldHistory]:
    """`first + 1` rows after the cursor by (version, path, id). SQL orders by version only; every version read is
    read whole (one commit writes at most a mutation's ops), so sorting its rows here cannot skip any."""
    rows = DraftFieldHistory.filter(draft_id=draft_id)
    start = 0 if after is None else after[0]
    already = 0 if after is None else await rows.filter(version=start).count()
    bound = (
        await rows.filter(version__gte=start)
        .order_by("version", "id")
        .offset(already + first)
        .limit(1)
        .values_list("version", flat=True)
    )
    window = rows.filter(version__gte=start)
    if bound:
        window = window.filter(version__lte=bound[0])
    found = sorted(await window, key=_history_key)
    if after is not None:
        found = [row for row in found if _history_key(row) > after]
    return found[: first + 1]


async def draft_history(
    deps: SyncDeps, claims: AccessClaims, draft_id: str, first: int, after: str | None
) -> Slice[DraftHistoryEntryView]:
    count = clamp_first(first)
    position = _history_after(after)
    draft = await _own_draft(space_of(claims), draft_id)
    if draft is None or count == 0:
        return Slice([], [], False)
    rows = await _history_rows(draft.id, position, count)
    shown = rows[:count]
    items = [
        DraftHistoryEntryView(r.path, r.value, r.value_hash, r.version, r.client_id, r.mutation_id, r.at) for r in shown
    ]
    return Slice(items, [encode_cursor(list(_history_key(r))) for r in shown], len(rows) > count)


# ---- quarantinedOps -----------------------------------------------------------------------------------------


async def quarantined_ops(
    deps: SyncDeps, claims: AccessClaims, draft_id: str, first: int, after: str | None
) -> Slice[QuarantinedOpView]:
    count = clamp_first(first)
    following = moment_id_after(after, "created_at", newest_first=False)
    space_id = space_of(claims)
    draft = await _own_draft(space_id, draft_id)
    if draft is None or count == 0:
        return Slice([], [], False)
    rows = (
        await SyncQuarantine.filter(following, space_id=space_id, draft_id=draft.id)
        .order_by("created_at", "id")
        .limit(count + 1)
    )
    shown = rows[:count]
    cursors = [encode_cursor([r.created_at.isoformat(), str(r.id)]) for r in shown]
    return Slice([quarantine.view(r) for r in shown], cursors, len(rows) > count)


# ---- acknowledgeQuarantinedOps ------------------------------------------------------------------------------


async def acknowledge_quarantined_ops(
    deps: SyncDeps, claims: AccessClaims, draft_id: str, ids: list[str]
) -> QuarantineAcknowledged | AcknowledgeRejected:
    if len(ids) > MAX_ACK_IDS:
        return AcknowledgeRejected("INVALID_INPUT", f"at most {MAX_ACK_IDS} ids at a time", ["ids"])
    space_id = space_of(claims)
    missing = AcknowledgeRejected(NOT_FOUND, "no such draft", ["draftId"])
    if await _own_draft(space_id, draft_id) is None:
        return missing
    # Ids that are no UUID cannot be this draft's entries: ignored like any other stranger's id.
    entry_ids = [found for found in map(_uuid, ids) if found is not None]
    async with serialized(space_id) as space:
        draft = await _own_draft(space_id, draft_id)
        if draft is None:
            return missing
        removed = 0
        if entry_ids:
            removed = await SyncQuarantine.filter(space_id=space_id, draft_id=draft.id, id__in=entry_ids).delete()
        if removed:
            # The pulled quarantine count changed: a change every device of the space must see (§8.2 step 4).
            version = space.version + 1
            await SyncSpace.filter(space_id=space_id).update(version=version)
            await Draft.filter(id=draft.id).update(version=version)
            draft.version = version
    if removed:
        await poke.publish(deps.redis, space_id, draft.version)
    return QuarantineAcknowledged(removed, draft.version)
