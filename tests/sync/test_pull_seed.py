"""Sync rows written straight through the models, as a push would leave them (one space version per write), so
the pull, the reads and the GC can be tested while the push service is written elsewhere. Helpers only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from api.identity.tokens import AccessClaims
from api.models.sync import (
    ConflictStatus,
    Draft,
    DraftBlobRef,
    DraftConflict,
    DraftConflictCandidate,
    DraftField,
    DraftFieldHistory,
    DraftStatus,
    Platform,
    SyncClient,
    SyncQuarantine,
    SyncSpace,
)
from sync.deps import SyncDeps
from sync.merge import map_hash, value_hash
from tests.support.client import LiveServer

WRITER = uuid.UUID("00000000-0000-4000-8000-000000000001")


def stored(value: Any) -> Any:
    """What a JSONField is given in an UPDATE: tortoise takes a str as JSON text, so every value goes in encoded
    (a model instance would decode it again on construction, so rows are created first and valued by UPDATE)."""
    return None if value is None else orjson.dumps(value).decode()


def deps_of(live: LiveServer) -> SyncDeps:
    deps: SyncDeps = live.app.state.services.sync
    return deps


@dataclass(frozen=True)
class Space:
    person_id: uuid.UUID

    @property
    def space_id(self) -> str:
        return f"P:{self.person_id}"

    @property
    def claims(self) -> AccessClaims:
        return AccessClaims(
            subject=self.person_id,
            kind="citizen",
            family_id=uuid.uuid4(),
            level=2,
            expires_at=datetime.max.replace(tzinfo=UTC),
        )


def new_space() -> Space:
    """A fresh person: a space no other test touches."""
    return Space(uuid.uuid4())


async def space_row(space: Space) -> SyncSpace:
    return await SyncSpace.get(space_id=space.space_id)


async def _next_version(space_id: str) -> int:
    await SyncSpace.bulk_create([SyncSpace(space_id=space_id, epoch=uuid.uuid4())], ignore_conflicts=True)
    await SyncSpace.filter(space_id=space_id).update(version=F("version") + 1)
    version: int = (await SyncSpace.get(space_id=space_id)).version
    return version


async def add_client(space: Space, last_mutation_id: int = 0, client_id: uuid.UUID | None = None) -> uuid.UUID:
    client_id = client_id or uuid.uuid4()
    await SyncClient.create(
        client_id=client_id,
        space_id=space.space_id,
        platform=Platform.APP_IOS,
        last_mutation_id=last_mutation_id,
        last_seen_at=datetime.now(UTC),
    )
    return client_id


async def write(
    space: Space, draft_id: uuid.UUID | None = None, values: dict[str, Any] | None = None, **draft: Any
) -> uuid.UUID:
    """One commit: creates the draft if new, writes `values` (None clears a field) and any draft attributes, all
    at the next space version, with history rows for the field writes."""
    async with in_transaction():
        version = await _next_version(space.space_id)
        draft_id = draft_id or uuid.uuid4()
        row = await Draft.get_or_none(id=draft_id)
        if row is None:
            row = await Draft.create(
                id=draft_id,
                space_id=space.space_id,
                service_code="S1",
                form_version="v1",
                version=version,
                created_version=version,
                content_hash=map_hash({}),
            )
        now = datetime.now(UTC)
        for path, value in (values or {}).items():
            field, _ = await DraftField.update_or_create(
                draft_id=draft_id,
                path=path,
                defaults={
                    "value": None,
                    "value_hash": value_hash(value),
                    "version": version,
                    "writer_client_id": WRITER,
                    "writer_mutation_id": version,
                },
            )
            await DraftField.filter(id=field.id).update(value=stored(value))
            entry = await DraftFieldHistory.create(
                draft_id=draft_id,
                path=path,
                value_hash=value_hash(value),
                version=version,
                client_id=WRITER,
                mutation_id=version,
                at=now,
            )
            await DraftFieldHistory.filter(id=entry.id).update(value=stored(value))
        current = dict(await DraftField.filter(draft_id=draft_id).values_list("path", "value"))
        row.version = version
        row.content_hash = map_hash(current)
        for name, value in draft.items():
            setattr(row, name, value)
        await row.save()
    return draft_id


async def bump(space: Space, draft_id: uuid.UUID) -> int:
    """A change a pull returns that is no field write (status, conflict, attachment, quarantine)."""
    version = await _next_version(space.space_id)
    await Draft.filter(id=draft_id).update(version=version)
    return version


async def delete(space: Space, draft_id: uuid.UUID, deleted_at: datetime) -> None:
    await write(
        space,
        draft_id,
        status=DraftStatus.DELETED,
        status_before_delete=DraftStatus.EDITING,
        deleted_at=deleted_at,
        restorable_until=deleted_at + timedelta(days=30),
    )


async def open_conflict(
    space: Space, draft_id: uuid.UUID, path: str, candidates: list[Any], client_id: uuid.UUID | None = None
) -> uuid.UUID:
    version = await bump(space, draft_id)
    conflict = await DraftConflict.create(
        id=uuid.uuid4(), draft_id=draft_id, path=path, status=ConflictStatus.OPEN, opened_version=version
    )
    for n, value in enumerate(candidates, start=1):
        candidate = await DraftConflictCandidate.create(
            conflict_id=conflict.id,
            client_id=client_id or WRITER,
            platform=Platform.WECHAT_MP,
            mutation_id=n,
            value_hash=value_hash(value),
        )
        await DraftConflictCandidate.filter(id=candidate.id).update(value=stored(value))
    return conflict.id


async def quarantine(
    space: Space, draft_id: uuid.UUID, mutation_id: int, client_id: uuid.UUID = WRITER, **payload: Any
) -> uuid.UUID:
    entry = await SyncQuarantine.create(
        id=uuid.uuid4(),
        space_id=space.space_id,
        client_id=client_id,
        mutation_id=mutation_id,
        draft_id=draft_id,
        payload={"id": mutation_id, "draftId": str(draft_id), "type": "EDIT", **payload},
        reason="DRAFT_DELETED",
        message="the draft is deleted",
    )
    await bump(space, draft_id)
    return entry.id


async def reference_blob(draft_id: uuid.UUID, path: str, sha256: str) -> None:
    await DraftBlobRef.create(draft_id=draft_id, path=path, sha256=sha256)
