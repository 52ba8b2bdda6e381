"""The `Fen` scalar (payments.md §7): money as integer fen, a string of decimal digits on the wire.

GraphQL `Int` is 32-bit and stops at ¥21,474,836.48; a JSON number would also invite floats. Parsing accepts only a
string of ASCII digits without leading zeros (at most 18, within int64), so a JSON number is an input error.
"""

from __future__ import annotations

import re
from typing import NewType

import strawberry
from graphql import GraphQLError

_FEN = re.compile(r"0|[1-9][0-9]{0,17}")


class FenError(GraphQLError, ValueError):
    """A refused Fen input. A GraphQLError, so that graphql-core reports it as the variable's input error as it
    stands; a plain ValueError would travel as the `original_error` of one and be masked as unexpected."""


def parse_fen(value: object) -> int:
    if not isinstance(value, str) or not _FEN.fullmatch(value):
        raise FenError('Fen must be a string of decimal digits, e.g. "5000" for ¥50.00')
    return int(value)


def serialize_fen(value: object) -> str:
    # bool is an int: never let True become "1" fen.
    if type(value) is not int or value < 0:
        raise ValueError(f"Fen must be a non-negative int, got {value!r}")
    return str(value)


Fen = NewType("Fen", int)
FEN_SCALAR = strawberry.scalar(
    name="Fen",
    serialize=serialize_fen,
    parse_value=parse_fen,
    description="Amount in integer fen (分), as a string of decimal digits.",
)
