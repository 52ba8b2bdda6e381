"""The structure checks of a push request (sync-protocol.md §8.1 item 3): pure, run once before any mutation.
A failure names the input it found wrong as path segments (`["mutations", "2", "id"]`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sync.contract import FieldOpIn, MutationIn, PushRequest, SyncMutationType
from sync.merge import FieldOpKind, is_hash

MAX_BIG_INT = 2**63 - 1
MAX_FORM_VERSION = 64
# The mutation types whose ops go through a form template, and so need its version.
TEMPLATE_TYPES = frozenset({SyncMutationType.CREATE_DRAFT, SyncMutationType.EDIT, SyncMutationType.RESOLVE_CONFLICT})


@dataclass(frozen=True)
class StructureError:
    message: str
    path: list[str]


def is_uuid(raw: str) -> bool:
    try:
        uuid.UUID(raw)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def parse_version(raw: str | None) -> int | None:
    """A BigIntString that is a non-negative 64-bit integer, else None."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if value <= MAX_BIG_INT else None


def check_structure(request: PushRequest) -> StructureError | None:
    if not is_uuid(request.client_id):
        return StructureError("clientId must be a UUID", ["clientId"])
    previous: int | None = None
    for index, m in enumerate(request.mutations):
        at = ["mutations", str(index)]
        if m.id < 1:
            return StructureError("mutation ids start at 1", [*at, "id"])
        if previous is not None and m.id != previous + 1:
            return StructureError("mutation ids must be consecutive, in order, without repeats", [*at, "id"])
        previous = m.id
        found = _check_mutation(m, at)
        if found is not None:
            return found
    return None


def _check_mutation(m: MutationIn, at: list[str]) -> StructureError | None:
    if not is_uuid(m.draft_id):
        return StructureError("draftId must be a UUID", [*at, "draftId"])
    kind = m.type
    if kind in TEMPLATE_TYPES and not (0 < len(m.form_version.strip()) <= MAX_FORM_VERSION):
        return StructureError(f"formVersion must be 1 to {MAX_FORM_VERSION} characters", [*at, "formVersion"])
    if kind is SyncMutationType.CREATE_DRAFT and not (m.service_code or "").strip():
        return StructureError("CREATE_DRAFT needs serviceCode", [*at, "serviceCode"])
    if kind in (SyncMutationType.EDIT, SyncMutationType.RESOLVE_CONFLICT) and not m.ops:
        return StructureError(f"{kind.value} needs at least one op", [*at, "ops"])
    if kind is SyncMutationType.RESOLVE_CONFLICT and not m.conflict_id:
        return StructureError("RESOLVE_CONFLICT needs conflictId", [*at, "conflictId"])
    if kind in (SyncMutationType.DELETE_DRAFT, SyncMutationType.SUBMIT) and m.base_draft_version is None:
        return StructureError(f"{kind.value} needs baseDraftVersion", [*at, "baseDraftVersion"])
    if m.base_draft_version is not None and parse_version(m.base_draft_version) is None:
        return StructureError("baseDraftVersion must be a non-negative 64-bit integer", [*at, "baseDraftVersion"])
    if kind is SyncMutationType.SUBMIT and m.expected_content_hash is None:
        return StructureError("SUBMIT needs expectedContentHash", [*at, "expectedContentHash"])
    if m.expected_content_hash is not None and not is_hash(m.expected_content_hash):
        return StructureError("expectedContentHash must be 64 lowercase hex characters", [*at, "expectedContentHash"])
    for op_index, op in enumerate(m.ops or []):
        found = _check_op(op, [*at, "ops", str(op_index)])
        if found is not None:
            return found
    return None


def _check_op(op: FieldOpIn, at: list[str]) -> StructureError | None:
    if op.kind not in FieldOpKind.__members__:
        return StructureError("kind must be SET, UNSET or REMOVE_ITEM", [*at, "kind"])
    if op.kind == FieldOpKind.SET and (not op.value_given or op.value is None):
        return StructureError("SET needs a non-null value (UNSET clears a field)", [*at, "value"])
    if op.kind != FieldOpKind.SET and op.value is not None:
        return StructureError(f"{op.kind} takes no value", [*at, "value"])
    if not is_hash(op.base_hash):
        return StructureError("baseHash must be 64 lowercase hex characters", [*at, "baseHash"])
    if op.base_version is not None and parse_version(op.base_version) is None:
        return StructureError("baseVersion must be a non-negative 64-bit integer", [*at, "baseVersion"])
    return None
