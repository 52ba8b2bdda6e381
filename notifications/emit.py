"""`emit()`: a producer's direct way in (§C5), inside its own transaction when it passes the connection, and the
body of the `emitNotificationEvent` mutation. A repeated event returns the id of the request it made first."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from api.models.notifications import NoticeKind
from notifications import templates, topics
from notifications.deps import TX_QUEUE, NotificationsDeps
from notifications.errors import NotificationsError, NotificationsErrorCode
from notifications.queue import enqueue
from notifications.requests import NewRequest, insert_requests, transactional_dedup_key

MAX_KEY = 128
MAX_PARAMS = 50


async def emit(
    deps: NotificationsDeps,
    *,
    topic: str,
    key: str,
    state_version: int,
    recipient_user_id: uuid.UUID,
    params: Mapping[str, object],
    expires_at: datetime | None = None,
    db: BaseDBAsyncClient | None = None,
) -> uuid.UUID:
    """The request id for the event (the existing one for a repeat). With `db`, the request commits with the
    caller's transaction and the scheduler plans it (a missed enqueue is picked up within 10 s)."""
    _check(key, state_version, params)
    code = topics.template_for_topic(topic)
    template = await templates.current_template(code)
    if template is None:
        raise NotificationsError(NotificationsErrorCode.NOT_FOUND, f"no template {code} for {topic}", path=["topic"])
    dedup_key = transactional_dedup_key(topic, key, state_version, recipient_user_id)
    row = NewRequest(
        kind=NoticeKind.TRANSACTIONAL,
        category=template.category,
        topic=topic,
        key=key,
        state_version=state_version,
        recipient_user_id=recipient_user_id,
        template_code=template.code,
        template_version=template.version,
        params={str(k): v for k, v in params.items()},
        dedup_key=dedup_key,
        expires_at=expires_at,
        locale=template.locale,
    )
    request_id = (await insert_requests([row], now=deps.clock.now(), db=db))[dedup_key]
    if db is None:
        await enqueue(deps, "plan_request", TX_QUEUE, str(request_id))
    return request_id


def _check(key: str, state_version: int, params: Mapping[str, object]) -> None:
    if not key or len(key) > MAX_KEY:
        raise NotificationsError(
            NotificationsErrorCode.INVALID_INPUT, f"key must be 1–{MAX_KEY} characters", path=["key"]
        )
    if state_version < 0:
        raise NotificationsError(
            NotificationsErrorCode.INVALID_INPUT, "stateVersion must not be negative", path=["stateVersion"]
        )
    if len(params) > MAX_PARAMS or not all(
        isinstance(v, str | int | float | bool) or v is None for v in params.values()
    ):
        raise NotificationsError(
            NotificationsErrorCode.INVALID_INPUT,
            f"params is an object of at most {MAX_PARAMS} scalar values",
            path=["params"],
        )
