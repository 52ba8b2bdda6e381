"""A draft's field map as the application's form data (sync-protocol.md §10, §12): '/'-joined paths become the
nested object the item version's JSON Schema validates, and `flatten` gives back exactly the draft's map, so the
application holds the same canonical bytes and content hash the user confirmed (S14, I5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_FILE_KEYS = frozenset({"blobSha256", "name", "size", "mime"})


class AmbiguousMap(ValueError):
    """A path holds a value and also has fields under it: no nested object can carry both."""


def nested(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in sorted(values):
        value = values[path]
        if value is None:
            continue
        *parents, leaf = path.split("/")
        node = out
        for segment in parents:
            child = node.setdefault(segment, {})
            if not isinstance(child, dict) or child.keys() == _FILE_KEYS:
                raise AmbiguousMap(path)
            node = child
        if leaf in node:
            raise AmbiguousMap(path)
        node[leaf] = value
    return out


def _is_leaf(value: Any) -> bool:
    # A file reference is one value, not a group of fields.
    return not isinstance(value, dict) or not value or value.keys() == _FILE_KEYS


def flatten(form: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in form.items():
        path = f"{prefix}{key}"
        if _is_leaf(value):
            out[path] = value
        else:
            out.update(flatten(value, path + "/"))
    return out
