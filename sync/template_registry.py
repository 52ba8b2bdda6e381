"""The template registry of sync-protocol.md §12: one template per (service code, form version), derived from the
catalog's item versions and cached, since a published item version's form is never edited in place.

Only templates that exist are cached: a version this instance cannot find yet (a rolling deploy, or a form
published a moment ago) is looked up again on the next push, so FORM_VERSION_UNKNOWN stays temporary.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from api.catalog.read import MAX_CODE, PUBLIC_STATUSES
from api.models import ServiceItem
from sync.templates import FormTemplate, TemplateError, derive

log = logging.getLogger(__name__)

FORM_VERSION_UNKNOWN = "FORM_VERSION_UNKNOWN"
MAX_VERSION = 64  # ServiceItem.form_version's column
_CACHE_SIZE = 512
_cache: OrderedDict[tuple[str, str], FormTemplate] = OrderedDict()
# Templates registered in code (test templates, §14.2) stay put: the cache may evict, these may not.
_registered: dict[tuple[str, str], FormTemplate] = {}


class FormVersionUnknown(Exception):
    """Temporary (§8.2): the push stops at this mutation without advancing LMID; the client retries later."""

    code = FORM_VERSION_UNKNOWN
    retryable = True

    def __init__(self, service_code: str, version: str) -> None:
        super().__init__(f"form version {version!r} of {service_code!r} is not known here yet; retry later")
        self.service_code = service_code
        self.version = version


def _key(service_code: str, version: str) -> tuple[str, str] | None:
    code, name = service_code.strip().upper(), version.strip()
    if not code or not name or len(code) > MAX_CODE or len(name) > MAX_VERSION:
        return None
    return code, name


def register(template: FormTemplate) -> None:
    key = _key(template.service_code, template.version)
    if key is None:
        raise ValueError("a template needs a service code and a version")
    _registered[key] = template


def clear() -> None:
    """Forget every cached and registered template (tests that publish forms of their own)."""
    _cache.clear()
    _registered.clear()


async def find(service_code: str, version: str) -> FormTemplate | None:
    key = _key(service_code, version)
    if key is None:
        return None
    if key in _registered:
        return _registered[key]
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    row = (
        await ServiceItem.filter(task_code=key[0], form_version=key[1], status__in=list(PUBLIC_STATUSES))
        .order_by("-version")
        .first()
    )
    if row is None:
        return None
    try:
        template = derive(row.task_code, row.form_version, row.form_schema)
    except TemplateError as exc:
        log.error("no sync template for %s form %s: %s", row.task_code, row.form_version, exc)
        return None
    _cache[key] = template
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return template


async def require(service_code: str, version: str) -> FormTemplate:
    """The template a push needs; FormVersionUnknown (temporary) when there is none yet."""
    found = await find(service_code, version)
    if found is None:
        raise FormVersionUnknown(service_code, version)
    return found


async def chain(service_code: str, source: str, target: str) -> list[FormTemplate]:
    """The templates from form version `source` to `target` in the order the item's versions published them (or
    the reverse): what `templates.translate_through` walks. Both ends alone when the catalog does not order them
    (a registered template). FormVersionUnknown when either end is unknown."""
    first, last = await require(service_code, source), await require(service_code, target)
    if first.version == last.version:
        return [first]
    rows = await (
        ServiceItem.filter(task_code=first.service_code, status__in=list(PUBLIC_STATUSES))
        .order_by("version")
        .values_list("form_version", flat=True)
    )
    order = list(dict.fromkeys(str(v) for v in rows if v))
    if first.version not in order or last.version not in order:
        return [first, last]
    start, end = order.index(first.version), order.index(last.version)
    names = order[start : end + 1] if start < end else order[end : start + 1][::-1]
    return [await require(first.service_code, name) for name in names]


async def form_template(service_code: str, version: str) -> dict[str, Any] | None:
    """`formTemplate(serviceCode, version)`: the template's fixed JSON shape, null when unknown."""
    found = await find(service_code, version)
    return None if found is None else found.to_json()
