"""The Fen scalar (payments.md §7): integer fen on the wire as a string of decimal digits; a JSON number, a sign,
a fraction, an exponent, leading zeros or non-ASCII digits are input errors; amounts past GraphQL's 32-bit Int
(2,147,483,648 fen = ¥21,474,836.48) pass unharmed both ways."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry
from strawberry.schema.config import StrawberryConfig

from schema.payments.scalars import FEN_SCALAR, Fen, parse_fen, serialize_fen

BEYOND_INT32 = 2_147_483_648


@strawberry.type
class _Query:
    @strawberry.field
    def echo(self, amount: Fen) -> Fen:
        assert type(amount) is int
        return Fen(amount + 1)


_SCHEMA = strawberry.Schema(query=_Query, config=StrawberryConfig(scalar_map={Fen: FEN_SCALAR}))


async def _echo(value: Any) -> Any:
    result = await _SCHEMA.execute("query($a: Fen!) { echo(amount: $a) }", variable_values={"a": value})
    if result.errors:
        return [e.message for e in result.errors]
    assert result.data is not None
    return result.data["echo"]


class TestParseFen:
    @pytest.mark.parametrize(
        ("text", "fen"), [("0", 0), ("1", 1), ("5000", 5000), ("2147483648", BEYOND_INT32), ("9" * 18, 10**18 - 1)]
    )
    def test_reads_a_string_of_decimal_digits(self, text: str, fen: int) -> None:
        assert parse_fen(text) == fen

    @pytest.mark.parametrize(
        "value",
        [5000, 50.0, True, None, "", " 5000", "5000 ", "-1", "+1", "05", "50.00", "5e3", "NaN", "²", "５０", "9" * 19],
    )
    def test_refuses_anything_else(self, value: object) -> None:
        with pytest.raises(ValueError, match="Fen must be a string of decimal digits"):
            parse_fen(value)


class TestSerializeFen:
    @pytest.mark.parametrize(("fen", "text"), [(0, "0"), (29, "29"), (BEYOND_INT32, "2147483648")])
    def test_writes_decimal_digits(self, fen: int, text: str) -> None:
        assert serialize_fen(fen) == text

    @pytest.mark.parametrize("value", [-1, True, 1.5, "5000"])
    def test_refuses_what_is_not_a_non_negative_int(self, value: object) -> None:
        with pytest.raises(ValueError, match="Fen must be a non-negative int"):
            serialize_fen(value)


class TestFenInASchema:
    async def test_a_string_variable_beyond_int32_round_trips(self) -> None:
        assert await _echo("2147483648") == "2147483649"

    async def test_a_json_number_variable_is_an_input_error(self) -> None:
        messages = await _echo(5000)
        assert len(messages) == 1
        assert "Fen must be a string of decimal digits" in messages[0]

    async def test_a_number_literal_is_an_input_error_and_a_string_literal_is_read(self) -> None:
        number = await _SCHEMA.execute("{ echo(amount: 5000) }")
        string = await _SCHEMA.execute('{ echo(amount: "5000") }')
        assert number.errors is not None and number.data is None
        assert string.errors is None and string.data == {"echo": "5001"}
