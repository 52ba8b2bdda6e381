"""Retiring a form version moves a draft's fields (sync-protocol.md §12): renamed, or orphaned to the quarantine,
never wiped."""

from __future__ import annotations

import pytest

from sync.merge import InvalidValue
from sync.template_migration import migrate
from tests.sync.test_templates import V1, V2


class TestMigrate:
    def test_renames_carry_values_and_removed_paths_are_orphaned(self) -> None:
        values = {"applicant/name": "张三", "members/m1/nm": "李四", "members/m1/_order": "a0", "fax": "123", "x": None}
        migration = migrate(values, V1, V2)
        assert migration.values == {"applicant/name": "张三", "members/m1/name": "李四", "members/m1/_order": "a0"}
        assert migration.moved == {"members/m1/nm": "members/m1/name"}
        assert migration.orphaned == {"fax": "123"}
        assert migration.changed

    def test_a_collision_keeps_the_value_already_at_the_new_path(self) -> None:
        migration = migrate({"members/m1/nm": "old", "members/m1/name": "new"}, V1, V2)
        assert migration.values == {"members/m1/name": "new"}
        assert migration.orphaned == {"members/m1/nm": "old"}

    def test_the_same_form_changes_nothing(self) -> None:
        migration = migrate({"applicant/name": "张三"}, V1, V1)
        assert (migration.values, migration.changed) == ({"applicant/name": "张三"}, False)


class TestFieldCheck:
    def test_a_file_field_holds_a_file_reference_only(self) -> None:
        photo = V1.field_for("members/m1/photo")
        assert photo is not None
        photo.check({"blobSha256": "a" * 64, "name": "照片.jpg", "size": 1, "mime": "image/jpeg"})
        photo.check(None)
        with pytest.raises(InvalidValue):
            photo.check("照片.jpg")

    def test_other_fields_take_any_value_until_submit(self) -> None:
        name = V1.field_for("applicant/name")
        assert name is not None
        name.check({"any": ["json"]})
