"""Read side of the catalog: published items, guides with all their parts, bundles and wallet coverage.

Lookups by 实施编码 accept any string up to 36 characters: imported items may carry provincial codes of other
lengths (domain.md §3.4), so a malformed code is simply unknown. Every function here runs a constant number of
SQL statements, whatever the number of materials, windows or FAQs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from api.kit.codes import normalize_region
from api.kit.errors import InvalidInput
from api.kit.ids import parse_uuid
from api.kit.pagination import Page, clamp_first, decode_cursor, encode_cursor
from api.models import (
    Bundle,
    ELicense,
    Faq,
    FeeItem,
    ItemStatus,
    LicenseStatus,
    MaterialRequirement,
    Organization,
    ServiceItem,
    ServiceLocation,
    Situation,
    SpecialProcedureDef,
)

PUBLIC_STATUSES = (ItemStatus.PUBLISHED, ItemStatus.SUSPENDED, ItemStatus.CANCELLED, ItemStatus.SUPERSEDED)
PERSON = "1"
MAX_CODE = 36


async def departments_by_id(ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Organization]:
    """One statement for any number of departments (the DataLoader behind `departmentName`)."""
    if not ids:
        return {}
    return {row.id: row for row in await Organization.filter(id__in=list(set(ids)))}


@dataclass(frozen=True)
class Found:
    row: ServiceItem
    superseded: bool
    latest_version: int


def _superseded(row: ServiceItem, versions: Sequence[ServiceItem]) -> bool:
    return row.status == ItemStatus.SUPERSEDED


async def find(service_code: str, version: int | None = None, handle_item_code: str | None = None) -> Found | None:
    """The current version (published, else suspended, else the last cancelled one), or the given version.
    Drafts and versions in review are never shown to the public. One statement."""
    code = service_code.strip().upper()
    if not code or len(code) > MAX_CODE or (version is not None and not 0 < version < 2**31):
        return None
    handle = (handle_item_code or "").strip() or None
    versions = await ServiceItem.filter(
        task_code=code, handle_item_code=handle, status__in=list(PUBLIC_STATUSES)
    ).order_by("-version")
    if not versions:
        return None
    if version is not None:
        chosen = next((v for v in versions if v.version == version), None)
    else:
        chosen = next(
            (v for status in PUBLIC_STATUSES for v in versions if v.status == status and not _superseded(v, versions)),
            None,
        )
    if chosen is None:
        return None
    return Found(chosen, _superseded(chosen, versions), versions[0].version)


async def browse(
    *,
    audience: str | None,
    topic: str | None,
    department_id: str | None,
    region_code: str | None,
    first: int | None,
    after: str | None,
) -> Page[ServiceItem]:
    """Published items by 实施编码, keyset-paginated. Audience and topic live in JSON lists, which SQLite and
    PostgreSQL filter differently: they are matched on a narrow projection (id, code, lists), then the page's
    rows are loaded: two statements."""
    size = clamp_first(first)
    position = decode_cursor(after)
    if position is not None and not (
        isinstance(position, list) and len(position) == 2 and all(isinstance(p, str) for p in position)
    ):
        raise InvalidInput("not a cursor of this list", path=["after"], code="INVALID_CURSOR")
    query = ServiceItem.filter(status=ItemStatus.PUBLISHED)
    if department_id is not None:
        dept = parse_uuid(department_id.strip())
        if dept is None:
            raise InvalidInput("not a valid id", path=["departmentId"], code="INVALID_ID")
        query = query.filter(dept_id=dept)
    if region_code is not None:
        region = normalize_region(region_code.strip())
        if region is None:
            raise InvalidInput("a GB/T 2260 region code of 6 or 12 digits", path=["regionCode"], code="INVALID_REGION")
        query = query.filter(region_code=region)
    wanted = (topic or "").strip()
    rows = await query.order_by("task_code", "id").values_list(
        "id", "task_code", "server_types", "person_topics", "corp_topics"
    )
    keys: list[tuple[str, str]] = []
    for item_id, code, server_types, person_topics, corp_topics in rows:
        types = {str(t) for t in server_types or []}
        if audience == "PERSON" and PERSON not in types:
            continue
        if audience == "ENTERPRISE" and not types - {PERSON}:
            continue
        if wanted:
            topics = (
                person_topics
                if audience == "PERSON"
                else corp_topics
                if audience == "ENTERPRISE"
                else [*(person_topics or []), *(corp_topics or [])]
            )
            if wanted not in (topics or []):
                continue
        keys.append((str(code), str(item_id)))
    keys.sort()
    total = len(keys)
    if position is not None:
        start = (str(position[0]), str(position[1]))
        keys = [k for k in keys if k > start]
    shown = keys[:size]
    by_id = {str(r.id): r for r in await ServiceItem.filter(id__in=[k[1] for k in shown])} if shown else {}
    items = [by_id[k[1]] for k in shown if k[1] in by_id]
    return Page(items, [encode_cursor([str(r.task_code), str(r.id)]) for r in items], len(keys) > size, total)


@dataclass(frozen=True)
class GuideParts:
    windows: list[ServiceLocation]
    materials: list[MaterialRequirement]
    situations: list[Situation]
    special_procedures: list[SpecialProcedureDef]
    fees: list[FeeItem]
    faqs: list[Faq]


async def guide_parts(item_id: uuid.UUID) -> GuideParts:
    """Six statements, one per part list."""
    return GuideParts(
        windows=await ServiceLocation.filter(service_item_id=item_id).order_by("order"),
        materials=await MaterialRequirement.filter(service_item_id=item_id).order_by("order"),
        situations=await Situation.filter(service_item_id=item_id).order_by("order"),
        special_procedures=await SpecialProcedureDef.filter(service_item_id=item_id).order_by("order"),
        fees=await FeeItem.filter(service_item_id=item_id).order_by("order"),
        faqs=await Faq.filter(service_item_id=item_id).order_by("order"),
    )


async def item_by_id(item_id: str) -> ServiceItem | None:
    parsed = parse_uuid(item_id.strip())
    return await ServiceItem.get_or_none(id=parsed) if parsed is not None else None


async def wallet_licences(
    person_id: uuid.UUID, enterprise_id: uuid.UUID | None, type_codes: Sequence[str]
) -> list[ELicense]:
    """The caller's valid licences (own, or of the enterprise the session acts for) of the given types; one
    statement, none when no material accepts a licence. Read-only: the licence domain owns these rows."""
    codes = sorted({code for code in type_codes if code})
    if not codes:
        return []
    query = ELicense.filter(status=LicenseStatus.VALID, type_code__in=codes)
    if enterprise_id is not None:
        query = query.filter(holder_enterprise_id=enterprise_id)
    else:
        query = query.filter(holder_person_id=person_id)
    return await query.order_by("type_code", "id")


@dataclass(frozen=True)
class BundleView:
    bundle: Bundle
    items: list[ServiceItem]


async def bundles(*, code: str | None = None, audience: str | None = None) -> list[BundleView]:
    """Bundles with their member items resolved to the current published versions: two statements."""
    query = Bundle.all()
    if code is not None:
        wanted = code.strip()
        if not wanted or len(wanted) > 50:
            return []
        query = query.filter(code=wanted)
    if audience is not None:
        query = query.filter(audience=audience)
    rows = await query.order_by("code").limit(100)
    task_codes = sorted({c for row in rows for c in row.task_codes})
    published = (
        await ServiceItem.filter(task_code__in=task_codes, status=ItemStatus.PUBLISHED).order_by("version")
        if task_codes
        else []
    )
    by_code = {item.task_code: item for item in published}  # the highest published version wins
    return [BundleView(row, [by_code[c] for c in row.task_codes if c in by_code]) for row in rows]
