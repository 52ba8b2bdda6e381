"""Stored mutation results (sync-protocol.md §8.2 step 2, P1): the MutationResultView as first answered, kept as
JSON in `sync_mutation_result.result` and served back with `replayed = true` on a resend."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from api.models.sync import Platform, SyncMutationStatus
from sync.contract import (
    ConflictCandidateView,
    FieldConflictView,
    MutationResultView,
    QuarantinedOpView,
    SyncErrorCode,
    SyncErrorView,
)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(raw: Any) -> datetime | None:
    return None if raw is None else datetime.fromisoformat(raw)


def _uuid(raw: Any) -> uuid.UUID | None:
    return None if raw is None else uuid.UUID(raw)


def conflict_json(view: FieldConflictView) -> dict[str, Any]:
    return {
        "id": str(view.id),
        "path": view.path,
        "serverValue": view.server_value,
        "serverHash": view.server_hash,
        "openedVersion": view.opened_version,
        "candidates": [
            {
                "clientId": str(c.client_id),
                "platform": None if c.platform is None else c.platform.value,
                "value": c.value,
                "valueHash": c.value_hash,
                "clientTime": _time(c.client_time),
            }
            for c in view.candidates
        ],
    }


def _conflict(raw: dict[str, Any]) -> FieldConflictView:
    return FieldConflictView(
        id=uuid.UUID(raw["id"]),
        path=raw["path"],
        server_value=raw["serverValue"],
        server_hash=raw["serverHash"],
        opened_version=int(raw["openedVersion"]),
        candidates=[
            ConflictCandidateView(
                client_id=uuid.UUID(c["clientId"]),
                platform=None if c["platform"] is None else Platform(c["platform"]),
                value=c["value"],
                value_hash=c["valueHash"],
                client_time=_parse_time(c["clientTime"]),
            )
            for c in raw["candidates"]
        ],
    )


def quarantined_json(view: QuarantinedOpView) -> dict[str, Any]:
    return {
        "id": str(view.id),
        "clientId": str(view.client_id),
        "mutationId": view.mutation_id,
        "draftId": str(view.draft_id),
        "reason": view.reason.value,
        "message": view.message,
        "mutation": view.mutation,
        "createdAt": _time(view.created_at),
    }


def _quarantined(raw: dict[str, Any]) -> QuarantinedOpView:
    created = _parse_time(raw["createdAt"])
    assert created is not None
    return QuarantinedOpView(
        id=uuid.UUID(raw["id"]),
        client_id=uuid.UUID(raw["clientId"]),
        mutation_id=int(raw["mutationId"]),
        draft_id=uuid.UUID(raw["draftId"]),
        reason=SyncErrorCode(raw["reason"]),
        message=raw["message"],
        mutation=raw["mutation"],
        created_at=created,
    )


def to_json(view: MutationResultView) -> dict[str, Any]:
    error = view.error
    return {
        "id": view.id,
        "status": view.status.value,
        "draftVersion": view.draft_version,
        "applicationId": None if view.application_id is None else str(view.application_id),
        "conflicts": None if view.conflicts is None else [conflict_json(c) for c in view.conflicts],
        "reofferedOps": None if view.reoffered_ops is None else [quarantined_json(q) for q in view.reoffered_ops],
        "error": None
        if error is None
        else {"code": error.code.value, "message": error.message, "retryable": error.retryable, "paths": error.paths},
    }


def from_json(raw: dict[str, Any]) -> MutationResultView:
    """The stored result as a replay answers it."""
    error = raw.get("error")
    conflicts = raw.get("conflicts")
    reoffered = raw.get("reofferedOps")
    return MutationResultView(
        id=int(raw["id"]),
        status=SyncMutationStatus(raw["status"]),
        replayed=True,
        draft_version=None if raw.get("draftVersion") is None else int(raw["draftVersion"]),
        application_id=_uuid(raw.get("applicationId")),
        conflicts=None if conflicts is None else [_conflict(c) for c in conflicts],
        reoffered_ops=None if reoffered is None else [_quarantined(q) for q in reoffered],
        error=None
        if error is None
        else SyncErrorView(SyncErrorCode(error["code"]), error["message"], bool(error["retryable"]), error["paths"]),
    )


def forgotten(mutation_id: int) -> MutationResultView:
    """A processed mutation whose stored result was acknowledged or expired: nothing to show but that it was."""
    return MutationResultView(id=mutation_id, status=SyncMutationStatus.NOOP, replayed=True)
