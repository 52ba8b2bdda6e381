"""Moving a draft's field map from one form version to another (sync-protocol.md §12, retiring a version).

Pure, so the service runs it under the space serialization and writes what it returns: renamed paths get their
values at the new path, and values of paths the new form no longer has go to one quarantine entry
(`UNKNOWN_PATH`) instead of being wiped (P10).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sync.templates import FormTemplate, translate


@dataclass(frozen=True)
class Migration:
    values: dict[str, Any]  # the non-null field map under the target form
    moved: dict[str, str]  # old path → new path, for the paths that changed name
    orphaned: dict[str, Any]  # old path → value: no field of the target form, to quarantine

    @property
    def changed(self) -> bool:
        return bool(self.moved or self.orphaned)


def migrate(values: Mapping[str, Any], source: FormTemplate, target: FormTemplate) -> Migration:
    """Translate every non-null field. Two old paths landing on one new path keep the value of the path that was
    already there (or the first in path order); the other is orphaned, never silently dropped."""
    kept: dict[str, Any] = {}
    moved: dict[str, str] = {}
    orphaned: dict[str, Any] = {}
    # Unrenamed paths first, so a path that already exists under the new form keeps its value on a collision.
    targets = {path: translate(path, source, target) for path, value in values.items() if value is not None}
    for path in sorted(targets, key=lambda p: (targets[p] != p, p)):
        new = targets[path]
        if new is None or new in kept:
            orphaned[path] = values[path]
            continue
        kept[new] = values[path]
        if new != path:
            moved[path] = new
    return Migration(kept, moved, orphaned)
