"""Unexpected errors are masked for clients and logged; expected and access errors pass through."""

from __future__ import annotations

import logging

import pytest
import strawberry
from strawberry.exceptions import StrawberryGraphQLError
from strawberry.extensions import MaskErrors

from schema.masking import should_mask


@strawberry.type
class _Query:
    @strawberry.field
    def broken(self) -> str:
        raise RuntimeError("database password is hunter2")

    @strawberry.field
    def echo(self, n: int) -> int:
        return n

    @strawberry.field
    def refused(self) -> str:
        raise StrawberryGraphQLError("sign in first", extensions={"code": "UNAUTHENTICATED"})


_schema = strawberry.Schema(
    query=_Query, extensions=[lambda: MaskErrors(should_mask_error=should_mask, error_message="Unexpected error.")]
)


class TestShouldMask:
    async def test_hides_the_message_of_an_unexpected_error_and_logs_it(self, caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.ERROR, logger="zsb.graphql"):
            result = await _schema.execute("{ broken }")
        assert result.errors is not None and result.errors[0].message == "Unexpected error."
        assert "hunter2" in caplog.text  # kept for operators, never sent to clients

    async def test_passes_access_errors_through(self) -> None:
        result = await _schema.execute("{ refused }")
        assert result.errors is not None and result.errors[0].message == "sign in first"
        assert result.errors[0].extensions == {"code": "UNAUTHENTICATED"}

    async def test_passes_validation_errors_through(self) -> None:
        result = await _schema.execute("{ nope }")
        assert result.errors is not None and "nope" in result.errors[0].message

    async def test_passes_a_variables_coercion_error_through(self) -> None:
        result = await _schema.execute("query($n: Int!) { echo(n: $n) }", variable_values={"n": "abc"})
        message = "Variable '$n' has invalid value: Int cannot represent non-integer value: 'abc'"
        assert result.errors is not None and result.errors[0].message == message
