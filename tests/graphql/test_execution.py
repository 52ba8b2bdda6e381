"""The short execution path (schema/execution.py) answers exactly what graphql-core answers, errors included."""

from __future__ import annotations

import asyncio
import gc
from enum import Enum
from typing import Any

import strawberry

from schema.execution import ExecutionContext


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Badge:
    code: str
    colour: Colour
    level: int | None


@strawberry.type
class Row:
    name: str
    badge: Badge | None
    must: Badge

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


def _rows(must_missing: bool = False) -> list[Row]:
    badge = Badge(code="b1", colour=Colour.BLUE, level=3)
    return [
        Row(name="a", badge=badge, must=badge),
        Row(name="b", badge=None, must=None if must_missing else Badge(code="b2", colour=Colour.RED, level=None)),  # type: ignore[arg-type]
    ]


@strawberry.type
class Query:
    @strawberry.field
    def rows(self) -> list[Row]:
        return _rows()

    @strawberry.field
    def broken(self) -> list[Row]:
        return _rows(must_missing=True)

    @strawberry.field
    async def later(self) -> list[Row]:
        await asyncio.sleep(0)
        return _rows()


FAST = strawberry.Schema(query=Query, execution_context_class=ExecutionContext)
SLOW = strawberry.Schema(query=Query)


async def _both(query: str) -> tuple[dict[str, Any], dict[str, Any]]:
    answers = []
    for schema in (FAST, SLOW):
        result = await schema.execute(query)
        answers.append({"data": result.data, "errors": [e.formatted for e in result.errors or []]})
    return answers[0], answers[1]


class TestPlainRows:
    async def test_nested_plain_objects_and_nulls_answer_as_graphql_core(self) -> None:
        fast, slow = await _both("{ rows { name badge { code colour level } must { colour code } } }")
        assert fast == slow
        assert fast["data"]["rows"][1] == {"name": "b", "badge": None, "must": {"colour": "RED", "code": "b2"}}

    async def test_a_field_with_a_resolver_inside_the_selection_answers_as_graphql_core(self) -> None:
        fast, slow = await _both("{ rows { name shout alias: badge { c: code } } }")
        assert fast == slow and fast["data"]["rows"][0] == {"name": "a", "shout": "A", "alias": {"c": "b1"}}

    async def test_a_null_for_a_non_null_nested_object_errs_as_graphql_core(self) -> None:
        fast, slow = await _both("{ broken { name must { code } } }")
        assert fast == slow
        assert fast["data"] is None and fast["errors"][0]["path"] == ["broken", 1, "must"]


class TestAnsweredExecutions:
    async def test_leave_nothing_to_the_cyclic_collector(self) -> None:
        # given: caches warm, nothing pending
        query = "{ rows { name badge { code } } later { name must { colour } } }"
        await FAST.execute(query)
        gc.collect()

        # when
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            result = await FAST.execute(query)
            assert not result.errors
            del result
            gc.collect()
            # validation leaves cycles too, but only for a document not seen before (the API caches validations)
            left = [o for o in gc.garbage if type(o).__module__.startswith(("graphql.execution", "schema."))]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()

        # then: reference counting freed the whole execution (graphql-core's helpers no longer hold it in a cycle)
        assert [type(o).__qualname__ for o in left] == []
