"""The outbox consumer "notifications" (§C5): each consumed event → one request per recipient, inserted in the
relay's receipt transaction. The receipt makes a re-run skip the event; should a run die after inserting and
before its receipt committed, both roll back together, and the dedup key absorbs any replay (N17)."""

from __future__ import annotations

import logging
import uuid

from api.models import OutboxEvent
from api.models.notifications import NoticeKind
from api.outbox.relay import run_relay
from api.outbox.runner import exclusively
from notifications import templates, topics
from notifications.deps import TX_QUEUE, NotificationsDeps
from notifications.queue import enqueue
from notifications.requests import NewRequest, insert_requests, transactional_dedup_key

log = logging.getLogger("zsb.notifications.relay")

CONSUMER = "notifications"
PLAN_BATCH = 100


async def relay_outbox(deps: NotificationsDeps) -> int:
    """Handle the pending consumed events; returns how many were handled. Plans are enqueued after the run,
    once every request it inserted has committed."""
    inserted: list[uuid.UUID] = []

    async def handle(event: OutboxEvent) -> None:
        inserted.extend(await requests_for_event(deps, event))

    async def run() -> int:
        return await run_relay(CONSUMER, topics.CONSUMED_TOPICS, handle, now=deps.clock.now())

    handled = await exclusively(deps.redis, CONSUMER, run)
    ids = [str(i) for i in dict.fromkeys(inserted)]
    for start in range(0, len(ids), PLAN_BATCH):
        await enqueue(deps, "plan_request", TX_QUEUE, ids[start : start + PLAN_BATCH])
    return handled


async def requests_for_event(deps: NotificationsDeps, event: OutboxEvent) -> list[uuid.UUID]:
    notices = await topics.route_event(event.topic, event.key, event.state_version, event.payload)
    rows: list[NewRequest] = []
    for notice in notices:
        user = notice.recipient_user_id
        template = await templates.current_template(notice.template_code)
        if template is None:
            # Retrying cannot create the template: log it and let the consumer move on.
            log.error("no template for a consumed topic", extra={"topic": event.topic, "code": notice.template_code})
            continue
        rows.append(
            NewRequest(
                kind=NoticeKind.TRANSACTIONAL,
                category=template.category,
                topic=event.topic,
                key=event.key,
                state_version=event.state_version,
                recipient_user_id=user,
                template_code=template.code,
                template_version=template.version,
                params=notice.params,
                dedup_key=transactional_dedup_key(
                    event.topic, event.key, event.state_version, notice.recipient_user_id
                ),
                expires_at=notice.expires_at,
                locale=template.locale,
            )
        )
    return list((await insert_requests(rows, now=deps.clock.now())).values())
