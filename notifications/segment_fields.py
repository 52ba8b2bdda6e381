"""The whitelist of segment fields (notifications.md §C3): each name → its entity, the ops it allows, the value
each op takes and the ORM lookup it compiles to. Operators never supply SQL: a value only ever fills a lookup.

Tags are not here: no tag storage exists yet, so the field would have nothing to compile to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q

from api.models.applications import ApplicationStatus
from api.models.identity import EnterpriseSize
from api.models.licenses import LicenseStatus


class Entity(StrEnum):
    """What a field describes; the prefix of its name."""

    RESIDENT = "resident"
    ENTERPRISE = "enterprise"
    LICENSE = "license"
    APPLICATION = "application"
    AUDIENCE = "audience"


class BadValue(ValueError):
    """A value that does not fit its op; the parser turns it into INVALID_SEGMENT with the value's path."""


Value = str | int | tuple[str, ...] | tuple[int, int]
# (op, checked value, today) → Q over the field's entity model
Compile = Callable[[str, Value, date], Q]
Check = Callable[[object], Value]


@dataclass(frozen=True)
class FieldDef:
    name: str
    entity: Entity
    ops: Mapping[str, Check]
    compile: Compile


REGION_CODE = re.compile(r"^(\d{6}|\d{9}|\d{12})$")
REGION_PREFIX = re.compile(r"^\d{2,12}$")
INDUSTRY_CODE = re.compile(r"^[A-T](\d{0,4})$")
TYPE_CODE = re.compile(r"^[0-9A-Za-z]{1,21}$")
MOBILE = re.compile(r"^1\d{10}$")
MOBILE_PREFIX = re.compile(r"^1\d{2,10}$")
TASK_CODE = re.compile(r"^[0-9A-Za-z]{1,36}$")
GENDERS = ("0", "1", "2", "9")  # GB/T 2261.1
MAX_IN = 1000
MAX_AGE = 150
MAX_DAYS = 36_500


def _string(pattern: re.Pattern[str], what: str) -> Check:
    def check(value: object) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            raise BadValue(f"expected {what}")
        return value

    return check


def _choice(allowed: tuple[str, ...], what: str) -> Check:
    def check(value: object) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise BadValue(f"expected {what}: one of {', '.join(allowed)}")
        return value

    return check


def _list_of(item: Check) -> Check:
    def check(value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not value or len(value) > MAX_IN:
            raise BadValue(f"expected a list of 1 to {MAX_IN} values")
        return tuple(str(item(v)) for v in value)

    return check


def _int(low: int, high: int) -> Check:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise BadValue(f"expected an integer from {low} to {high}")
        return value

    return check


def _range(low: int, high: int) -> Check:
    def check(value: object) -> tuple[int, int]:
        if not isinstance(value, list) or len(value) != 2:
            raise BadValue("expected [from, to]")
        first, last = value
        for bound in (first, last):
            if isinstance(bound, bool) or not isinstance(bound, int) or not low <= bound <= high:
                raise BadValue(f"expected integers from {low} to {high}")
        if first > last:
            raise BadValue("expected from ≤ to")
        return (first, last)

    return check


def years_before(today: date, years: int) -> date:
    """The same local date `years` earlier; 29 February becomes 28 February in a common year."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def _age(op: str, value: Value, today: date) -> Q:
    # age ≥ N ⇔ born on or before the cutoff; age ≤ N ⇔ not yet N + 1 ⇔ born after the N + 1 cutoff
    def at_least(n: int) -> Q:
        return Q(birth_date__lte=years_before(today, n))

    def at_most(n: int) -> Q:
        return Q(birth_date__gt=years_before(today, n + 1))

    if op == "gte":
        assert isinstance(value, int)
        return at_least(value)
    if op == "lte":
        assert isinstance(value, int)
        return at_most(value)
    assert isinstance(value, tuple)
    first, last = value
    return at_least(int(first)) & at_most(int(last))


def _column(column: str) -> Compile:
    """eq / in / prefix on one column."""

    def compile_(op: str, value: Value, today: date) -> Q:
        lookups: dict[str, Any] = (
            {column: value}
            if op == "eq"
            else {f"{column}__in": list(value) if isinstance(value, tuple) else [value]}
            if op == "in"
            else {f"{column}__startswith": value}
        )
        return Q(**lookups)

    return compile_


def _expires_within(op: str, value: Value, today: date) -> Q:
    # Only a licence still valid can expire; one already past valid_to never matches.
    assert isinstance(value, int)
    return Q(valid_to__gte=today, valid_to__lte=today + timedelta(days=value), status=LicenseStatus.VALID)


def _valid_to_between(op: str, value: Value, today: date) -> Q:
    assert isinstance(value, tuple)
    first, last = int(value[0]), int(value[1])
    return Q(valid_to__gte=today + timedelta(days=first), valid_to__lte=today + timedelta(days=last))


def _audience(op: str, value: Value, today: date) -> Q:
    raise AssertionError("audience is compiled against the root (segments.py)")


_region = _string(REGION_CODE, "a 6, 9 or 12 digit region code")
_region_prefix = _string(REGION_PREFIX, "a region code prefix of 2 to 12 digits")
_industry = _string(INDUSTRY_CODE, "a GB/T 4754 industry code (letter and up to 4 digits)")
_size = _choice(tuple(s.value for s in EnterpriseSize), "an enterprise size")
_gender = _choice(GENDERS, "a GB/T 2261.1 gender code")
_type_code = _string(TYPE_CODE, "a licence type code")
_mobile = _string(MOBILE, "an 11-digit mobile number")
_mobile_prefix = _string(MOBILE_PREFIX, "the first 3 to 11 digits of a mobile number")
_app_status = _choice(tuple(s.value for s in ApplicationStatus if s is not ApplicationStatus.DRAFT), "a status")
_task_code = _string(TASK_CODE, "a task code")


def _field(name: str, ops: Mapping[str, Check], compile_: Compile) -> FieldDef:
    return FieldDef(name=name, entity=Entity(name.split(".", maxsplit=1)[0]), ops=ops, compile=compile_)


def _region_ops() -> dict[str, Check]:
    return {"eq": _region, "in": _list_of(_region), "prefix": _region_prefix}


FIELDS: dict[str, FieldDef] = {
    f.name: f
    for f in (
        _field("audience", {"eq": _choice(("person", "enterprise"), "an audience")}, _audience),
        _field("resident.region_code", _region_ops(), _column("region_code")),
        _field(
            "resident.age",
            {"gte": _int(0, MAX_AGE), "lte": _int(0, MAX_AGE), "between": _range(0, MAX_AGE)},
            _age,
        ),
        _field("resident.gender", {"eq": _gender, "in": _list_of(_gender)}, _column("gender")),
        # A number range (a carrier's or a pilot group's prefix) or named numbers; previews still mask them.
        _field(
            "resident.mobile",
            {"eq": _mobile, "in": _list_of(_mobile), "prefix": _mobile_prefix},
            _column("mobile"),
        ),
        _field(
            "enterprise.industry_code",
            {"eq": _industry, "in": _list_of(_industry), "prefix": _industry},
            _column("industry_code"),
        ),
        _field("enterprise.size", {"eq": _size, "in": _list_of(_size)}, _column("size")),
        _field("enterprise.region_code", _region_ops(), _column("region_code")),
        _field("license.type_code", {"eq": _type_code, "in": _list_of(_type_code)}, _column("type_code")),
        _field("license.expires_within_days", {"lte": _int(0, MAX_DAYS)}, _expires_within),
        _field(
            "license.valid_to",
            {"between_days_from_today": _range(-MAX_DAYS, MAX_DAYS)},
            _valid_to_between,
        ),
        _field("application.status", {"eq": _app_status, "in": _list_of(_app_status)}, _column("status")),
        _field("application.task_code", {"eq": _task_code, "in": _list_of(_task_code)}, _column("task_code")),
    )
}
