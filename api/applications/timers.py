"""The `timer_state` sub-state (domain.md §7.3), set by supervision's deadline scan through this call only.

The timer is not a timeline event: setting it neither bumps `last_seq` nor writes an outbox row, so a handler
acting on the case at the same moment never gets a Conflict because of the scan. The guards keep a stale scan
from marking a case that finished or paused in between: the next scan sets it right.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from tortoise.backends.base.client import BaseDBAsyncClient

from api.applications import transitions
from api.models import Application, TimerState

OPEN = sorted(transitions.NON_TERMINAL)


async def set_timer_state(ids: Sequence[uuid.UUID], state: TimerState, db: BaseDBAsyncClient | None = None) -> int:
    """Set `state` on the open cases among `ids` in one statement; returns how many rows changed."""
    if not ids:
        return 0
    query = Application.filter(id__in=list(ids), status__in=OPEN).exclude(timer_state=state)
    # PAUSED belongs to paused cases only, a running level to running ones.
    query = query.filter(paused_since__isnull=state is not TimerState.PAUSED)
    return int(await query.using_db(db).update(timer_state=state))
