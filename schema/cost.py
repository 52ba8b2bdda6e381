"""Query cost (graphql.md §3): 1 per field, list fields multiplied by `first` or their declared maximum.

The declared maximum of a list without `first` is the "at most N" of its description: the schema states it where
clients read it, and this rule reads the same sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
)
from strawberry.extensions import SchemaExtension

from api.kit.pagination import DEFAULT_FIRST

_AT_MOST = re.compile(r"at most (\d[\d,]*)", re.IGNORECASE)
DEFAULT_LIST_MAX = 100
# sync-protocol.md §6 / graphql.md §3: the two sync operations are bounded by the server, not their selection:
# every selected field counts once, plus the pull's clamped `limit` (default 50, 1..200) or the number of
# mutations pushed. A push of more than 100 is answered PAYLOAD_TOO_LARGE without results, so it counts 100:
# refusing it here as too costly would pre-empt that typed answer.
PULL_LIMIT_DEFAULT, PULL_LIMIT_MAX, PUSH_MAX = 50, 200, 100


def declared_max(field: GraphQLField) -> int:
    match = _AT_MOST.search(field.description or "")
    return int(match.group(1).replace(",", "")) if match else DEFAULT_LIST_MAX


class _Costing:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, object],
    ):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def selection(
        self, parent: object, selection_set: SelectionSetNode | None, seen: frozenset[str], pending: int | None = None
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += self.field(parent, node, seen, pending)
            elif isinstance(node, InlineFragmentNode):
                target = self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent
                total += self.selection(target, node.selection_set, seen, pending)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                fragment = self.fragments.get(node.name.value)
                if fragment is not None:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    total += self.selection(target, fragment.selection_set, seen | {node.name.value}, pending)
        return total

    def _fields(self, parent: object) -> dict[str, GraphQLField]:
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return dict(parent.fields)
        if isinstance(parent, GraphQLUnionType):
            merged: dict[str, GraphQLField] = {}
            for member in parent.types:
                merged.update(member.fields)
            return merged
        return {}

    def field(self, parent: object, node: FieldNode, seen: frozenset[str], pending: int | None = None) -> int:
        """`pending`: the `first` of an enclosing connection, which bounds its `edges` list."""
        definition = self._fields(parent).get(node.name.value)
        if definition is None:
            return 1
        budget = self._sync_budget(parent, node)
        if budget is not None:
            return 1 + self.flat(node.selection_set, seen) + budget
        own = self._argument_bound(definition, node)
        named = get_named_type(definition.type)
        if isinstance(get_nullable_type(definition.type), GraphQLList):
            inner = self.selection(named, node.selection_set, seen)
            return 1 + (own or pending or declared_max(definition)) * max(inner, 1)
        # A connection: its `first` reaches the edges below it, not this object field itself.
        return 1 + self.selection(named, node.selection_set, seen, own)

    def flat(self, selection_set: SelectionSetNode | None, seen: frozenset[str]) -> int:
        """Every field selected below, once each, lists not multiplied."""
        total = 0
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                total += 1 + self.flat(node.selection_set, seen)
            elif isinstance(node, InlineFragmentNode):
                total += self.flat(node.selection_set, seen)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                fragment = self.fragments.get(node.name.value)
                if fragment is not None:
                    total += self.flat(fragment.selection_set, seen | {node.name.value})
        return total

    def _sync_budget(self, parent: object, node: FieldNode) -> int | None:
        name = node.name.value
        if name not in ("syncPull", "syncPush") or parent not in (self.schema.query_type, self.schema.mutation_type):
            return None
        given = self._input(node)
        if name == "syncPush":
            mutations = given.get("mutations")
            return min(len(mutations), PUSH_MAX) if isinstance(mutations, list) else PUSH_MAX
        limit = given.get("limit")
        return max(1, min(limit, PULL_LIMIT_MAX)) if isinstance(limit, int) else PULL_LIMIT_DEFAULT

    def _input(self, node: FieldNode) -> dict[str, object]:
        """The `input` argument as far as a budget reads it: `limit` as an int, `mutations` as a list."""
        for argument in node.arguments or ():
            value = argument.value
            if argument.name.value != "input":
                continue
            if isinstance(value, VariableNode):
                found = self.variables.get(value.name.value)
                return found if isinstance(found, dict) else {}
            if isinstance(value, ObjectValueNode):
                given: dict[str, object] = {}
                for item in value.fields:
                    inner = item.value
                    if isinstance(inner, IntValueNode):
                        given[item.name.value] = int(inner.value)
                    elif isinstance(inner, ListValueNode):
                        given[item.name.value] = list(inner.values)
                return given
        return {}

    def _argument_bound(self, definition: GraphQLField, node: FieldNode) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value in ("first", "limit"):
                value = argument.value
                raw: object = None
                if isinstance(value, IntValueNode):
                    raw = int(value.value)
                elif isinstance(value, VariableNode):
                    raw = self.variables.get(value.name.value)
                if isinstance(raw, int):
                    return max(1, min(raw, declared_max(definition)))
        if "first" in definition.args:
            return DEFAULT_FIRST  # what the server returns when `first` is omitted
        if "limit" in definition.args:
            return declared_max(definition)
        return None


def document_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, object],
) -> int:
    root = schema.get_root_type(operation.operation)
    return _Costing(schema, fragments, variables).selection(root, operation.selection_set, frozenset())


# The cost of a document depends only on its text, the operation chosen and the variables that bound lists; the
# walk over a large page costs as much as a tenth of its execution, so repeated documents are costed once.
_CostKey = tuple[str, str | None, tuple[tuple[str, int], ...]]
_COSTS: dict[_CostKey, int] = {}
_COSTS_MAX = 2048


def _bounding(variables: dict[str, object]) -> tuple[tuple[str, int], ...]:
    """The variables the walk can read as a bound: `_argument_bound` uses a variable only when it is an int, and
    the sync budgets an input's `limit` and number of `mutations`, so the rest (a mutation's whole input, an
    idempotency key) need not make every request a cache miss."""
    bounds = [(name, value) for name, value in variables.items() if isinstance(value, int)]
    for name, value in variables.items():
        if isinstance(value, dict):
            if isinstance(value.get("limit"), int):
                bounds.append((f"{name}.limit", value["limit"]))
            if isinstance(value.get("mutations"), list):
                bounds.append((f"{name}.mutations", len(value["mutations"])))
    return tuple(sorted(bounds))


def _cached_cost(key: _CostKey, compute: Callable[[], int]) -> int:
    cost = _COSTS.get(key)
    if cost is None:
        if len(_COSTS) >= _COSTS_MAX:
            _COSTS.clear()
        cost = _COSTS[key] = compute()
    return cost


class CostLimiter(SchemaExtension):
    def __init__(self, *, max_cost: int) -> None:
        self.max_cost = max_cost
        self.cost: int | None = None

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None:
            fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            chosen = next(
                (
                    op
                    for op in operations
                    if ctx.operation_name is None or (op.name and op.name.value == ctx.operation_name)
                ),
                None,
            )
            if chosen is not None:
                variables = dict(ctx.variables or {})
                key = (ctx.query or "", ctx.operation_name, _bounding(variables))
                self.cost = _cached_cost(key, lambda: document_cost(ctx.schema._schema, chosen, fragments, variables))
                if self.cost > self.max_cost:
                    # A result set before execution replaces it: nothing is resolved.
                    ctx.result = ExecutionResult(
                        data=None,
                        errors=[
                            GraphQLError(
                                f"query cost {self.cost} exceeds the limit of {self.max_cost}",
                                extensions={
                                    "code": "QUERY_TOO_COSTLY",
                                    "cost": self.cost,
                                    "maxCost": self.max_cost,
                                },
                            )
                        ],
                    )
        yield

    def get_results(self) -> dict[str, object]:
        return {"cost": self.cost} if self.cost is not None else {}
