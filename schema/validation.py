"""Validation results remembered by query text.

strawberry's ValidationCache keys its LRU by the parsed document, and a graphql-core document hashes by walking
its whole tree on every lookup (≈2 % of a page request). The document is a function of the query text (the
parser cache hands out one document per text) and validation depends only on the document, the schema and the
rules, so the text, the schema and the rules are the key here: same results, no walk.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSchema
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

_Key = tuple[GraphQLSchema, str, tuple[type[ASTValidationRule], ...]]
_VALIDATED: dict[_Key, list[GraphQLError]] = {}


class ValidationCache(SchemaExtension):
    def __init__(self, *, maxsize: int) -> None:
        self.maxsize = maxsize

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        schema = ctx.schema._schema
        document = ctx.graphql_document
        assert document is not None  # strawberry validates only a parsed document
        if ctx.query is None:
            ctx.pre_execution_errors = validate_document(schema, document, ctx.validation_rules)
            yield
            return
        key = (schema, ctx.query, ctx.validation_rules)
        errors = _VALIDATED.get(key)
        if errors is None:
            errors = validate_document(schema, document, ctx.validation_rules)
            if len(_VALIDATED) >= self.maxsize:
                del _VALIDATED[next(iter(_VALIDATED))]
            _VALIDATED[key] = errors
        ctx.pre_execution_errors = errors
        yield
