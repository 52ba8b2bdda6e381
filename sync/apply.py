"""The mutation types of sync-protocol.md §8.3 except SUBMIT (sync/submit.py). Each raises `Rejected` for a
permanent error, `FormVersionUnknown` for an unknown template, and otherwise says what changed."""

from __future__ import annotations

import uuid
from datetime import timedelta

from api.models.sync import ConflictStatus, Draft, DraftConflict, DraftFieldHistory, DraftStatus, SyncMutationStatus
from sync import quarantine, template_registry
from sync.apply_context import Applied, MutationContext, own_draft, rejected_if_not_editable
from sync.apply_fields import FieldsOutcome, checked_ops, run_ops
from sync.contract import SyncErrorCode, SyncMutationType
from sync.merge import EMPTY_MAP_HASH, FieldOp, map_hash
from sync.push_checks import parse_version
from sync.push_errors import Rejected, not_owner
from sync.templates import FormTemplate

RESTORABLE_FOR = timedelta(days=30)  # decision 4


async def apply(ctx: MutationContext) -> Applied:
    from sync import submit  # submit reaches into the applications service; only SUBMIT pays for the import

    kind = ctx.mutation.type
    if kind is SyncMutationType.CREATE_DRAFT:
        return await create_draft(ctx)
    if kind is SyncMutationType.EDIT:
        return await edit(ctx, await own_draft(ctx))
    if kind is SyncMutationType.RESOLVE_CONFLICT:
        return await resolve_conflict(ctx)
    if kind is SyncMutationType.DELETE_DRAFT:
        return await delete_draft(ctx)
    if kind is SyncMutationType.RESTORE_DRAFT:
        return await restore_draft(ctx)
    return await submit.submit(ctx)


def _status(outcome: FieldsOutcome, *, resolved: bool = False) -> SyncMutationStatus:
    if outcome.conflicted:
        return SyncMutationStatus.APPLIED_WITH_CONFLICTS
    if outcome.applied or resolved:
        return SyncMutationStatus.APPLIED
    return SyncMutationStatus.NOOP


async def _touch(ctx: MutationContext, draft: Draft, outcome: FieldsOutcome | None = None) -> None:
    """The draft takes version v; its content hash follows its field map."""
    draft.version = ctx.version
    if outcome is not None:
        draft.content_hash = map_hash(outcome.values)
    await draft.save(
        update_fields=[
            "version",
            "content_hash",
            "status",
            "status_before_delete",
            "deleted_at",
            "restorable_until",
            "updated_at",
        ]
    )


async def create_draft(ctx: MutationContext) -> Applied:
    m = ctx.mutation
    draft_id = uuid.UUID(m.draft_id)
    existing = await Draft.select_for_update().get_or_none(id=draft_id)
    if existing is not None:
        if existing.space_id != ctx.space_id:
            raise not_owner()
        if not m.ops:  # idempotent by draftId
            return Applied(SyncMutationStatus.NOOP, changed=False, draft_version=existing.version)
        return await edit(ctx, existing)
    template = await template_registry.require(m.service_code or "", m.form_version)
    draft = Draft(
        id=draft_id,
        space_id=ctx.space_id,
        service_code=template.service_code,
        form_version=template.version,
        status=DraftStatus.EDITING,
        version=ctx.version,
        created_version=ctx.version,
        content_hash=EMPTY_MAP_HASH,
    )
    ops = await checked_ops(ctx, draft, template)
    await draft.save(force_create=True)
    outcome = await run_ops(ctx, draft, template, ops)
    await _touch(ctx, draft, outcome)
    return Applied(
        SyncMutationStatus.APPLIED_WITH_CONFLICTS if outcome.conflicted else SyncMutationStatus.APPLIED,
        changed=True,
        draft_version=draft.version,
        conflicts=outcome.conflicts or None,
    )


async def _prepared(ctx: MutationContext, draft: Draft) -> tuple[FormTemplate, list[FieldOp]]:
    rejected_if_not_editable(draft)
    template = await template_registry.require(draft.service_code, draft.form_version)
    return template, await checked_ops(ctx, draft, template)


async def edit(ctx: MutationContext, draft: Draft) -> Applied:
    template, ops = await _prepared(ctx, draft)
    outcome = await run_ops(ctx, draft, template, ops)
    changed = outcome.applied or outcome.conflicted
    if changed:
        await _touch(ctx, draft, outcome)
    return Applied(_status(outcome), changed, draft.version, conflicts=outcome.conflicts or None)


async def resolve_conflict(ctx: MutationContext) -> Applied:
    draft = await own_draft(ctx)
    rejected_if_not_editable(draft)
    conflict = await _conflict_of(ctx, draft)
    template, ops = await _prepared(ctx, draft)
    outside = [op.path for op in ops if op.path != conflict.path and not op.path.startswith(conflict.path + "/")]
    if outside:
        raise Rejected(
            SyncErrorCode.UNKNOWN_PATH, f"ops must be under the conflict's path {conflict.path!r}", paths=outside
        )
    outcome = await run_ops(ctx, draft, template, ops)
    resolved = conflict.status is ConflictStatus.OPEN and not outcome.conflicted
    if resolved:
        conflict.status = ConflictStatus.RESOLVED
        conflict.resolved_version = ctx.version
        await conflict.save(update_fields=["status", "resolved_version"])
    changed = outcome.applied or outcome.conflicted or resolved
    if changed:
        await _touch(ctx, draft, outcome)
    return Applied(_status(outcome, resolved=resolved), changed, draft.version, conflicts=outcome.conflicts or None)


async def _conflict_of(ctx: MutationContext, draft: Draft) -> DraftConflict:
    try:
        conflict_id = uuid.UUID(ctx.mutation.conflict_id or "")
    except ValueError:
        raise not_owner() from None
    conflict = await DraftConflict.get_or_none(id=conflict_id, draft_id=draft.id)
    if conflict is None:
        raise not_owner()
    return conflict


async def delete_draft(ctx: MutationContext) -> Applied:
    draft = await own_draft(ctx)
    if draft.status is DraftStatus.DELETED:
        return Applied(SyncMutationStatus.NOOP, changed=False, draft_version=draft.version)
    if draft.status is DraftStatus.SUBMITTED:
        rejected_if_not_editable(draft)
    base = parse_version(ctx.mutation.base_draft_version) or 0
    unseen = DraftFieldHistory.filter(draft_id=draft.id, version__gt=base).exclude(client_id=ctx.client_id)
    if await unseen.exists():
        raise Rejected(
            SyncErrorCode.DELETE_CONFLICT, "the draft changed on another device since you last synced; pull first"
        )
    draft.status_before_delete = draft.status
    draft.status = DraftStatus.DELETED
    draft.deleted_at = ctx.now
    draft.restorable_until = ctx.now + RESTORABLE_FOR
    await _touch(ctx, draft)
    return Applied(SyncMutationStatus.APPLIED, changed=True, draft_version=draft.version)


async def restore_draft(ctx: MutationContext) -> Applied:
    draft = await own_draft(ctx)
    if draft.status is not DraftStatus.DELETED:
        return Applied(SyncMutationStatus.NOOP, changed=False, draft_version=draft.version)
    if draft.restorable_until is not None and draft.restorable_until <= ctx.now:
        raise Rejected(SyncErrorCode.DRAFT_DELETED, "this draft can no longer be restored")
    draft.status = draft.status_before_delete or DraftStatus.EDITING
    draft.status_before_delete = None  # type: ignore[assignment]  # the column is nullable; the stub is not
    draft.deleted_at = None
    draft.restorable_until = None
    await _touch(ctx, draft)
    return Applied(
        SyncMutationStatus.APPLIED,
        changed=True,
        draft_version=draft.version,
        reoffered_ops=await quarantine.entries(ctx.space_id, draft.id),
    )
