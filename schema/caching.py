"""Caching of public reads (graphql.md §4). A GET query that reads only public root fields, sent without a token,
is the same for everyone: its response is kept in Redis under the catalog's version (a publish moves to new keys)
and may be cached by CDNs and clients for a minute. Everything else is never cached."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

import orjson
import strawberry
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from strawberry.permission import PermissionExtension

from api.catalog import search
from api.kit.redis import Redis
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


PUBLIC = {"Cache-Control": f"public, max-age={PUBLIC_MAX_AGE_SECONDS}", "Vary": "Authorization, Accept-Encoding"}


def is_public_read(
    *, method: str, anonymous: bool, query: str, operation_name: str | None, public_fields: frozenset[str]
) -> bool:
    if method != "GET" or not anonymous:
        return False
    fields = _root_fields(query, operation_name)
    return fields is not None and fields <= public_fields | {"__typename"}


async def response_key(redis: Redis, query: str, operation_name: str | None, variables: dict[str, Any]) -> str:
    version = await redis.get(search.VERSION_KEY)
    request = orjson.dumps([query, operation_name, variables], option=orjson.OPT_SORT_KEYS)
    return f"gql:public:{int(version or 0)}:{hashlib.sha256(request).hexdigest()}"
