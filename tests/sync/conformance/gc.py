"""Running the sync GC "later" without moving the shared test clock: the GC gets a clock stopped at a chosen
moment (§14.2: time moves through the injectable clock)."""

from __future__ import annotations

from datetime import datetime

from sync import gc
from sync.uploads import Storage, expire_uploads
from tests.support.client import LiveServer


class StoppedClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


async def expire_uploads_at(live: LiveServer, moment: datetime) -> int:
    return await expire_uploads(Storage(live.settings.var_dir, StoppedClock(moment)))


async def collect_garbage(live: LiveServer, moment: datetime) -> gc.GcReport:
    """The sync GC as its cron runs it, at `moment`: tombstones past restorable_until purged and
    min_valid_version raised (decision 4, §9), old results, quarantine entries and unreferenced blobs dropped."""
    return await gc.collect(live.app.state.services.sync.upload_root, moment)
