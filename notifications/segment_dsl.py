"""The segment DSL (notifications.md §C3): parse a JSON document of `all` / `any` / `not` nodes over whitelisted
`{field, op, value}` predicates into a spec, and compile the spec to a tortoise `Q` over its root entity.

Everything an operator sends is checked before anything touches the database; a value only ever becomes the
parameter of a lookup, and strings that look like SQL are refused outright so that they never reach a log or
a screen as if they had meant something.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import reduce
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.models import Model

from api.models.applications import Application
from api.models.identity import Enterprise, Person
from api.models.licenses import ELicense
from notifications.errors import NotificationsError, NotificationsErrorCode
from notifications.segment_fields import FIELDS, BadValue, Entity, Value

MAX_DEPTH = 8
MAX_PREDICATES = 100
SQL_MARKERS = (";", "--", "/*", "*/", "'", '"', "\\", "\x00", " or ", " and ", "select ", "drop ", "union ",
               "insert ", "delete ", "update ", "exec ", "sleep(", "pg_")  # fmt: skip


class Root(StrEnum):
    """The entity a segment selects; recipients are derived from it."""

    PERSON = "person"
    ENTERPRISE = "enterprise"
    LICENSE = "license"


@dataclass(frozen=True)
class Predicate:
    field: str
    op: str
    value: Value
    path: tuple[str, ...]


@dataclass(frozen=True)
class Group:
    kind: str  # "all" | "any"
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Predicate | Group | Not


@dataclass(frozen=True)
class SegmentSpec:
    root: Root
    node: Node
    predicates: int


@dataclass(frozen=True)
class CompiledSegment:
    root: Root
    model: type[Model]
    q: Q


def invalid(message: str, path: list[str] | tuple[str, ...]) -> NotificationsError:
    return NotificationsError(NotificationsErrorCode.INVALID_SEGMENT, message, path=list(path))


def parse_segment(dsl: object) -> SegmentSpec:
    """Validate an operator's DSL document; INVALID_SEGMENT names the offending path (starting with "dsl")."""
    _refuse_sql(dsl, ["dsl"])
    predicates: list[Predicate] = []
    node = _node(dsl, ["dsl"], 1, predicates)
    return SegmentSpec(root=_root_of(predicates), node=node, predicates=len(predicates))


def _refuse_sql(raw: object, path: list[str]) -> None:
    if isinstance(raw, str):
        lowered = raw.lower()
        if any(marker in lowered for marker in SQL_MARKERS):
            raise invalid("raw SQL is not accepted in a segment", path)
    elif isinstance(raw, dict):
        for key, value in raw.items():
            _refuse_sql(key, path)
            _refuse_sql(value, [*path, str(key)])
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            _refuse_sql(value, [*path, str(i)])


def _node(raw: object, path: list[str], depth: int, predicates: list[Predicate]) -> Node:
    if depth > MAX_DEPTH:
        raise invalid(f"segments nest at most {MAX_DEPTH} levels", path)
    if not isinstance(raw, dict):
        raise invalid("a node is an object", path)
    keys = set(raw)
    if keys in ({"all"}, {"any"}):
        (kind,) = keys
        children = raw[kind]
        if not isinstance(children, list) or not children:
            raise invalid(f"{kind} takes a non-empty list", [*path, kind])
        return Group(
            kind, tuple(_node(c, [*path, kind, str(i)], depth + 1, predicates) for i, c in enumerate(children))
        )
    if keys == {"not"}:
        return Not(_node(raw["not"], [*path, "not"], depth + 1, predicates))
    if keys == {"field", "op", "value"}:
        predicate = _predicate(raw, path)
        predicates.append(predicate)
        if len(predicates) > MAX_PREDICATES:
            raise invalid(f"a segment has at most {MAX_PREDICATES} predicates", path)
        return predicate
    raise invalid("expected {all: […]}, {any: […]}, {not: …} or {field, op, value}", path)


def _predicate(raw: dict[str, Any], path: list[str]) -> Predicate:
    name, op = raw["field"], raw["op"]
    definition = FIELDS.get(name) if isinstance(name, str) else None
    if definition is None:
        raise invalid(f"unknown field {name!r}", [*path, "field"])
    check = definition.ops.get(op) if isinstance(op, str) else None
    if check is None:
        raise invalid(f"{name} allows {', '.join(definition.ops)}, not {op!r}", [*path, "op"])
    try:
        value = check(raw["value"])
    except BadValue as e:
        raise invalid(f"{name} {op}: {e}", [*path, "value"]) from None
    return Predicate(field=name, op=op, value=value, path=tuple(path))


def _root_of(predicates: list[Predicate]) -> Root:
    """One root entity per segment, chosen by its fields; other entities must be reachable from it."""
    by_entity: dict[Entity, Predicate] = {}
    audiences: dict[str, Predicate] = {}
    for p in predicates:
        if p.field == "audience":
            audiences.setdefault(str(p.value), p)
        else:
            by_entity.setdefault(FIELDS[p.field].entity, p)
    if len(audiences) > 1:
        raise invalid("a segment has one audience", [*audiences["enterprise"].path, "value"])
    audience = next(iter(audiences), None)
    if Entity.LICENSE in by_entity:
        if Entity.APPLICATION in by_entity:
            raise invalid(
                "application fields cannot be combined with licence fields", _field_path(by_entity, Entity.APPLICATION)
            )
        return Root.LICENSE
    if Entity.ENTERPRISE in by_entity or (Entity.RESIDENT not in by_entity and audience == "enterprise"):
        if Entity.RESIDENT in by_entity:
            raise invalid(
                "resident fields cannot be combined with enterprise fields", _field_path(by_entity, Entity.RESIDENT)
            )
        if audience == "person":
            raise invalid("enterprise fields select enterprises", [*audiences["person"].path, "value"])
        return Root.ENTERPRISE
    if audience == "enterprise":
        raise invalid("resident fields select persons", [*audiences["enterprise"].path, "value"])
    return Root.PERSON


def _field_path(by_entity: dict[Entity, Predicate], entity: Entity) -> list[str]:
    return [*by_entity[entity].path, "field"]


ROOT_MODELS: dict[Root, type[Model]] = {Root.PERSON: Person, Root.ENTERPRISE: Enterprise, Root.LICENSE: ELicense}
ENTITY_MODELS: dict[Entity, type[Model]] = {
    Entity.RESIDENT: Person,
    Entity.ENTERPRISE: Enterprise,
    Entity.LICENSE: ELicense,
    Entity.APPLICATION: Application,
}
# How an entity's filter reaches the root: (root column, entity column) of a subquery join.
JOINS: dict[tuple[Root, Entity], tuple[str, str]] = {
    (Root.LICENSE, Entity.ENTERPRISE): ("holder_enterprise_id", "id"),
    (Root.LICENSE, Entity.RESIDENT): ("holder_person_id", "id"),
    (Root.PERSON, Entity.APPLICATION): ("id", "applicant_person_id"),
    (Root.ENTERPRISE, Entity.APPLICATION): ("id", "applicant_enterprise_id"),
}
ANYONE = Q(id__isnull=False)


def root_base(root: Root) -> Q:
    """Who can be addressed at all: merged-away person rows and closed enterprises never can."""
    if root is Root.PERSON:
        return Q(merged_into_id__isnull=True)
    if root is Root.ENTERPRISE:
        return Q(status="ACTIVE")
    return ANYONE


def compile_segment(spec: SegmentSpec, today: date) -> CompiledSegment:
    """The spec as a filter over its root model, evaluated relative to `today` (the local date in Asia/Shanghai)."""
    q = root_base(spec.root) & _compile(spec.node, spec.root, today)
    return CompiledSegment(root=spec.root, model=ROOT_MODELS[spec.root], q=q)


def _compile(node: Node, root: Root, today: date) -> Q:
    if isinstance(node, Group):
        join = operator.and_ if node.kind == "all" else operator.or_
        return reduce(join, (_compile(c, root, today) for c in node.children))
    if isinstance(node, Not):
        return ~_compile(node.child, root, today)
    return _predicate_q(node, root, today)


def _predicate_q(p: Predicate, root: Root, today: date) -> Q:
    definition = FIELDS[p.field]
    if definition.entity is Entity.AUDIENCE:
        if root is Root.LICENSE:
            column = "holder_person_id" if p.value == "person" else "holder_enterprise_id"
            not_null: dict[str, Any] = {f"{column}__isnull": False}
            return Q(**not_null)
        return ANYONE
    q = definition.compile(p.op, p.value, today)
    if ROOT_MODELS[root] is ENTITY_MODELS[definition.entity]:
        return q
    root_column, entity_column = JOINS[(root, definition.entity)]
    # NULLs are kept out of the subquery: NOT IN over a set containing NULL would match nothing.
    inner = ENTITY_MODELS[definition.entity].filter(q, **{f"{entity_column}__isnull": False})
    lookup: dict[str, Any] = {f"{root_column}__in": Subquery(inner.values(entity_column))}
    return Q(**lookup)
