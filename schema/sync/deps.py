"""The process's sync services for a resolver."""

from __future__ import annotations

from schema.context import Info
from sync.deps import SyncDeps


def sync_deps(info: Info) -> SyncDeps:
    deps = info.context.sync
    if deps is None:  # a process built without sync: a wiring error, masked and logged as unexpected
        raise RuntimeError("this process was built without draft sync")
    return deps
