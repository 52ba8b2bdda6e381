"""Scheduled jobs of applications, run by arq (api/worker.py); each is idempotent (at-least-once delivery)."""

from __future__ import annotations

import logging
from typing import Any

from api.applications import supplements
from api.kit.clock import Clock, SystemClock

log = logging.getLogger("zsb.applications")


async def expire_supplements(ctx: dict[str, Any]) -> int:
    """补正 rounds past their deadline complete their cases with result 5 退件 (D12)."""
    clock: Clock = ctx.get("clock") or SystemClock()
    total = 0
    while True:
        done = await supplements.expire_overdue(clock.now())
        total += done
        if done == 0:
            break
    log.info("expired supplement rounds", extra={"returned": total})
    return total
