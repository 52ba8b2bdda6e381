"""HTTP caching of public reads (graphql.md §4): a GET persisted query that reads only public root fields, sent
without a token, may be cached by the CDN and the client for a minute; everything else is never cached."""

from __future__ import annotations

from functools import lru_cache

import strawberry
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from strawberry.permission import PermissionExtension

from schema.access import Public

PUBLIC_MAX_AGE_SECONDS = 60
PRIVATE = {"Cache-Control": "no-store"}


def public_query_fields(schema: strawberry.Schema) -> frozenset[str]:
    query_type = schema._schema.query_type
    assert query_type is not None
    public = set()
    for name in query_type.fields:
        field = schema.get_field_for_type(name, query_type.name)
        permissions = [
            type(p)
            for ext in (field.extensions if field else [])
            if isinstance(ext, PermissionExtension)
            for p in ext.permissions
        ]
        if permissions == [Public]:
            public.add(name)
    return frozenset(public)


@lru_cache(maxsize=1024)
def _root_fields(query: str, operation_name: str | None) -> frozenset[str] | None:
    """Root fields of the query operation chosen; None when it is not a plain query (or does not parse)."""
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)]
    if len(chosen) != 1 or chosen[0].operation is not OperationType.QUERY:
        return None
    selections = chosen[0].selection_set.selections
    if not all(isinstance(node, FieldNode) for node in selections):
        return None  # fragments at the root: not worth analysing for a cache header
    return frozenset(node.name.value for node in selections if isinstance(node, FieldNode))


def headers_for(
    *, method: str, anonymous: bool, query: str, operation_name: str | None, public_fields: frozenset[str], ok: bool
) -> dict[str, str]:
    if method != "GET" or not anonymous or not ok:
        return PRIVATE
    fields = _root_fields(query, operation_name)
    if fields is None or not fields <= public_fields | {"__typename"}:
        return PRIVATE
    return {"Cache-Control": f"public, max-age={PUBLIC_MAX_AGE_SECONDS}", "Vary": "Authorization, Accept-Encoding"}
