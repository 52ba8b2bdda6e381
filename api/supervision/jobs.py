"""The worker job of supervision: the deadline scan (红黄牌), every five minutes."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from api.kit.clock import Clock, SystemClock
from api.settings import Settings
from api.supervision.scan import scan


@lru_cache(maxsize=1)
def _batch_size() -> int:
    # Read once per process, lazily: nothing reads settings at import time.
    return Settings().supervision.scan_batch_size


async def scan_deadlines(ctx: dict[str, Any]) -> dict[str, dict[str, int]]:
    clock: Clock = ctx.get("clock") or SystemClock()
    report = await scan(clock.now(), _batch_size())
    return {"raised": report.raised, "timers": report.timers}
