"""Reopening a draft for correction (sync-protocol.md §10): an application returned at pre-review (预审退回,
outbox topic `application.precheck_returned`) puts its draft back in the person's hands as CORRECTION with a new
version, under the space serialization, so every device pulls it; the next SUBMIT resubmits into the same
application.

The handler runs outside the relay's transaction: the space serialization holds a per-space lock across its own
write transaction, and taking that lock inside another open transaction could wait on it forever on SQLite. It
is idempotent on its own terms: only a draft still SUBMITTED into an application that is still PRECHECK_RETURNED
reopens, so a second delivery changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from api.kit.ids import parse_uuid
from api.kit.redis import Redis
from api.models import Application, ApplicationStatus, OutboxEvent
from api.models.sync import Draft, DraftStatus, SyncSpace
from api.outbox import runner
from api.outbox.relay import Handler
from sync import poke
from sync.spaces import serialized

log = logging.getLogger("zsb.sync")

CONSUMER = "sync_corrections"
TOPICS = ("application.precheck_returned",)


async def reopen(application_id: object, redis: Redis | None) -> int | None:
    """The space version at which the draft reopened, or None when there is nothing to reopen."""
    app_id = parse_uuid(application_id)
    app = None if app_id is None else await Application.get_or_none(id=app_id)
    if app is None or app.draft_id is None or app.status is not ApplicationStatus.PRECHECK_RETURNED:
        return None
    found = await Draft.get_or_none(id=app.draft_id)
    if found is None:
        return None
    async with serialized(found.space_id) as space:
        draft = await Draft.select_for_update().get(id=found.id)
        if draft.status is not DraftStatus.SUBMITTED or draft.application_id != app.id:
            return None
        version: int = space.version + 1
        draft.status = DraftStatus.CORRECTION
        draft.version = version
        await draft.save(update_fields=["status", "version", "updated_at"])
        await SyncSpace.filter(space_id=found.space_id).update(version=version)
    if redis is not None:
        await poke.publish(redis, found.space_id, version)
    return version


def handler(redis: Redis | None) -> Handler:
    async def handle(event: OutboxEvent) -> None:
        await reopen(event.payload.get("applicationId"), redis)

    return handle


async def relay_corrections(ctx: dict[str, Any]) -> int:
    """arq job: reopen the drafts of applications returned at pre-review; returns how many events were handled."""
    return await runner.relay_job(ctx, CONSUMER, TOPICS, handler(ctx.get("redis")), outside_transaction=TOPICS)
