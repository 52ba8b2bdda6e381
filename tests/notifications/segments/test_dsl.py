"""parse_segment: every bad input is a typed INVALID_SEGMENT naming its path; good input picks its root entity."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from notifications.errors import NotificationsError, NotificationsErrorCode
from notifications.segment_dsl import MAX_DEPTH, Root
from notifications.segment_fields import years_before
from notifications.segments import parse_segment

REGION = {"field": "resident.region_code", "op": "eq", "value": "990102"}
AGE = {"field": "resident.age", "op": "gte", "value": 60}


def nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = REGION
    for _ in range(depth - 1):
        node = {"not": node}
    return node


def refused(dsl: object) -> NotificationsError:
    with pytest.raises(NotificationsError) as caught:
        parse_segment(dsl)
    assert caught.value.error_code is NotificationsErrorCode.INVALID_SEGMENT
    return caught.value


class TestParseSegment:
    @pytest.mark.parametrize(
        ("dsl", "path"),
        [
            ({"all": [REGION, {"field": "resident.salary", "op": "eq", "value": 1}]}, ["dsl", "all", "1", "field"]),
            ({"all": [REGION, {"field": "resident.age", "op": "like", "value": 60}]}, ["dsl", "all", "1", "op"]),
            ({"field": "resident.age", "op": "gte", "value": "60"}, ["dsl", "value"]),
            ({"field": "resident.age", "op": "gte", "value": True}, ["dsl", "value"]),
            ({"field": "resident.age", "op": "gte", "value": 60.5}, ["dsl", "value"]),
            ({"field": "resident.age", "op": "between", "value": [70, 60]}, ["dsl", "value"]),
            ({"field": "resident.region_code", "op": "eq", "value": "3301"}, ["dsl", "value"]),
            ({"field": "resident.region_code", "op": "in", "value": []}, ["dsl", "value"]),
            ({"field": "enterprise.size", "op": "eq", "value": "HUGE"}, ["dsl", "value"]),
            ({"field": "resident.mobile", "op": "eq", "value": "1380000"}, ["dsl", "value"]),
            ({"field": "resident.mobile", "op": "prefix", "value": "%"}, ["dsl", "value"]),
            ({"field": "license.expires_within_days", "op": "lte", "value": -1}, ["dsl", "value"]),
            ({"field": "application.status", "op": "eq", "value": "DRAFT"}, ["dsl", "value"]),
            ({"field": "resident.region_code", "op": "eq", "value": "990102; DROP TABLE person"}, ["dsl", "value"]),
            (
                {"any": [REGION, {"field": "resident.gender", "op": "eq", "value": "1 OR 1=1"}]},
                ["dsl", "any", "1", "value"],
            ),
            ({"field": "resident.region_code", "op": "in", "value": ["990102", "x' --"]}, ["dsl", "value", "1"]),
            ({"field": "resident.region_code", "op": "eq", "value": "/* */990102"}, ["dsl", "value"]),
            ({"field": "select id from person", "op": "eq", "value": "1"}, ["dsl", "field"]),
            ({"all": [REGION], "sql": "1"}, ["dsl"]),
            ({"all": []}, ["dsl", "all"]),
            ({"any": REGION}, ["dsl", "any"]),
            ({"all": [REGION, "resident.age >= 60"]}, ["dsl", "all", "1"]),
            ([REGION], ["dsl"]),
            ("resident.age >= 60", ["dsl"]),
            ({"field": "resident.region_code", "op": "eq"}, ["dsl"]),
            (
                {"all": [REGION, {"field": "enterprise.size", "op": "eq", "value": "SMALL"}]},
                ["dsl", "all", "0", "field"],
            ),
            (
                {
                    "all": [
                        {"field": "license.type_code", "op": "eq", "value": "T1"},
                        {"field": "application.status", "op": "eq", "value": "SUBMITTED"},
                    ]
                },
                ["dsl", "all", "1", "field"],
            ),
            ({"all": [AGE, {"field": "audience", "op": "eq", "value": "enterprise"}]}, ["dsl", "all", "1", "value"]),
        ],
    )
    def test_bad_input_is_refused_with_its_path(self, dsl: object, path: list[str]) -> None:
        # given a DSL with one defect; when parsed; then the typed error names where it is
        assert refused(dsl).path == path

    def test_depth_beyond_the_limit_is_refused(self) -> None:
        # given the deepest accepted nesting and one more level
        assert parse_segment(nested(MAX_DEPTH)).predicates == 1
        # when one level deeper; then refused at the predicate that is too deep
        error = refused(nested(MAX_DEPTH + 1))
        assert error.path == ["dsl", *["not"] * MAX_DEPTH]

    def test_more_than_100_predicates_are_refused(self) -> None:
        assert parse_segment({"any": [REGION] * 100}).predicates == 100
        assert refused({"any": [REGION] * 101}).path == ["dsl", "any", "100"]

    @pytest.mark.parametrize(
        ("dsl", "root"),
        [
            ({"all": [REGION, AGE]}, Root.PERSON),
            ({"field": "application.status", "op": "in", "value": ["SUBMITTED"]}, Root.PERSON),
            ({"field": "enterprise.industry_code", "op": "prefix", "value": "H62"}, Root.ENTERPRISE),
            (
                {
                    "all": [
                        {"field": "audience", "op": "eq", "value": "enterprise"},
                        {"field": "application.task_code", "op": "eq", "value": "T1"},
                    ]
                },
                Root.ENTERPRISE,
            ),
            (
                {
                    "all": [
                        {"field": "enterprise.industry_code", "op": "eq", "value": "H6210"},
                        {"field": "license.expires_within_days", "op": "lte", "value": 30},
                    ]
                },
                Root.LICENSE,
            ),
            (
                {"all": [AGE, {"field": "license.valid_to", "op": "between_days_from_today", "value": [0, 30]}]},
                Root.LICENSE,
            ),
        ],
    )
    def test_the_root_entity_follows_the_fields(self, dsl: dict[str, Any], root: Root) -> None:
        assert parse_segment(dsl).root is root


class TestYearsBefore:
    @pytest.mark.parametrize(
        ("today", "years", "cutoff"),
        [
            (date(2031, 3, 3), 60, date(1971, 3, 3)),
            (date(2028, 2, 29), 60, date(1968, 2, 29)),  # leap to leap
            (date(2028, 2, 29), 61, date(1967, 2, 28)),  # leap day into a common year
            (date(2031, 2, 28), 3, date(2028, 2, 28)),
        ],
    )
    def test_same_local_date_earlier(self, today: date, years: int, cutoff: date) -> None:
        assert years_before(today, years) == cutoff
