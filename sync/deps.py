"""What the sync service needs from the process, built once by the lifespan (and by the worker)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from api.kit.clock import Clock
from api.kit.pii import PiiCipher
from api.kit.redis import Redis

# Test settings only (sync-protocol.md §14.2): awaited before each mutation of a push with its id; raising a
# database error there is how S20 makes the database fail mid-batch.
FaultHook = Callable[[int], Awaitable[None]]


@dataclass
class SyncDeps:
    clock: Clock
    redis: Redis
    pii: PiiCipher
    cursor_key: bytes
    upload_root: Path
    min_protocol_version: int = 1
    max_protocol_version: int = 1
    fault_hook: FaultHook | None = None
