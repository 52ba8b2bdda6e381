"""The ops of one mutation against a draft (sync-protocol.md §8.3 EDIT, §8.4): every op is translated and checked
before any is applied (a mutation is atomic), then `merge.apply_ops` decides, and this module writes what it
decided: field rows (a cleared field keeps its row with null), one history row per applied change, conflicts and
their candidates, and the blob references of file fields."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from api.models.sync import (
    ConflictStatus,
    Draft,
    DraftBlobRef,
    DraftConflict,
    DraftConflictCandidate,
    DraftField,
    DraftFieldHistory,
)
from sync import template_registry
from sync.apply_context import MutationContext, json_create, json_update, plain_uuid
from sync.contract import ConflictCandidateView, FieldConflictView, FieldOpIn, SyncErrorCode
from sync.merge import (
    FieldOp,
    FieldOpKind,
    InvalidValue,
    OpDecision,
    Outcome,
    apply_ops,
    check_value,
    is_valid_path,
    item_fields,
    value_hash,
)
from sync.push_errors import Rejected
from sync.templates import FormTemplate, translate_through

MAX_OPS = 100


@dataclass(frozen=True)
class FieldsOutcome:
    applied: bool  # some field changed
    conflicted: bool  # some op opened or extended a conflict
    conflicts: list[FieldConflictView]
    values: dict[str, Any]  # the draft's non-null map afterwards
    conflict_paths: frozenset[str]


async def checked_ops(ctx: MutationContext, draft: Draft, template: FormTemplate) -> list[FieldOp]:
    """The mutation's ops translated to the draft's form version and checked, or a rejection naming the op path."""
    ops_in = ctx.mutation.ops or []
    if len(ops_in) > MAX_OPS:
        raise _rejected(SyncErrorCode.VALUE_TOO_LARGE, f"at most {MAX_OPS} ops per mutation", [])
    chain = [template]
    if ctx.mutation.form_version.strip() != draft.form_version:
        chain = await template_registry.chain(draft.service_code, ctx.mutation.form_version, draft.form_version)
    return [_checked(op, chain, template) for op in ops_in]


def _checked(op: FieldOpIn, chain: list[FormTemplate], template: FormTemplate) -> FieldOp:
    kind = FieldOpKind(op.kind)
    target = translate_through(op.path, chain) if is_valid_path(op.path) else None
    found = template.field_for(target) if target is not None and kind is not FieldOpKind.REMOVE_ITEM else None
    is_item = target is not None and kind is FieldOpKind.REMOVE_ITEM and template.is_item_path(target)
    if target is None or (found is None and not is_item):
        raise _rejected(SyncErrorCode.UNKNOWN_PATH, f"{op.path!r} is not a field of this form", [op.path])
    if kind is FieldOpKind.SET:
        try:
            check_value(op.value)
            if found is not None:
                found.check(op.value)
        except InvalidValue as exc:
            code = SyncErrorCode.VALUE_TOO_LARGE if exc.too_large else SyncErrorCode.VALIDATION_FAILED
            raise _rejected(code, f"{op.path}: {exc}", [op.path]) from None
    return FieldOp(target, kind, op.base_hash, op.value if kind is FieldOpKind.SET else None)


def _rejected(code: SyncErrorCode, message: str, paths: list[str]) -> Rejected:
    return Rejected(code, message, paths=paths or None)


async def current_values(draft_id: uuid.UUID) -> tuple[dict[str, DraftField], dict[str, Any]]:
    rows = {row.path: row for row in await DraftField.filter(draft_id=draft_id)}
    return rows, {path: row.value for path, row in rows.items() if row.value is not None}


async def run_ops(ctx: MutationContext, draft: Draft, template: FormTemplate, ops: list[FieldOp]) -> FieldsOutcome:
    rows, values = await current_values(draft.id)
    result, decisions = apply_ops(values, ops, template.policy_of)
    changes = [(path, v) for d in decisions if d.outcome is Outcome.APPLY for path, v in d.writes.items()]
    await _write_fields(ctx, draft, template, rows, result, changes)
    conflicts: list[FieldConflictView] = []
    for decision in decisions:
        if decision.outcome is Outcome.CONFLICT:
            view = await _open_or_extend(ctx, draft, decision, result, template)
            conflicts = [c for c in conflicts if c.id != view.id] + [view]
    return FieldsOutcome(
        applied=bool(changes),
        conflicted=bool(conflicts),
        conflicts=conflicts,
        values=result,
        conflict_paths=frozenset(c.path for c in conflicts),
    )


async def _write_fields(
    ctx: MutationContext,
    draft: Draft,
    template: FormTemplate,
    rows: dict[str, DraftField],
    result: dict[str, Any],
    changes: list[tuple[str, Any]],
) -> None:
    if not changes:
        return
    m, v = ctx.mutation, ctx.version
    await DraftFieldHistory.bulk_create(
        [
            DraftFieldHistory(
                draft_id=draft.id,
                path=path,
                value=json_create(value),
                value_hash=value_hash(value),
                version=v,
                client_id=ctx.client_id,
                mutation_id=m.id,
                at=ctx.now,
            )
            for path, value in changes
        ]
    )
    created: list[DraftField] = []
    for path in dict.fromkeys(path for path, _ in changes):
        final = result.get(path)
        columns: dict[str, Any] = {
            "value_hash": value_hash(final),
            "version": v,
            "writer_client_id": ctx.client_id,
            "writer_mutation_id": m.id,
        }
        if path in rows:
            await DraftField.filter(id=rows[path].id).update(value=json_update(final), **columns)
        else:
            created.append(DraftField(draft_id=draft.id, path=path, value=json_create(final), **columns))
        found = template.field_for(path)
        if found is not None and found.type == "file":
            await _keep_blob_ref(draft.id, path, final)
    # A form filled for the first time writes every field in one statement, as the history rows above.
    if created:
        await DraftField.bulk_create(created)


async def _keep_blob_ref(draft_id: uuid.UUID, path: str, value: Any) -> None:
    sha256 = value.get("blobSha256") if isinstance(value, dict) else None
    if not isinstance(sha256, str):
        await DraftBlobRef.filter(draft_id=draft_id, path=path).delete()
        return
    updated = await DraftBlobRef.filter(draft_id=draft_id, path=path).update(sha256=sha256)
    if not updated:
        await DraftBlobRef.create(draft_id=draft_id, path=path, sha256=sha256)


def server_value(values: dict[str, Any], path: str, template: FormTemplate) -> Any:
    """What the server holds at a conflict's path: the field's value, or an item's `{path: value}` map."""
    if template.field_for(path) is None and template.is_item_path(path):
        return item_fields(values, path)
    return values.get(path)


def server_hash(values: dict[str, Any], path: str, template: FormTemplate) -> str:
    # An item map holds non-null fields only, so its value hash is its item hash (§5).
    return value_hash(server_value(values, path, template))


async def _open_or_extend(
    ctx: MutationContext, draft: Draft, decision: OpDecision, values: dict[str, Any], template: FormTemplate
) -> FieldConflictView:
    conflict = await DraftConflict.get_or_none(draft_id=draft.id, path=decision.path, status=ConflictStatus.OPEN)
    if conflict is None:
        conflict = await DraftConflict.create(
            id=uuid.uuid4(), draft_id=draft.id, path=decision.path, opened_version=ctx.version
        )
    await DraftConflictCandidate.create(
        conflict_id=conflict.id,
        client_id=ctx.client_id,
        platform=ctx.platform,
        mutation_id=ctx.mutation.id,
        value=json_create(decision.candidate),
        value_hash=value_hash(decision.candidate),
        client_time=ctx.mutation.client_time,
    )
    return await conflict_view(conflict, values, template)


async def conflict_view(conflict: DraftConflict, values: dict[str, Any], template: FormTemplate) -> FieldConflictView:
    candidates = await DraftConflictCandidate.filter(conflict_id=conflict.id).order_by("id")
    return FieldConflictView(
        id=plain_uuid(conflict.id),
        path=conflict.path,
        server_value=server_value(values, conflict.path, template),
        server_hash=server_hash(values, conflict.path, template),
        candidates=[
            ConflictCandidateView(plain_uuid(c.client_id), c.platform, c.value, c.value_hash, c.client_time)
            for c in candidates
        ],
        opened_version=conflict.opened_version,
    )
