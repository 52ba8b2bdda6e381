"""The notifications arq functions (§C1). `ctx["notifications"]` is the process's NotificationsDeps; jobs carry
ids only and keep no result (arq #432: a job id cannot be reused while its result is kept)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

import arq.worker

from notifications import campaign_runs, relay, scheduler, sender
from notifications import plan as planning
from notifications.deps import NotificationsDeps


def _deps(ctx: dict[str, Any]) -> NotificationsDeps:
    deps: NotificationsDeps = ctx["notifications"]
    return deps


async def relay_outbox(ctx: dict[str, Any]) -> int:
    return await relay.relay_outbox(_deps(ctx))


async def plan_request(ctx: dict[str, Any], request_ids: str | list[str]) -> int:
    """One request id, or a list of them (the relay, the reconciler and campaign launches batch them)."""
    ids = [request_ids] if isinstance(request_ids, str) else list(request_ids)
    return await planning.plan_requests(_deps(ctx), ids)


async def send_batch(ctx: dict[str, Any], delivery_ids: list[str]) -> int:
    return await sender.send_batch(_deps(ctx), delivery_ids)


async def materialize_campaign(ctx: dict[str, Any], campaign_id: str) -> int:
    return await campaign_runs.materialize_campaign(_deps(ctx), uuid.UUID(str(campaign_id)))


async def notifications_tick(ctx: dict[str, Any]) -> dict[str, int]:
    return asdict(await scheduler.tick(_deps(ctx)))


FUNCTIONS: list[arq.worker.Function] = [
    arq.worker.func(job, keep_result=0)
    for job in (relay_outbox, plan_request, send_batch, materialize_campaign, notifications_tick)
]
