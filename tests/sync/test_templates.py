"""Form templates (sync-protocol.md §12): derivation from the item version's JSON Schema, `*` paths, policies,
translation between form versions, the registry with its FORM_VERSION_UNKNOWN, and `formTemplate`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from api.models import ItemStatus, ServiceItem
from sync import template_registry
from sync.merge import FieldOp, FieldOpKind, FieldPolicy, apply_ops, value_hash
from sync.templates import FormTemplate, TemplateError, derive, translate, translate_through
from tests.support.client import Api

FILE = {"type": "object", "x-field-type": "file"}
SCHEMA_V1: dict[str, Any] = {
    "type": "object",
    "required": ["applicant"],
    "properties": {
        "applicant": {
            "type": "object",
            "required": ["name", "id_number"],
            "properties": {
                "name": {"type": "string", "maxLength": 50, "title": "姓名"},
                "id_number": {"type": "string", "x-field-type": "id_number", "title": "身份证号"},
                "mobile": {"type": "string", "x-field-type": "phone"},
            },
        },
        "nickname": {"type": "string", "x-sync-policy": "LWW_SERVER_ORDER"},
        "kind": {"type": "string", "enum": ["A", "B"]},
        "born": {"type": "string", "format": "date"},
        "area": {"type": "number"},
        "members": {
            "type": "object",
            "title": "家庭成员",
            "additionalProperties": {
                "type": "object",
                "required": ["nm"],
                "properties": {"nm": {"type": "string"}, "photo": FILE},
            },
        },
        "fax": {"type": "string"},
    },
}
SCHEMA_V2: dict[str, Any] = {
    **SCHEMA_V1,
    "properties": {
        **{k: v for k, v in SCHEMA_V1["properties"].items() if k not in ("members", "fax")},
        "members": {
            "type": "object",
            "additionalProperties": {"type": "object", "properties": {"name": {"type": "string"}, "photo": FILE}},
        },
    },
    "x-sync-renames": {"members/*/nm": "members/*/name"},
    "x-sync-removed": ["fax"],
}
V1 = derive("SVC", "1", SCHEMA_V1)
V2 = derive("SVC", "2", SCHEMA_V2)


class TestDerive:
    def test_gives_the_fixed_json_shape_with_every_field(self) -> None:
        shape = V1.to_json()
        assert shape["serviceCode"] == "SVC" and shape["version"] == "1"
        assert shape["renames"] == {} and shape["removed"] == []
        by_path = {f["path"]: f for f in shape["fields"]}
        assert by_path["applicant/name"] == {
            "path": "applicant/name",
            "type": "string",
            "required": True,
            "policy": "MANUAL",
            "label": "姓名",
            "maxLength": 50,
        }
        assert by_path["applicant/mobile"]["type"] == "phone" and by_path["applicant/mobile"]["required"] is False
        assert by_path["applicant/id_number"]["type"] == "id_number"
        assert by_path["kind"]["type"] == "enum" and by_path["kind"]["options"] == ["A", "B"]
        assert (by_path["born"]["type"], by_path["area"]["type"]) == ("date", "number")
        assert by_path["nickname"]["policy"] == "LWW_SERVER_ORDER"
        assert by_path["members"]["type"] == "group" and by_path["members"]["label"] == "家庭成员"
        assert by_path["members/*/photo"]["type"] == "file"
        assert by_path["members/*/_order"]["policy"] == "LWW_SERVER_ORDER"

    def test_carries_the_migration_maps(self) -> None:
        assert (V2.to_json()["renames"], V2.to_json()["removed"]) == ({"members/*/nm": "members/*/name"}, ["fax"])

    @pytest.mark.parametrize(
        "schema",
        [
            {"properties": {"a/b": {"type": "string"}}},
            {"properties": {"__proto__": {"type": "string"}}},
            {"properties": {"a": {"type": "string", "x-sync-policy": "FIRST_WINS"}}},
            {"properties": {"a": {"type": "string"}}, "x-sync-renames": {"a": "../b"}},
            {"properties": {"a": {"type": "string"}}, "x-sync-removed": "a"},
        ],
    )
    def test_refuses_a_schema_no_draft_path_can_follow(self, schema: dict[str, Any]) -> None:
        with pytest.raises(TemplateError):
            derive("SVC", "1", schema)


class TestPaths:
    @pytest.mark.parametrize(
        ("path", "field"),
        [
            ("applicant/name", "applicant/name"),
            ("members/m1/nm", "members/*/nm"),
            ("members/m1/_order", "members/*/_order"),
            ("members/m1/photo", "members/*/photo"),
        ],
    )
    def test_a_concrete_path_names_its_template_field(self, path: str, field: str) -> None:
        found = V1.field_for(path)
        assert found is not None and found.path == field

    @pytest.mark.parametrize(
        "path",
        ["applicant", "members", "members/m1", "members/_order/nm", "unknown", "applicant/name/x", "../x", "__proto__"],
    )
    def test_anything_else_names_no_field(self, path: str) -> None:
        assert V1.field_for(path) is None

    def test_an_item_path_is_what_remove_item_targets(self) -> None:
        assert V1.is_item_path("members/m3")
        assert not any(V1.is_item_path(p) for p in ("members", "members/m3/nm", "members/_order", "applicant/x"))

    def test_the_policy_decides_a_concurrent_edit(self) -> None:
        values = {"nickname": "a", "applicant/name": "a"}
        stale = value_hash("old")
        ops = [
            FieldOp("nickname", FieldOpKind.SET, stale, "B"),
            FieldOp("applicant/name", FieldOpKind.SET, stale, "B"),
        ]
        result, decisions = apply_ops(values, ops, V1.policy_of)
        assert [d.outcome.value for d in decisions] == ["APPLY", "CONFLICT"]
        assert result == {"nickname": "B", "applicant/name": "a"}
        assert V1.policy_of("members/m1/_order") is FieldPolicy.LWW_SERVER_ORDER


class TestTranslate:
    def test_the_same_version_keeps_known_paths_only(self) -> None:
        assert translate("members/m1/nm", V1, V1) == "members/m1/nm"
        assert translate("nope", V1, V1) is None

    def test_forward_renames_carry_the_item_id(self) -> None:
        assert translate("members/m1/nm", V1, V2) == "members/m1/name"
        assert translate("applicant/name", V1, V2) == "applicant/name"

    def test_a_removed_path_maps_to_nothing(self) -> None:
        assert translate("fax", V1, V2) is None

    def test_backward_from_a_newer_client_undoes_its_renames(self) -> None:
        assert translate("members/m1/name", V2, V1) == "members/m1/nm"
        assert translate("members/m1", V2, V1) == "members/m1"


@pytest.fixture
def fresh_registry() -> Iterator[None]:
    template_registry.clear()
    yield
    template_registry.clear()


async def _seeded_item() -> ServiceItem:
    item = await ServiceItem.filter(status=ItemStatus.PUBLISHED).exclude(form_version="").order_by("task_code").first()
    assert item is not None and item.form_schema
    return item


@pytest.mark.usefixtures("fresh_registry")
class TestRegistry:
    async def test_derives_a_seeded_form_with_its_submission_paths(self, live: object) -> None:
        item = await _seeded_item()
        found = await template_registry.require(item.task_code.lower(), item.form_version)
        assert (found.service_code, found.version) == (item.task_code, item.form_version)
        paths = {f.path for f in found.fields}
        assert {"applicant/name", "contact/name"} & paths
        assert await template_registry.find(item.task_code, item.form_version) is found  # cached

    async def test_an_unknown_version_is_a_temporary_error_until_registered(self, live: object) -> None:
        item = await _seeded_item()
        with pytest.raises(template_registry.FormVersionUnknown) as raised:
            await template_registry.require(item.task_code, "v3")
        assert (raised.value.code, raised.value.retryable) == ("FORM_VERSION_UNKNOWN", True)
        template_registry.register(derive(item.task_code, "v3", SCHEMA_V2))
        assert (await template_registry.require(item.task_code, "v3")).version == "v3"

    @pytest.mark.parametrize(("code", "version"), [("", "1"), ("X", ""), ("X" * 37, "1"), ("X", "v" * 65)])
    async def test_malformed_keys_are_unknown(self, live: object, code: str, version: str) -> None:
        assert await template_registry.find(code, version) is None

    def test_refuses_to_register_a_template_without_a_key(self) -> None:
        with pytest.raises(ValueError, match="service code"):
            template_registry.register(FormTemplate("", "1", ()))


QUERY = "query($c: String!, $v: String!) { formTemplate(serviceCode: $c, version: $v) }"


@pytest.mark.usefixtures("fresh_registry")
class TestFormTemplateQuery:
    async def test_answers_anyone_with_the_template(self, api: Api) -> None:
        item = await _seeded_item()
        body = await api.gql(QUERY, {"c": item.task_code, "v": item.form_version})
        assert body["data"]["formTemplate"] == derive(item.task_code, item.form_version, item.form_schema).to_json()

    @pytest.mark.parametrize(("code", "version"), [("NOPE", "1"), ("☃' OR 1=1 --", "x"), ("", "")])
    async def test_answers_null_for_an_unknown_form(self, api: Api, code: str, version: str) -> None:
        body = await api.gql(QUERY, {"c": code, "v": version})
        assert body["data"] == {"formTemplate": None} and "errors" not in body


V3 = derive(
    "SVC",
    "3",
    {
        **SCHEMA_V2,
        "properties": {**SCHEMA_V2["properties"], "household": SCHEMA_V2["properties"]["members"]},
        "x-sync-renames": {"members": "household"},
        "x-sync-removed": [],
    },
)


class TestTranslateThrough:
    def test_walks_every_release_in_between(self) -> None:
        assert translate_through("members/m1/nm", [V1, V2, V3]) == "household/m1/name"
        assert translate_through("household/m1/name", [V3, V2, V1]) == "members/m1/nm"

    def test_stops_at_a_removed_path(self) -> None:
        assert translate_through("fax", [V1, V2, V3]) is None

    def test_one_form_keeps_its_own_paths_only(self) -> None:
        assert translate_through("fax", [V1]) == "fax"
        assert translate_through("fax", [V2]) is None
        assert translate_through("fax", []) is None


@pytest.mark.usefixtures("fresh_registry")
class TestChain:
    async def test_follows_the_order_the_item_versions_were_published_in(self, live: object) -> None:
        seeded = await _seeded_item()
        code = "SYNCTPL" + seeded.task_code[-20:]
        # Cloned as SUPERSEDED versions under a code of their own: never listed, and removed afterwards.
        for version, (form, schema) in enumerate([("1", SCHEMA_V1), ("2", SCHEMA_V2), ("2", SCHEMA_V2)], start=1):
            row = seeded.clone(pk=uuid.uuid4())
            row.task_code, row.version, row.status = code, version, ItemStatus.SUPERSEDED
            row.form_version, row.form_schema = form, schema
            await row.save()
        try:
            template_registry.register(derive(code, "x", SCHEMA_V1))
            assert [t.version for t in await template_registry.chain(code, "1", "2")] == ["1", "2"]
            assert [t.version for t in await template_registry.chain(code, "2", "1")] == ["2", "1"]
            assert [t.version for t in await template_registry.chain(code, "2", "2")] == ["2"]
            assert [t.version for t in await template_registry.chain(code, "x", "2")] == ["x", "2"]
            with pytest.raises(template_registry.FormVersionUnknown):
                await template_registry.chain(code, "1", "9")
        finally:  # the catalog's own tests read every item of the shared database
            await ServiceItem.filter(task_code=code).delete()
