"""The quarantine of sync-protocol.md §8.2 (P5, P7): a permanently rejected mutation that carries ops is kept in
the caller's space where the person sees it (`quarantinedOps`, the pulled count, RESTORE_DRAFT's reofferedOps)."""

from __future__ import annotations

import uuid
from typing import Any

from api.models.sync import Draft, SyncQuarantine
from sync.apply_context import MutationContext, plain_uuid
from sync.contract import MutationIn, QuarantinedOpView, SyncErrorCode, SyncMutationType
from sync.push_errors import Rejected

MAX_MESSAGE = 500
# SUBMIT, DELETE_DRAFT and RESTORE_DRAFT carry no ops: their rejection is the whole story, nothing to set aside.
OPS_TYPES = frozenset({SyncMutationType.CREATE_DRAFT, SyncMutationType.EDIT, SyncMutationType.RESOLVE_CONFLICT})


def raw_of(m: MutationIn) -> dict[str, Any]:
    """The SyncMutationInput as the client sent it; rebuilt from the parsed input when the caller kept no copy."""
    if m.raw:
        return m.raw
    out: dict[str, Any] = {"id": m.id, "draftId": m.draft_id, "type": m.type.value, "formVersion": m.form_version}
    optional = {
        "clientTime": None if m.client_time is None else m.client_time.isoformat(),
        "serviceCode": m.service_code,
        "baseDraftVersion": m.base_draft_version,
        "conflictId": m.conflict_id,
        "expectedContentHash": m.expected_content_hash,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    if m.ops is not None:
        out["ops"] = [
            {
                "path": op.path,
                "kind": op.kind,
                "baseHash": op.base_hash,
                **({"value": op.value} if op.value_given else {}),
                **({"baseVersion": op.base_version} if op.base_version is not None else {}),
            }
            for op in m.ops
        ]
    return out


async def set_aside(ctx: MutationContext, rejection: Rejected) -> bool:
    """Quarantine the mutation if it carries ops. True when its draft is in the space and took version v, so the
    pulled quarantine count changes."""
    m = ctx.mutation
    if m.type not in OPS_TYPES or not m.ops:
        return False
    try:
        draft_id = uuid.UUID(m.draft_id)
    except ValueError:  # pragma: no cover - the request checks refuse a non-UUID draftId
        return False
    await SyncQuarantine.create(
        id=uuid.uuid4(),
        space_id=ctx.space_id,
        client_id=ctx.client_id,
        mutation_id=m.id,
        draft_id=draft_id,
        payload=raw_of(m),
        reason=rejection.code.value,
        message=rejection.message[:MAX_MESSAGE],
        created_at=ctx.now,
    )
    return await Draft.filter(id=draft_id, space_id=ctx.space_id).update(version=ctx.version) > 0


def view(row: SyncQuarantine) -> QuarantinedOpView:
    return QuarantinedOpView(
        id=plain_uuid(row.id),
        client_id=plain_uuid(row.client_id),
        mutation_id=row.mutation_id,
        draft_id=plain_uuid(row.draft_id),
        reason=SyncErrorCode(row.reason),
        message=row.message,
        mutation=row.payload,
        created_at=row.created_at,
    )


async def entries(space_id: str, draft_id: uuid.UUID) -> list[QuarantinedOpView]:
    """The draft's unacknowledged entries, oldest first: what RESTORE_DRAFT re-offers."""
    rows = await SyncQuarantine.filter(space_id=space_id, draft_id=draft_id).order_by("created_at", "mutation_id")
    return [view(row) for row in rows]
