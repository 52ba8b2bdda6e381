"""The pure field rule (sync-protocol.md §5, §8.4) and the merge core of the conformance scenarios S06–S10.

The named scenario tests here exercise the decision only: the same scenarios over HTTP and both databases are
the service's tests.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from sync.merge import (
    EMPTY_MAP_HASH,
    NULL_HASH,
    FieldOp,
    FieldOpKind,
    FieldPolicy,
    InvalidValue,
    Outcome,
    apply_ops,
    canonical,
    check_file_reference,
    check_value,
    decide,
    effective_policy,
    is_valid_path,
    item_hash,
    map_hash,
    unseen_changes,
    value_hash,
)

H = value_hash
VECTORS = json.loads((Path(__file__).parent / "hash_vectors.json").read_text(encoding="utf-8"))


def set_(path: str, value: Any, base: Any) -> FieldOp:
    return FieldOp(path, FieldOpKind.SET, H(base), value)


def unset(path: str, base: Any) -> FieldOp:
    return FieldOp(path, FieldOpKind.UNSET, H(base))


class TestHashes:
    def test_null_hash_is_the_specified_constant(self) -> None:
        assert NULL_HASH == "74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b"

    @pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
    def test_vectors(self, vector: dict[str, Any]) -> None:
        assert canonical(vector["value"]).decode() == vector["canonical"]
        # The expected hash is checked against hashlib directly, so a vector file error cannot hide behind H.
        assert hashlib.sha256(vector["canonical"].encode()).hexdigest() == vector["sha256"]
        assert H(vector["value"]) == vector["sha256"]

    def test_key_order_does_not_matter(self) -> None:
        assert H({"b": 1, "a": "张三"}) == H({"a": "张三", "b": 1})

    def test_map_hash_ignores_null_fields(self) -> None:
        assert map_hash({"f1": "a", "f2": None}) == H({"f1": "a"})
        assert map_hash({}) == map_hash({"f": None}) == EMPTY_MAP_HASH == H({})

    def test_item_hash_covers_only_the_fields_under_the_item(self) -> None:
        values = {"members/m1/name": "甲", "members/m1/_order": "a0", "members/m10/name": "乙", "f": "x"}
        assert item_hash(values, "members/m1") == H({"members/m1/name": "甲", "members/m1/_order": "a0"})
        assert item_hash(values, "members/m2") == EMPTY_MAP_HASH


class TestPaths:
    @pytest.mark.parametrize(
        "path", ["f1", "members/m1/name", "materials/idcard/files/u-1", "members/m1/_order", "a" * 64, "A_b-9"]
    )
    def test_valid(self, path: str) -> None:
        assert is_valid_path(path)

    @pytest.mark.parametrize(
        "path",
        ["", "__proto__", "../x", "a/../b", "/f", "f/", "a//b", "_f", "-f", "f.g", "名字", "a" * 65, "_order_x"],
    )
    def test_invalid(self, path: str) -> None:
        assert not is_valid_path(path)

    def test_length_limit(self) -> None:
        path = "/".join(["abcdefg"] * 32)  # 255 characters
        assert is_valid_path(path)
        assert not is_valid_path(path + "/x")


class TestValues:
    @pytest.mark.parametrize(
        "value", ["张三", 0, 2**53 - 1, -(2**53 - 1), True, None, [], {"a": [1, {"b": "c"}]}, "x" * 60_000]
    )
    def test_accepted(self, value: Any) -> None:
        check_value(value)

    @pytest.mark.parametrize("value", [2**53, -(2**53), 1.5, 1.0, {"a": [0.1]}, {1: "a"}, b"x", object()])
    def test_malformed(self, value: Any) -> None:
        with pytest.raises(InvalidValue) as raised:
            check_value(value)
        assert not raised.value.too_large

    def test_over_64_kib_is_too_large(self) -> None:
        check_value("x" * (64 * 1024 - 2))  # with its quotes exactly at the limit
        with pytest.raises(InvalidValue) as raised:
            check_value("x" * (64 * 1024 - 1))
        assert raised.value.too_large

    def test_file_reference(self) -> None:
        check_file_reference({"blobSha256": "a" * 64, "name": "身份证.jpg", "size": 1024, "mime": "image/jpeg"})

    @pytest.mark.parametrize(
        "value",
        [
            {"blobSha256": "A" * 64, "name": "x", "size": 1, "mime": "image/png"},
            {"blobSha256": "a" * 64, "name": "", "size": 1, "mime": "image/png"},
            {"blobSha256": "a" * 64, "name": "x", "size": -1, "mime": "image/png"},
            {"blobSha256": "a" * 64, "name": "x", "size": True, "mime": "image/png"},
            {"blobSha256": "a" * 64, "name": "x", "size": 1},
            {"blobSha256": "a" * 64, "name": "x", "size": 1, "mime": "image/png", "extra": 1},
            "a" * 64,
        ],
    )
    def test_bad_file_reference(self, value: Any) -> None:
        with pytest.raises(InvalidValue):
            check_file_reference(value)


class TestFieldRule:
    def test_same_value_is_noop_whatever_the_base(self) -> None:
        assert decide({"f": "a"}, set_("f", "a", "zzz")).outcome is Outcome.NOOP
        assert decide({}, unset("f", "zzz")).outcome is Outcome.NOOP

    def test_matching_base_applies(self) -> None:
        decision = decide({"f": "a"}, set_("f", "b", "a"))
        assert (decision.outcome, dict(decision.writes)) == (Outcome.APPLY, {"f": "b"})

    def test_missing_field_has_the_null_hash(self) -> None:
        assert decide({}, FieldOp("f", FieldOpKind.SET, NULL_HASH, "a")).outcome is Outcome.APPLY

    def test_unset_writes_null(self) -> None:
        decision = decide({"f": "a"}, unset("f", "a"))
        assert (decision.outcome, dict(decision.writes)) == (Outcome.APPLY, {"f": None})

    def test_stale_base_conflicts_under_manual(self) -> None:
        decision = decide({"f": "b"}, set_("f", "c", "a"))
        assert (decision.outcome, decision.server_value, decision.candidate) == (Outcome.CONFLICT, "b", "c")
        assert decision.writes == {}

    def test_stale_unset_conflicts_with_a_null_candidate(self) -> None:
        decision = decide({"f": "b"}, unset("f", "a"))
        assert (decision.outcome, decision.server_value, decision.candidate) == (Outcome.CONFLICT, "b", None)

    def test_stale_base_applies_under_lww(self) -> None:
        decision = decide({"f": "b"}, set_("f", "c", "a"), FieldPolicy.LWW_SERVER_ORDER)
        assert (decision.outcome, dict(decision.writes)) == (Outcome.APPLY, {"f": "c"})

    def test_order_is_always_lww(self) -> None:
        assert effective_policy("members/m1/_order", FieldPolicy.MANUAL) is FieldPolicy.LWW_SERVER_ORDER
        assert effective_policy("members/m1/name", FieldPolicy.MANUAL) is FieldPolicy.MANUAL
        assert decide({"m/x/_order": "a1"}, set_("m/x/_order", "a2", "a0")).outcome is Outcome.APPLY

    def test_base_version_never_decides(self) -> None:
        # FieldOp has no version at all: only hashes enter the decision.
        assert decide({"f": "a"}, set_("f", "b", "a")).outcome is Outcome.APPLY


class TestRemoveItem:
    values: ClassVar[dict[str, Any]] = {"members/m3/name": "丙", "members/m3/_order": "a0", "f": "x"}

    def test_absent_item_is_noop(self) -> None:
        op = FieldOp("members/m9", FieldOpKind.REMOVE_ITEM, EMPTY_MAP_HASH)
        assert decide(self.values, op).outcome is Outcome.NOOP

    def test_unchanged_item_clears_each_field(self) -> None:
        op = FieldOp("members/m3", FieldOpKind.REMOVE_ITEM, item_hash(self.values, "members/m3"))
        decision = decide(self.values, op)
        assert decision.outcome is Outcome.APPLY
        assert dict(decision.writes) == {"members/m3/_order": None, "members/m3/name": None}

    def test_changed_item_wins_over_remove(self) -> None:
        seen = {"members/m3/name": "旧", "members/m3/_order": "a0"}
        op = FieldOp("members/m3", FieldOpKind.REMOVE_ITEM, item_hash(seen, "members/m3"))
        decision = decide(self.values, op)
        assert decision.outcome is Outcome.CONFLICT
        assert decision.path == "members/m3"
        assert decision.server_value == {"members/m3/name": "丙", "members/m3/_order": "a0"}
        assert decision.candidate is None


class TestApplyOps:
    def test_ops_see_the_previous_ones(self) -> None:
        values, decisions = apply_ops({"f": "a"}, [set_("f", "b", "a"), set_("f", "c", "b"), unset("g", None)])
        assert values == {"f": "c"}
        assert [d.outcome for d in decisions] == [Outcome.APPLY, Outcome.APPLY, Outcome.NOOP]

    def test_input_is_not_modified_and_nulls_drop_out(self) -> None:
        original = {"f": "a", "g": None}
        values, _ = apply_ops(original, [unset("f", "a")])
        assert values == {}
        assert original == {"f": "a", "g": None}

    def test_policy_per_path(self) -> None:
        def policy(path: str) -> FieldPolicy:
            return FieldPolicy.LWW_SERVER_ORDER if path == "nickname" else FieldPolicy.MANUAL

        values, decisions = apply_ops(
            {"nickname": "x", "name": "x"}, [set_("nickname", "y", "old"), set_("name", "y", "old")], policy
        )
        assert values == {"nickname": "y", "name": "x"}
        assert [d.outcome for d in decisions] == [Outcome.APPLY, Outcome.CONFLICT]


class TestUnseenChanges:
    def test_other_clients_changes_after_the_base(self) -> None:
        rows = [("f2", 12, "cB"), ("f1", 12, "cA"), ("f3", 9, "cB"), ("f0", 11, "cC")]
        assert unseen_changes(rows, 10, "cA") == ["f0", "f2"]

    def test_nothing_unseen(self) -> None:
        assert unseen_changes([("f1", 12, "cA")], 10, "cA") == []


class TestConformanceMerge:
    """The merge core of §14: the server map after each push, as the field rule alone decides it."""

    def test_s06_two_devices_different_fields(self) -> None:
        start = {"f1": "a", "f2": "b"}
        d1, d2 = [set_("f1", "A", "a")], [set_("f2", "B", "b")]
        for first, second in ((d1, d2), (d2, d1)):
            after_first, r1 = apply_ops(start, first)
            final, r2 = apply_ops(after_first, second)
            assert [d.outcome for d in r1 + r2] == [Outcome.APPLY, Outcome.APPLY]
            assert final == {"f1": "A", "f2": "B"}
            assert map_hash(final) == H({"f1": "A", "f2": "B"})

    def test_s07_same_field_conflict(self) -> None:
        server, (d1,) = apply_ops({"f1": "a"}, [set_("f1", "A1", "a")])
        server, (d2,) = apply_ops(server, [set_("f1", "A2", "a")])
        assert d1.outcome is Outcome.APPLY
        assert (d2.outcome, d2.path, d2.server_value, d2.candidate) == (Outcome.CONFLICT, "f1", "A1", "A2")
        assert server == {"f1": "A1"}
        # D2 resolves, having pulled the server value A1, by choosing its own.
        server, (resolve,) = apply_ops(server, [set_("f1", "A2", "A1")])
        assert resolve.outcome is Outcome.APPLY
        assert server == {"f1": "A2"}

    def test_s07_reversed_order_swaps_the_roles(self) -> None:
        server, (d2,) = apply_ops({"f1": "a"}, [set_("f1", "A2", "a")])
        server, (d1,) = apply_ops(server, [set_("f1", "A1", "a")])
        assert d2.outcome is Outcome.APPLY
        assert (d1.outcome, d1.server_value, d1.candidate) == (Outcome.CONFLICT, "A2", "A1")

    def test_s08_same_field_same_value(self) -> None:
        server, (first,) = apply_ops({"f1": "a"}, [set_("f1", "A", "a")])
        server, (second,) = apply_ops(server, [set_("f1", "A", "a")])
        assert (first.outcome, second.outcome) == (Outcome.APPLY, Outcome.NOOP)
        assert server == {"f1": "A"}

    def test_s09_consecutive_offline_edits(self) -> None:
        server, decisions = apply_ops({"f1": "a"}, [set_("f1", "b", "a"), set_("f1", "c", "b")])
        assert [d.outcome for d in decisions] == [Outcome.APPLY, Outcome.APPLY]
        assert server == {"f1": "c"}

    def test_s09_variant_another_device_in_between(self) -> None:
        server, _ = apply_ops({"f1": "a"}, [set_("f1", "b", "a")])
        server, _ = apply_ops(server, [set_("f1", "z", "b")])
        server, (second,) = apply_ops(server, [set_("f1", "c", "b")])
        assert (second.outcome, second.server_value, second.candidate) == (Outcome.CONFLICT, "z", "c")
        assert server == {"f1": "z"}

    def test_s10_repeating_group(self) -> None:
        start = {"members/m3/name": "丙", "members/m3/_order": "a0"}
        pulled_m3 = item_hash(start, "members/m3")
        server, r1 = apply_ops(start, [set_("members/m1/name", "甲", None), set_("members/m1/_order", "a1", None)])
        server, r2 = apply_ops(server, [set_("members/m2/name", "乙", None), set_("members/m2/_order", "a2", None)])
        assert all(d.outcome is Outcome.APPLY for d in r1 + r2)
        assert {"members/m1/name", "members/m2/name", "members/m3/name"} <= server.keys()
        server, _ = apply_ops(server, [set_("members/m3/name", "丙丙", "丙")])
        server, (remove,) = apply_ops(server, [FieldOp("members/m3", FieldOpKind.REMOVE_ITEM, pulled_m3)])
        assert remove.outcome is Outcome.CONFLICT
        assert remove.server_value == {"members/m3/name": "丙丙", "members/m3/_order": "a0"}
        assert server["members/m3/name"] == "丙丙"
