"""The worker job of supervision: the deadline scan (红黄牌), every five minutes."""

from __future__ import annotations

from typing import Any

from api.kit.clock import Clock, SystemClock
from api.settings import active
from api.supervision.scan import scan


def _batch_size() -> int:
    return active().supervision.scan_batch_size


async def scan_deadlines(ctx: dict[str, Any]) -> dict[str, dict[str, int]]:
    clock: Clock = ctx.get("clock") or SystemClock()
    report = await scan(clock.now(), _batch_size())
    return {"raised": report.raised, "timers": report.timers}
