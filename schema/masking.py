"""Which errors reach clients as they are: validation and access errors do; anything unexpected is masked and
logged with the request id (returned to the client in `extensions.requestId`)."""

from __future__ import annotations

import logging

from graphql.error import GraphQLError
from strawberry.exceptions import StrawberryGraphQLError

log = logging.getLogger("zsb.graphql")


def should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or isinstance(original, StrawberryGraphQLError):
        return False
    log.error("unexpected error in %s", ".".join(str(p) for p in error.path or ()), exc_info=original)
    return True
