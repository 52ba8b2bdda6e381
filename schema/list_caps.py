"""The API-wide cap on input lists (graphql.md §3: 100 items), checked on the variables before execution."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLSchema,
    OperationDefinitionNode,
    get_nullable_type,
    is_input_type,
    parse,
)
from graphql.utilities import type_from_ast

from schema.sync.inputs import SERVICE_CAPPED_CEILING, SERVICE_CAPPED_LISTS


def _longest_list(value: object) -> int:
    if isinstance(value, list):
        return max([len(value), *(_longest_list(item) for item in value)])
    if isinstance(value, dict):
        return max([0, *(_longest_list(item) for item in value.values())])
    return 0


def overlong_list(
    schema: GraphQLSchema, query: str, operation_name: str | None, variables: dict[str, Any], cap: int, max_tokens: int
) -> bool:
    """Whether a variable holds a list over `cap` that no specification caps itself.

    Some lists answer their own limit with a typed error (graphql.md §3: "the specification's check replaces the
    generic one"): syncPush's `mutations` (over 100 → SyncPushRejected PAYLOAD_TOO_LARGE) and a mutation's `ops`
    (→ that mutation REJECTED VALUE_TOO_LARGE). A generic INPUT_LIST_TOO_LONG there would turn a typed answer the
    device acts on into a top-level error it cannot. Those lists still stop at SERVICE_CAPPED_CEILING × `cap`, so
    that the coercion work for an absurd batch stays bounded below what the 1 MiB body alone would allow.

    Reading the variables' declared types needs the document, so this runs only when the cheap untyped walk found a
    list over the cap; a document that does not parse is left to execution to refuse.
    """
    if _longest_list(variables) <= cap:
        return False
    try:
        document = parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return False
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name is not None and (definition.name is None or definition.name.value != operation_name):
            continue
        for variable in definition.variable_definitions or ():
            kind = type_from_ast(schema, variable.type)
            name = variable.variable.name.value
            if is_input_type(kind) and name in variables and _typed_overlong(variables[name], kind, cap, cap):
                return True
    return False


def _typed_overlong(value: object, kind: Any, cap: int, limit: int) -> bool:
    kind = get_nullable_type(kind)
    if isinstance(kind, GraphQLList) and isinstance(value, list):
        return len(value) > limit or any(_typed_overlong(item, kind.of_type, cap, cap) for item in value)
    if isinstance(kind, GraphQLInputObjectType) and isinstance(value, dict):
        for name, field in kind.fields.items():
            own = (kind.name, name) in SERVICE_CAPPED_LISTS
            if name in value and _typed_overlong(
                value[name], field.type, cap, cap * SERVICE_CAPPED_CEILING if own else cap
            ):
                return True
        return False
    # A scalar (JSON) holds its lists untyped; anything else is left to validation to refuse.
    return _longest_list(value) > limit
