"""The shared hash vectors (tests/sync/hash_vectors.json) checked field by field on the Python side.

The JS client checks the same file in mini_program_stub/client/test/sync-vectors.test.mjs; together they prove
that both sides produce byte-identical canonical JSON and hashes (issue 8). tests/sync/test_merge.py checks
`value`, `canonical` and `sha256`; this file adds the optional `contentHash` and `itemHash` entries and the
coverage that makes the file worth sharing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from sync.merge import EMPTY_MAP_HASH, NULL_HASH, canonical, item_hash, map_hash, value_hash

VECTORS_PATH = Path(__file__).resolve().parents[1] / "sync" / "hash_vectors.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
KNOWN_KEYS = {"name", "value", "canonical", "sha256", "contentHash", "itemPath", "itemHash"}


def by_name(name: str) -> dict[str, Any]:
    return next(v for v in VECTORS if v["name"] == name)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_canonical_and_sha256(vector: dict[str, Any]) -> None:
    assert set(vector) <= KNOWN_KEYS, f"unknown keys {set(vector) - KNOWN_KEYS}: the JS test would ignore them"
    assert canonical(vector["value"]) == vector["canonical"].encode("utf-8")
    assert hashlib.sha256(vector["canonical"].encode("utf-8")).hexdigest() == vector["sha256"]
    assert value_hash(vector["value"]) == vector["sha256"]


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if "contentHash" in v], ids=[v["name"] for v in VECTORS if "contentHash" in v]
)
def test_vector_content_hash(vector: dict[str, Any]) -> None:
    assert map_hash(vector["value"]) == vector["contentHash"]
    without_nulls = {path: v for path, v in vector["value"].items() if v is not None}
    assert vector["contentHash"] == hashlib.sha256(canonical(without_nulls)).hexdigest()


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if "itemPath" in v], ids=[v["name"] for v in VECTORS if "itemPath" in v]
)
def test_vector_item_hash(vector: dict[str, Any]) -> None:
    assert item_hash(vector["value"], vector["itemPath"]) == vector["itemHash"]


def test_names_are_unique() -> None:
    names = [v["name"] for v in VECTORS]
    assert len(names) == len(set(names))


def test_vectors_cover_the_edge_cases_a_client_meets() -> None:
    texts = [v["canonical"] for v in VECTORS]
    assert any("\\u0000" in t and "\\u001f" in t for t in texts), "control characters"
    assert any("😀" in t for t in texts), "supplementary-plane keys"
    assert any("9007199254740991" in t for t in texts), "largest safe integer"
    assert any("contentHash" in v and None in v["value"].values() for v in VECTORS), "content hash with nulls"
    assert any("itemHash" in v for v in VECTORS), "item hash"


def test_supplementary_keys_sort_by_utf16_code_units() -> None:
    # U+1F600 is D83D DE00 in UTF-16, so it sorts before U+E000..U+FFFF although its code point is higher.
    text = by_name("keys sorted by utf-16, not code point")["canonical"]
    assert text.index("😀") < text.index("\ue000") < text.index("\uffff")


def test_known_constants() -> None:
    assert by_name("null")["sha256"] == NULL_HASH
    assert by_name("content map, every field cleared")["contentHash"] == EMPTY_MAP_HASH


@pytest.mark.parametrize("value", ["\ud800", {"\udc00": 1}, 2**53, -(2**53), float("nan"), float("inf")])
def test_values_both_sides_must_refuse(value: Any) -> None:
    # The JS canonicalize/checkValue refuse the same inputs (sync-vectors.test.mjs), so no client can send a hash
    # the server cannot reproduce.
    with pytest.raises(Exception):  # noqa: B017, PT011 - rfc8785 raises several unrelated error types
        canonical(value)
