"""Form data against the item version's JSON Schema (Draft 2020-12), every error at once with its field path.

Field paths are '/'-separated property names (`applicant/id_number`), the same paths the sync template of that
item version uses (sync-protocol.md §12). A missing required property is reported at its own path, not at the
object that lacks it, so that a client can put the message under the right input.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError

MAX_FORM_BYTES = 64 * 1024
_CACHE_SIZE = 512
# Compiled validators per (item version id, form version): published versions are never edited in place.
_validators: OrderedDict[tuple[str, str], Draft202012Validator] = OrderedDict()
_FORMATS = FormatChecker()


@dataclass(frozen=True)
class FieldProblem:
    field: str  # '/'-separated path inside the form ('' for the form itself)
    code: str
    message: str


def _validator(key: tuple[str, str], schema: dict[str, Any]) -> Draft202012Validator:
    found = _validators.get(key)
    if found is not None:
        _validators.move_to_end(key)
        return found
    validator = Draft202012Validator(schema, format_checker=_FORMATS)
    _validators[key] = validator
    if len(_validators) > _CACHE_SIZE:
        _validators.popitem(last=False)
    return validator


def _code(error: ValidationError) -> str:
    return {
        "required": "REQUIRED",
        "type": "WRONG_TYPE",
        "pattern": "BAD_FORMAT",
        "format": "BAD_FORMAT",
        "enum": "NOT_AN_OPTION",
        "maxLength": "TOO_LONG",
        "minLength": "TOO_SHORT",
        "minimum": "OUT_OF_RANGE",
        "maximum": "OUT_OF_RANGE",
        "additionalProperties": "UNKNOWN_FIELD",
    }.get(str(error.validator), "INVALID")


def _problems(error: ValidationError) -> list[FieldProblem]:
    base = [str(part) for part in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        required: Any = error.validator_value
        missing = [name for name in required if name not in error.instance]
        return [FieldProblem("/".join([*base, name]), "REQUIRED", "this field is required") for name in missing]
    title = error.schema.get("title") if isinstance(error.schema, dict) else None
    message = f"{title}: {error.message}" if title else error.message
    return [FieldProblem("/".join(base), _code(error), message)]


def validate(form: Any, schema: dict[str, Any], *, cache_key: tuple[str, str]) -> list[FieldProblem]:
    """Every problem of `form` against `schema`, sorted by path; empty when valid."""
    if not isinstance(form, dict):
        return [FieldProblem("", "WRONG_TYPE", "the form data must be a JSON object")]
    if not schema:
        return []
    try:
        validator = _validator(cache_key, schema)
    except SchemaError:  # pragma: no cover - publish-time rules keep broken schemas out of published items
        return [FieldProblem("", "FORM_UNAVAILABLE", "this service's form cannot be checked; try again later")]
    problems: dict[tuple[str, str], FieldProblem] = {}
    for error in validator.iter_errors(form):
        for problem in _problems(error):
            problems.setdefault((problem.field, problem.code), problem)
    return sorted(problems.values(), key=lambda p: (p.field, p.code))
