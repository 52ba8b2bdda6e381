"""Values, hashes and the per-field rule of sync-protocol.md §5 and §8.4, free of I/O so that a client, the
service and the model test can all run the same decision.

Every hash of the package goes through `value_hash`, so that an SM3 option (国密) later changes one function.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import rfc8785

MAX_PATH_LENGTH = 256
MAX_VALUE_BYTES = 64 * 1024
MAX_SAFE_INTEGER = 2**53 - 1
ORDER_SEGMENT = "_order"
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_HASH = re.compile(r"[0-9a-f]{64}")
_FILE_KEYS = frozenset({"blobSha256", "name", "size", "mime"})


class FieldOpKind(StrEnum):
    SET = "SET"
    UNSET = "UNSET"
    REMOVE_ITEM = "REMOVE_ITEM"


class FieldPolicy(StrEnum):
    MANUAL = "MANUAL"
    LWW_SERVER_ORDER = "LWW_SERVER_ORDER"


class Outcome(StrEnum):
    NOOP = "NOOP"
    APPLY = "APPLY"
    CONFLICT = "CONFLICT"


class InvalidValue(ValueError):
    """A value the protocol cannot carry. `too_large` tells VALUE_TOO_LARGE from VALIDATION_FAILED."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def canonical(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes: what JS and Python clients hash identically."""
    return rfc8785.dumps(value)


def value_hash(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


NULL_HASH = value_hash(None)
EMPTY_MAP_HASH = value_hash({})


def map_hash(values: Mapping[str, Any]) -> str:
    """Hash of `{path: value}` over the non-null fields: the content hash of a draft, or an item hash."""
    return value_hash({path: v for path, v in values.items() if v is not None})


def item_fields(values: Mapping[str, Any], item_path: str) -> dict[str, Any]:
    """The non-null fields under `item_path/`, keyed by their full draft path."""
    prefix = item_path + "/"
    return {path: v for path, v in values.items() if path.startswith(prefix) and v is not None}


def item_hash(values: Mapping[str, Any], item_path: str) -> str:
    return map_hash(item_fields(values, item_path))


def is_hash(text: str) -> bool:
    return _HASH.fullmatch(text) is not None


def is_valid_path(path: str) -> bool:
    """Structure only (§5): whether the path names a field of the template is the template registry's call."""
    if not path or len(path) > MAX_PATH_LENGTH:
        return False
    return all(s == ORDER_SEGMENT or _SEGMENT.fullmatch(s) for s in path.split("/"))


def check_value(value: Any) -> None:
    """Raise `InvalidValue` unless the value is JSON with safe integers only and at most 64 KiB canonical."""
    _check_numbers(value)
    try:
        size = len(canonical(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise InvalidValue(f"not a JSON value: {exc}") from None
    if size > MAX_VALUE_BYTES:
        raise InvalidValue(f"value is {size} bytes of canonical JSON, over {MAX_VALUE_BYTES}", too_large=True)


def _check_numbers(value: Any) -> None:
    # Floats are refused outright: numeric form inputs travel as strings, so canonical forms never diverge.
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise InvalidValue("integer outside the safe range")
        return
    if isinstance(value, float):
        raise InvalidValue("numbers must be integers")
    if isinstance(value, list):
        for v in value:
            _check_numbers(v)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidValue("object keys must be strings")
            _check_numbers(v)
        return
    raise InvalidValue(f"not a JSON value: {type(value).__name__}")


def check_file_reference(value: Any) -> None:
    """A file field holds exactly `{blobSha256, name, size, mime}`."""
    if not (isinstance(value, dict) and value.keys() == _FILE_KEYS):
        raise InvalidValue("a file reference is {blobSha256, name, size, mime}")
    sha, name, size, mime = value["blobSha256"], value["name"], value["size"], value["mime"]
    if not (isinstance(sha, str) and is_hash(sha)):
        raise InvalidValue("blobSha256 must be 64 lowercase hex characters")
    if not (isinstance(name, str) and name and isinstance(mime, str) and mime):
        raise InvalidValue("a file reference needs a name and a mime type")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InvalidValue("size must be a non-negative integer")


def effective_policy(path: str, policy: FieldPolicy) -> FieldPolicy:
    """Fractional order indexes are cosmetic: the last server order wins whatever the template says."""
    return FieldPolicy.LWW_SERVER_ORDER if path.rsplit("/", 1)[-1] == ORDER_SEGMENT else policy


@dataclass(frozen=True)
class FieldOp:
    path: str
    kind: FieldOpKind
    base_hash: str
    value: Any = None  # SET only


@dataclass(frozen=True)
class OpDecision:
    """What one op does. `writes` maps each changed path to its new value (None clears it). On CONFLICT the
    conflict opens on `path` with `server_value` (an item map for REMOVE_ITEM) and the losing `candidate`."""

    outcome: Outcome
    path: str
    writes: Mapping[str, Any] = field(default_factory=dict)
    server_value: Any = None
    candidate: Any = None


def decide(values: Mapping[str, Any], op: FieldOp, policy: FieldPolicy = FieldPolicy.MANUAL) -> OpDecision:
    """The three-way compare-and-set of §8.4 against the current map of non-null values of the draft."""
    if op.kind is FieldOpKind.REMOVE_ITEM:
        return _decide_remove_item(values, op)
    new = op.value if op.kind is FieldOpKind.SET else None
    current = values.get(op.path)
    new_hash = value_hash(new)
    if new_hash == value_hash(current):
        return OpDecision(Outcome.NOOP, op.path)
    if value_hash(current) == op.base_hash or effective_policy(op.path, policy) is FieldPolicy.LWW_SERVER_ORDER:
        return OpDecision(Outcome.APPLY, op.path, writes={op.path: new})
    return OpDecision(Outcome.CONFLICT, op.path, server_value=current, candidate=new)


def _decide_remove_item(values: Mapping[str, Any], op: FieldOp) -> OpDecision:
    item = item_fields(values, op.path)
    if not item:
        return OpDecision(Outcome.NOOP, op.path)
    if map_hash(item) == op.base_hash:
        return OpDecision(Outcome.APPLY, op.path, writes=dict.fromkeys(sorted(item)))
    # Edit beats remove: the item changed since the client saw it, so a person decides.
    return OpDecision(Outcome.CONFLICT, op.path, server_value=item, candidate=None)


def apply_ops(
    values: Mapping[str, Any],
    ops: Iterable[FieldOp],
    policy_of: Callable[[str], FieldPolicy] = lambda _path: FieldPolicy.MANUAL,
) -> tuple[dict[str, Any], list[OpDecision]]:
    """Run the ops of one mutation in order, each seeing the previous ones, on a copy of the non-null map."""
    result = {path: v for path, v in values.items() if v is not None}
    decisions = []
    for op in ops:
        decision = decide(result, op, policy_of(op.path))
        for path, v in decision.writes.items():
            if v is None:
                result.pop(path, None)
            else:
                result[path] = v
        decisions.append(decision)
    return result, decisions


def unseen_changes(fields: Iterable[tuple[str, int, str]], base_draft_version: int, client_id: str) -> list[str]:
    """CONTENT_CHANGED paths (§10): `(path, version, writer client)` rows written after the submitting client last
    pulled, by another client, sorted."""
    return sorted({path for path, version, writer in fields if version > base_draft_version and writer != client_id})
