"""Which errors reach clients as they are: validation and access errors do; anything unexpected is masked and
logged with the request id (returned to the client in `extensions.requestId`)."""

from __future__ import annotations

import logging

from graphql.error import GraphQLError

log = logging.getLogger("zsb.graphql")


def should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    # A GraphQLError cause is graphql-core's own account of bad input (graphql-core 3.3 wraps a variable's coercion
    # error, built-in scalars' and custom ones' alike, as the cause of "Variable '$x' has invalid value"): the
    # client's to read, like access errors (StrawberryGraphQLError is one).
    if original is None or isinstance(original, GraphQLError):
        return False
    log.error("unexpected error in %s", ".".join(str(p) for p in error.path or ()), exc_info=original)
    return True
