"""GraphQL execution with a short path for plain leaf fields.

graphql-core executes every field the same way: resolve info, resolver call, awaitable check, value completion.
For a field that only reads an attribute and returns a scalar or an enum (a strawberry field without resolver,
permission class or extension, and no arguments), that machinery costs about ten times the attribute read
itself; a case with a 40-entry timeline has some 400 such fields. Here such a field is read and coerced
directly. Anything unusual (no middleware may be active, a null for a non-null field, a value the type cannot
coerce, an awaitable) takes graphql-core's own path for that field, so results and errors stay exactly those of
graphql-core.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from typing import Any, NamedTuple, NoReturn
from weakref import WeakKeyDictionary

from graphql import (
    ExecutionResult,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    GraphQLScalarType,
    GraphQLString,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


class _Leaf(NamedTuple):
    """How to answer one plain leaf field: read `attribute` with `read`, coerce with `coerce`."""

    read: Callable[[Any, str], Any]
    attribute: str
    coerce: Callable[[Any], Any]
    nullable: bool


_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
# Values that can be neither an awaitable nor an error: the per-value checks are skipped for them (a timeline's
# 400 leaves are nearly all of these).
_INERT: frozenset[type] = frozenset({str, int, bool, float})
# Per object type, per field name: the plan, or None when the field needs graphql-core. Keyed weakly by the type
# itself (never by id(), which a later schema's type could reuse once an earlier schema is collected).
_plans: WeakKeyDictionary[GraphQLObjectType, dict[str, _Leaf | None]] = WeakKeyDictionary()


def _plain_field(parent_type: GraphQLObjectType, name: str) -> tuple[StrawberryField, GraphQLOutputType, bool] | None:
    """A field strawberry answers by reading an attribute (no arguments, resolver, permission or extension): its
    definition, its type without NonNull and whether it is nullable; None for every other field."""
    field_def = parent_type.fields.get(name)
    if field_def is None or field_def.args:
        return None
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    resolver = field_def.resolve
    if (
        not isinstance(definition, StrawberryField)
        or not definition.is_basic_field
        or definition.permission_classes
        or not getattr(resolver, "_is_default", False)
        or getattr(resolver, "__name__", "") != "_get_basic_result"
    ):
        return None
    kind = field_def.type
    if isinstance(kind, GraphQLNonNull):
        return definition, kind.of_type, False
    return definition, kind, True


def _plan(parent_type: GraphQLObjectType, name: str) -> _Leaf | None:
    plain = _plain_field(parent_type, name)
    if plain is None:
        return None
    definition, leaf, nullable = plain
    if not isinstance(leaf, GraphQLScalarType | GraphQLEnumType):
        return None
    return _Leaf(definition.default_resolver, definition.python_name, _coercer(leaf), nullable)


def _coercer(leaf: GraphQLScalarType | GraphQLEnumType) -> Callable[[Any], Any]:
    """Values that are already what the type answers pass through (a plain str for String and ID, an int in
    range for Int, a bool for Boolean); strawberry's enum coercion scans every value of the enum per call: the
    same answers, looked up. Everything else goes through the type's own coercion."""
    slow = leaf.coerce_output_value
    if leaf is GraphQLString or leaf is GraphQLID:
        return lambda value: value if value.__class__ is str else slow(value)
    if leaf is GraphQLInt:
        return lambda value: value if value.__class__ is int and _INT_MIN <= value <= _INT_MAX else slow(value)
    if leaf is GraphQLBoolean:
        return lambda value: value if value.__class__ is bool else slow(value)
    wrapped = getattr(leaf, "wrapped_cls", None)
    if not isinstance(leaf, GraphQLEnumType) or not isinstance(wrapped, type) or not issubclass(wrapped, Enum):
        return leaf.coerce_output_value
    names = {member: slow(member) for member in wrapped}

    def coerce(value: Any) -> Any:
        return names[value] if value.__class__ is wrapped else slow(value)

    return coerce


class _Nested(NamedTuple):
    """A plain field holding one object (no arguments, resolver, permission or extension): read `attribute`."""

    read: Callable[[Any, str], Any]
    attribute: str
    object_type: GraphQLObjectType
    nullable: bool


_nested_plans: WeakKeyDictionary[GraphQLObjectType, dict[str, _Nested | None]] = WeakKeyDictionary()


def _plan_nested(parent_type: GraphQLObjectType, name: str) -> _Nested | None:
    plain = _plain_field(parent_type, name)
    if plain is None:
        return None
    definition, inner, nullable = plain
    if not isinstance(inner, GraphQLObjectType):
        return None
    return _Nested(definition.default_resolver, definition.python_name, inner, nullable)


def _nested_plan(parent_type: GraphQLObjectType, name: str) -> _Nested | None:
    fields = _nested_plans.get(parent_type)
    if fields is None:
        fields = _nested_plans[parent_type] = {}
    try:
        return fields[name]
    except KeyError:
        found = fields[name] = _plan_nested(parent_type, name)
        return found


# One selected field of a plain row: its response name, how to read it, and for an object its own fields.
_RowField = tuple[str, _Leaf | _Nested, "list[_RowField] | None"]


def _leaf_plan(parent_type: GraphQLObjectType, name: str) -> _Leaf | None:
    fields = _plans.get(parent_type)
    if fields is None:
        fields = _plans[parent_type] = {}
    try:
        return fields[name]
    except KeyError:
        found = fields[name] = _plan(parent_type, name)
        return found


def _after_response(values: Sequence[Any]) -> NoReturn:
    raise RuntimeError("this execution has answered: no more asynchronous work can join it")


# graphql-core keeps its resolver helpers as bound methods of the execution context (`async_helpers`): a reference
# cycle through which everything an execution builds (collected fields, sub-field caches, the request's context and
# loaders, some 250 objects a page) was left to the cyclic collector. Under load each first-generation collection
# then found ~45,000 such objects and paused the API for 15–75 ms (bench/pages.py). Answered executions swap in
# helpers that hold nothing, so reference counting frees them.
_ANSWERED = GraphQLResolveInfoHelpers(gather=_after_response, track=_after_response)


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def build_response(self, data: dict[str, Any] | None) -> Any:
        response = super().build_response(data)
        if isinstance(response, ExecutionResult):  # incremental delivery (never used, graphql.md §3) keeps them
            self.async_helpers = _ANSWERED
        return response

    def _plain(self) -> bool:
        middleware = self.middleware_manager
        return middleware is None or middleware._middleware_resolvers is None

    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        items: Iterable[Any],
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        """A list of objects whose selected fields are all plain leaves (a timeline) becomes a list of dicts
        without completing every item as a field of its own; anything unusual is completed the usual way."""
        rows = self._plain_rows(item_type, field_details_list, info, path, items, position_context)
        if rows is not None:
            return rows
        return super().complete_iterable_value(item_type, field_details_list, info, path, items, position_context)

    def _plain_rows(
        self,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        items: Iterable[Any],
        position_context: Any,
    ) -> list[dict[str, Any]] | None:
        if (
            not isinstance(item_type, GraphQLNonNull)
            or not isinstance(item_type.of_type, GraphQLObjectType)
            or not isinstance(items, list | tuple)
            or position_context is not None
            or not self._plain()
            or self.get_stream_usage(field_details_list, path) is not None
        ):
            return None
        object_type: GraphQLObjectType = item_type.of_type
        fields = self._row_fields(object_type, field_details_list, depth=0)
        if fields is None:
            return None
        rows: list[dict[str, Any]] = []
        for item in items:
            row = self._row(item, object_type, fields, info)
            if row is None:
                return None
            rows.append(row)
        return rows

    def _row_fields(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList, depth: int
    ) -> list[_RowField] | None:
        """The selection on `object_type` as plain leaves and plain objects (a recommendation's item), or None
        when any selected field needs graphql-core."""
        if depth > 3:
            return None
        grouped_field_set, new_defer_usages, _forbidden = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            return None
        fields: list[_RowField] = []
        for response_name, details in grouped_field_set.items():
            name = details[0].node.name.value
            leaf = _leaf_plan(object_type, name)
            if leaf is not None:
                fields.append((response_name, leaf, None))
                continue
            nested = _nested_plan(object_type, name)
            if nested is None:
                return None
            sub = self._row_fields(nested.object_type, details, depth + 1)
            if sub is None:
                return None
            fields.append((response_name, nested, sub))
        return fields

    def _row(
        self, item: Any, object_type: GraphQLObjectType, fields: list[_RowField], info: GraphQLResolveInfo[Any]
    ) -> dict[str, Any] | None:
        """One object as a dict, or None when anything about it needs graphql-core's own completion."""
        is_type_of = object_type.is_type_of
        if item is None or (is_type_of is not None and is_type_of(item, info) is not True):
            return None
        is_awaitable = self.is_awaitable
        row: dict[str, Any] = {}
        for response_name, plan, sub in fields:
            value = plan.read(item, plan.attribute)
            if value is None:
                if not plan.nullable:
                    return None
                row[response_name] = None
                continue
            if value.__class__ not in _INERT and (isinstance(value, Exception) or is_awaitable(value)):
                return None
            if isinstance(plan, _Nested):
                nested = self._row(value, plan.object_type, sub or [], info)
                if nested is None:
                    return None
                row[response_name] = nested
                continue
            try:
                coerced = plan.coerce(value)
            except Exception:  # graphql-core's own path reports it
                return None
            if coerced is None or coerced is Undefined:
                return None
            row[response_name] = coerced
        return row

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        if not self._plain():
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        plain: dict[str, Any] = {}
        rest: GroupedFieldSet = {}
        is_awaitable = self.is_awaitable
        for response_name, field_details_list in grouped_field_set.items():
            plan = _leaf_plan(parent_type, field_details_list[0].node.name.value)
            if plan is not None:
                value = plan.read(source_value, plan.attribute)
                if value is None:
                    if plan.nullable:
                        plain[response_name] = None
                        continue
                elif value.__class__ in _INERT or (not isinstance(value, Exception) and not is_awaitable(value)):
                    try:
                        coerced = plan.coerce(value)
                    except Exception:  # graphql-core's own path below reports it
                        coerced = None
                    if coerced is not None and coerced is not Undefined:
                        plain[response_name] = coerced
                        continue
            rest[response_name] = field_details_list
        if not rest:
            return plain
        done = super().execute_fields(parent_type, source_value, path, rest, position_context)
        order = list(grouped_field_set)
        if is_awaitable(done):

            async def merged() -> dict[str, Any]:
                return _in_order(order, plain, await done)

            return merged()
        return _in_order(order, plain, done)  # type: ignore[arg-type]


def _in_order(order: list[str], plain: dict[str, Any], done: dict[str, Any]) -> dict[str, Any]:
    """The response keys in the order of the selection (clients and snapshots may rely on it)."""
    if not plain:
        return done
    both = {**plain, **done}
    return {name: both[name] for name in order if name in both}
