"""Form templates of sync-protocol.md §12, derived from an item version's JSON Schema, free of I/O.

The template uses the schema's '/'-joined property paths, so a draft path, a template path and the path of a
`submitApplication` validation error name a field the same way. A repeating group is an object whose
`additionalProperties` is the item schema (maps keyed by client item ids, never arrays); its item ids are `*` in
the template. Schema keywords the protocol adds, all optional:

- `x-field-type`: `id_number`, `phone` or `file` on a leaf (the seeded forms already carry the first two);
- `x-sync-policy`: `MANUAL` (default) or `LWW_SERVER_ORDER` on a leaf;
- `x-sync-renames` (`{"oldPath": "newPath"}`) and `x-sync-removed` (`[path]`) at the root: how drafts of the
  previous form version move to this one; `*` segments in them match any item id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from sync.merge import ORDER_SEGMENT, FieldPolicy, check_file_reference, is_valid_path

WILDCARD = "*"
FIELD_TYPES = frozenset({"string", "number", "date", "enum", "id_number", "phone", "file", "group"})
_FILE_KEYS = frozenset({"blobSha256", "name", "size", "mime"})
_MAX_DEPTH = 16  # deeper than any form a person fills in; keeps a hostile schema from recursing without end


@dataclass(frozen=True)
class TemplateField:
    path: str  # `*` segments stand for item ids
    type: str
    required: bool = False
    policy: FieldPolicy = FieldPolicy.MANUAL
    label: str = ""
    options: tuple[str, ...] | None = None
    max_length: int | None = None

    def check(self, value: Any) -> None:
        """Raise `merge.InvalidValue` (VALIDATION_FAILED) for a value this field can never hold. Only structure is
        checked: a draft accepts any structurally valid value and the form's own rules run at SUBMIT (P4)."""
        if value is not None and self.type == "file":
            check_file_reference(value)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "type": self.type,
            "required": self.required,
            "policy": self.policy.value,
            "label": self.label,
        }
        if self.options is not None:
            out["options"] = list(self.options)
        if self.max_length is not None:
            out["maxLength"] = self.max_length
        return out


@dataclass(frozen=True)
class FormTemplate:
    service_code: str
    version: str
    fields: tuple[TemplateField, ...]
    renames: Mapping[str, str] = field(default_factory=dict)
    removed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The fixed JSON shape every client reads (§12)."""
        return {
            "serviceCode": self.service_code,
            "version": self.version,
            "fields": [f.to_json() for f in self.fields],
            "renames": dict(self.renames),
            "removed": list(self.removed),
        }

    def field_for(self, path: str) -> TemplateField | None:
        """The value field a concrete draft path names, or None. Groups hold no value of their own."""
        if not is_valid_path(path):
            return None
        segments = path.split("/")
        for f in self.fields:
            if f.type != "group" and _matches(f.path.split("/"), segments):
                return f
        return None

    def is_item_path(self, path: str) -> bool:
        """Whether `path` names one item of a repeating group (`members/m3`): what REMOVE_ITEM targets."""
        if not is_valid_path(path) or path.rsplit("/", 1)[-1] == ORDER_SEGMENT:
            return False
        segments = path.split("/")
        return any(f.type == "group" and _matches([*f.path.split("/"), WILDCARD], segments) for f in self.fields)

    def policy_of(self, path: str) -> FieldPolicy:
        """For `merge.apply_ops`: unknown paths never reach it, MANUAL is the safe answer all the same."""
        found = self.field_for(path)
        return FieldPolicy.MANUAL if found is None else found.policy


def _matches(pattern: list[str], segments: list[str]) -> bool:
    if len(pattern) != len(segments):
        return False
    # An item id is any valid segment except `_order`, which is a field of the item, never an item itself.
    return all(p == s or (p == WILDCARD and s != ORDER_SEGMENT) for p, s in zip(pattern, segments, strict=True))


def _rewrite(path: str, old: str, new: str) -> str | None:
    """`path` with the rename `old → new` applied (wildcards carry the item ids across), or None if it does
    not match. A rename of a group or field prefix moves everything under it."""
    segments, pattern = path.split("/"), old.split("/")
    if len(segments) < len(pattern) or not _matches(pattern, segments[: len(pattern)]):
        return None
    ids = iter(s for p, s in zip(pattern, segments, strict=False) if p == WILDCARD)
    target = [next(ids, WILDCARD) if p == WILDCARD else p for p in new.split("/")]
    return "/".join([*target, *segments[len(pattern) :]])


def _is_removed(path: str, removed: tuple[str, ...]) -> bool:
    # A removed group takes everything under it along.
    segments = path.split("/")
    patterns = [r.split("/") for r in removed]
    return any(len(segments) >= len(p) and _matches(p, segments[: len(p)]) for p in patterns)


def translate(path: str, source: FormTemplate, target: FormTemplate) -> str | None:
    """The path of `target` (the draft's form) that an op written against `source` means, or None: UNKNOWN_PATH.

    Going forward the target's renames apply; going back (a client already on a newer form editing a draft not
    yet migrated) the source's renames apply in reverse. A removed path maps to nothing, so its op is quarantined
    instead of being written where no form shows it. The result is a value field or an item path: the caller still
    checks that it is the one the op's kind needs (`field_for` for SET and UNSET, `is_item_path` for REMOVE_ITEM).
    """
    if source.version != target.version:
        if _is_removed(path, target.removed):
            return None
        forward = [(old, new) for old, new in target.renames.items()]
        backward = [(new, old) for old, new in source.renames.items()]
        for old, new in (*forward, *backward):
            moved = _rewrite(path, old, new)
            if moved is not None and _known(target, moved):
                return moved
    return path if _known(target, path) else None


def translate_through(path: str, chain: Sequence[FormTemplate]) -> str | None:
    """`translate` one form version at a time along `chain`, from the op's form (first) to the draft's (last), so
    a device offline across several releases still lands its edits where each release moved them."""
    if len(chain) < 2:
        return path if chain and _known(chain[0], path) else None
    current: str | None = path
    for source, target in pairwise(chain):
        current = translate(current, source, target) if current is not None else None
    return current


def _known(template: FormTemplate, path: str) -> bool:
    return template.field_for(path) is not None or template.is_item_path(path)


MATERIALS = "materials"
# Every form carries the application's materials (申请材料) beside its own fields, keyed by the item's material
# requirement id: files the person uploaded (§11), or a licence of their wallet (电子证照) used instead of paper.
# The item's JSON Schema never describes them: SUBMIT turns them into the application's material claims.
MATERIAL_FIELDS = (
    TemplateField(f"{MATERIALS}/{WILDCARD}/files/{WILDCARD}", "file", label="材料文件"),
    TemplateField(f"{MATERIALS}/{WILDCARD}/licenceId", "string", label="电子证照"),
)


class TemplateError(ValueError):
    """A form schema no template can be derived from (publishing rules should have kept it out)."""


def derive(service_code: str, version: str, schema: Mapping[str, Any]) -> FormTemplate:
    """The sync template of one item version's form."""
    if not isinstance(schema, Mapping):
        raise TemplateError("a form schema is a JSON object")
    fields = tuple(_walk(schema, [], required=True, depth=0))
    properties = schema.get("properties")
    if not (isinstance(properties, Mapping) and MATERIALS in properties):
        fields = (*fields, *MATERIAL_FIELDS)
    renames = schema.get("x-sync-renames") or {}
    removed = schema.get("x-sync-removed") or []
    if not (isinstance(renames, Mapping) and all(_is_pattern(k) and _is_pattern(v) for k, v in renames.items())):
        raise TemplateError("x-sync-renames maps paths to paths")
    if not (isinstance(removed, list) and all(_is_pattern(p) for p in removed)):
        raise TemplateError("x-sync-removed is a list of paths")
    return FormTemplate(service_code, version, fields, dict(renames), tuple(removed))


def _is_pattern(path: Any) -> bool:
    return isinstance(path, str) and is_valid_path(path.replace(WILDCARD, "x"))


def _walk(node: Mapping[str, Any], prefix: list[str], *, required: bool, depth: int) -> Iterator[TemplateField]:
    if depth > _MAX_DEPTH:
        raise TemplateError("form schema nested too deeply")
    properties = node.get("properties")
    items = node.get("additionalProperties")
    if isinstance(properties, Mapping) and properties and not _is_file(node):
        needed = node.get("required") or []
        for name, child in properties.items():
            if not (isinstance(child, Mapping) and is_valid_path(name)) or "/" in name:
                raise TemplateError(f"property {name!r} cannot be a draft path segment")
            yield from _walk(child, [*prefix, name], required=required and name in needed, depth=depth + 1)
    elif isinstance(items, Mapping) and node.get("type") == "object" and not _is_file(node):
        # A repeating group: its item schema sits under `*`, and every item carries a fractional `_order`.
        yield TemplateField("/".join(prefix), "group", required, label=_label(node, prefix))
        item_prefix = [*prefix, WILDCARD]
        yield TemplateField("/".join([*item_prefix, ORDER_SEGMENT]), "string", policy=FieldPolicy.LWW_SERVER_ORDER)
        yield from _walk(items, item_prefix, required=False, depth=depth + 1)
    elif prefix:
        yield _leaf(node, prefix, required)


def _is_file(node: Mapping[str, Any]) -> bool:
    properties = node.get("properties")
    return node.get("x-field-type") == "file" or (isinstance(properties, Mapping) and properties.keys() == _FILE_KEYS)


def _label(node: Mapping[str, Any], prefix: list[str]) -> str:
    title = node.get("title")
    return title if isinstance(title, str) and title else prefix[-1]


def _leaf(node: Mapping[str, Any], prefix: list[str], required: bool) -> TemplateField:
    kind = node.get("x-field-type")
    options = node.get("enum")
    if _is_file(node):
        kind = "file"
    elif kind not in ("id_number", "phone"):
        if isinstance(options, list) and options:
            kind = "enum"
        elif node.get("format") == "date":
            kind = "date"
        elif node.get("type") in ("number", "integer"):
            kind = "number"
        else:
            kind = "string"
    policy_name = node.get("x-sync-policy", FieldPolicy.MANUAL.value)
    if policy_name not in FieldPolicy.__members__:
        raise TemplateError(f"x-sync-policy of {'/'.join(prefix)} is MANUAL or LWW_SERVER_ORDER")
    max_length = node.get("maxLength")
    return TemplateField(
        "/".join(prefix),
        kind,
        required,
        FieldPolicy(policy_name),
        _label(node, prefix),
        tuple(str(o) for o in options) if kind == "enum" and isinstance(options, list) else None,
        max_length if isinstance(max_length, int) and not isinstance(max_length, bool) else None,
    )
