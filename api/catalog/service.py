"""Write side of the catalog (domain.md §5.1): versioned drafts, review, publishing with Q01–Q15, suspension,
cancellation, and one `CatalogAudit` row per operator action, written in the same transaction.

Lifecycle `DRAFT → IN_REVIEW → PUBLISHED ⇄ SUSPENDED → CANCELLED`. Publishing a new version supersedes the
previous published (or suspended) version of the same 实施编码 + 业务办理项编码: that row becomes SUPERSEDED (with
`cancel_at` = the new version's `effective_from`), so that every `status = PUBLISHED` filter lists one version per
item, while the old version stays readable by number. Each change of what citizens can find bumps the search index.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from api.catalog import codes, rules, search
from api.kit.clock import Clock
from api.kit.codes import normalize_region
from api.kit.errors import AppError, Conflict, InvalidInput, NotFound
from api.kit.redis import Redis
from api.models import (
    CatalogAudit,
    CatalogItem,
    Faq,
    FeeItem,
    ItemStatus,
    MaterialRequirement,
    Organization,
    ServiceItem,
    ServiceLocation,
    Situation,
    SpecialProcedureDef,
)

# Caps per list: what one full guide query can show within the query cost limit (graphql.md §3); the guide
# types state the same maxima. Generic input lists stay capped at 100 by the edge.
MAX_PARTS = {"materials": 15, "windows": 5, "fees": 5, "faqs": 10, "situations": 3, "special_procedures": 3}
MAX_OPTIONS = 5
MAX_LIST_VALUES = 10
EDITABLE = (ItemStatus.DRAFT,)
OPEN_DRAFT = (ItemStatus.DRAFT, ItemStatus.IN_REVIEW)
PART_MODELS: dict[str, type[Any]] = {
    "windows": ServiceLocation,
    "materials": MaterialRequirement,
    "situations": Situation,
    "special_procedures": SpecialProcedureDef,
    "fees": FeeItem,
    "faqs": Faq,
}
# Columns a new version does not inherit from the version it copies.
_NOT_COPIED = {"id", "created_at", "updated_at", "status", "version", "effective_from", "cancel_at", "popularity"}
_PART_NOT_COPIED = {"id", "created_at", "updated_at"}


class PublishRejected(AppError):
    code = "PUBLISH_REJECTED"

    def __init__(self, violations: Sequence[rules.Violation]) -> None:
        super().__init__(f"{len(violations)} publish rule(s) failed", path=None)
        self.violations = list(violations)


class IllegalTransition(Conflict):
    code = "ILLEGAL_TRANSITION"

    def __init__(self, message: str, *, status: str) -> None:
        super().__init__(message, path=["serviceItemId"])
        self.status = status


@dataclass
class DraftChanges:
    """Validated by `update_draft`: item columns to set, and part lists that replace the current ones."""

    columns: dict[str, Any] = field(default_factory=dict)
    parts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


# ---------------------------------------------------------------- helpers


async def _audit(item_id: uuid.UUID, operator_id: uuid.UUID, action: str, detail: dict[str, Any]) -> None:
    await CatalogAudit.create(service_item_id=item_id, operator_id=operator_id, action=action, detail=detail)


async def _item(item_id: uuid.UUID) -> ServiceItem:
    row = await ServiceItem.get_or_none(id=item_id)
    if row is None:
        raise NotFound("no service item with this id", path=["serviceItemId"], code="SERVICE_ITEM_NOT_FOUND")
    return row


def _illegal(row: ServiceItem, action: str) -> IllegalTransition:
    return IllegalTransition(
        f"cannot {action} a service item version in status {row.status.value}", status=row.status.value
    )


async def _transition(
    item_id: uuid.UUID, allowed: Sequence[ItemStatus], target: ItemStatus, action: str, **extra: Any
) -> ServiceItem:
    """Compare-and-set: the row changes only if it is still in an allowed status (no lost update under races)."""
    row = await _item(item_id)
    if row.status not in allowed:
        raise _illegal(row, action)
    changed = await ServiceItem.filter(id=item_id, status=row.status).update(status=target, **extra)
    if changed != 1:
        raise _illegal(await _item(item_id), action)
    return await _item(item_id)


def _cap(values: list[Any], name: str, limit: int, path: Sequence[str] | None = None) -> None:
    if len(values) > limit:
        raise InvalidInput(
            f"at most {limit} {name}", path=list(path or [_CAMEL.get(name, name)]), code="TOO_MANY_ITEMS"
        )


def _text(value: Any, path: Sequence[str], *, max_length: int, required: bool = False) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise InvalidInput("must not be empty", path=path, code="EMPTY")
    if len(text) > max_length:
        raise InvalidInput(f"at most {max_length} characters", path=path, code="TOO_LONG")
    return text


# ---------------------------------------------------------------- create


async def create_draft(
    *,
    operator_id: uuid.UUID,
    service_code: str,
    handle_item_code: str | None,
    name: str | None,
    task_type: str | None,
    region_code: str | None,
) -> ServiceItem:
    """A new item (version 1), or a new draft version of an existing one copying its current version."""
    code = service_code.strip().upper()
    handle = (handle_item_code or "").strip() or None
    if handle is not None and len(handle) > 50:
        raise InvalidInput("at most 50 characters", path=["handleItemCode"], code="TOO_LONG")
    problem = codes.task_code_problem(code)
    parsed = codes.parse_task_code(code)
    if problem is not None or parsed is None:
        raise InvalidInput(problem or "malformed 实施编码", path=["serviceCode"], code="INVALID_SERVICE_CODE")
    dept = await Organization.get_or_none(uscc=parsed.dept_uscc)
    if dept is None:
        raise InvalidInput(
            "no department has the 统一社会信用代码 of this 实施编码", path=["serviceCode"], code="UNKNOWN_DEPARTMENT"
        )
    versions = await ServiceItem.filter(task_code=code, handle_item_code=handle).order_by("-version")
    if any(v.status in OPEN_DRAFT for v in versions):
        raise Conflict(
            "this item already has a draft or a version in review", path=["serviceCode"], code="DRAFT_EXISTS"
        )
    async with in_transaction():
        if versions:
            row = await _copy_version(_base_version(versions), versions[0].version + 1)
            action, detail = "CREATE_VERSION", {"copied_from": str(_base_version(versions).id), "version": row.version}
        else:
            row = await _new_item(code, parsed, handle, dept, name, task_type, region_code)
            action, detail = "CREATE", {"version": 1}
        await _audit(row.id, operator_id, action, {"service_code": code, **detail})
    return row


def _base_version(versions: Sequence[ServiceItem]) -> ServiceItem:
    """The version a new draft copies: the current published (or suspended) one, else the latest."""
    for row in versions:
        if row.status in (ItemStatus.PUBLISHED, ItemStatus.SUSPENDED):
            return row
    return versions[0]


async def _new_item(
    code: str,
    parsed: codes.TaskCode,
    handle: str | None,
    dept: Organization,
    name: str | None,
    task_type: str | None,
    region_code: str | None,
) -> ServiceItem:
    title = _text(name, ["name"], max_length=200, required=True)
    kind = (task_type or parsed.catalog_type).strip()
    if kind not in codes.TASK_TYPES:
        raise InvalidInput("not a 事项类型代码 (GB/T 39046 A.1)", path=["taskType"], code="INVALID_TASK_TYPE")
    region = normalize_region(region_code.strip()) if region_code else dept.region_code
    if region is None:
        raise InvalidInput("a GB/T 2260 region code of 6 or 12 digits", path=["regionCode"], code="INVALID_REGION")
    catalog, _ = await CatalogItem.get_or_create(
        catalog_code=parsed.catalog_code, defaults={"name": title, "task_type": kind}
    )
    return await ServiceItem.create(
        task_code=code,
        handle_item_code=handle,
        catalog_item_id=catalog.id,
        dept_id=dept.id,
        use_level=parsed.use_level,
        name=title,
        task_type=kind,
        region_code=region,
        code_warning="" if parsed.catalog_type == kind else "基本编码 TT differs from 事项类型",
        status=ItemStatus.DRAFT,
        version=1,
    )


async def _copy_version(source: ServiceItem, version: int) -> ServiceItem:
    # The projection names every column, the foreign key `catalog_item_id` included.
    columns = {
        name: getattr(source, name) for name in ServiceItem._meta.fields_db_projection if name not in _NOT_COPIED
    }
    row = await ServiceItem.create(
        **columns,
        status=ItemStatus.DRAFT,
        version=version,
    )
    material_ids: dict[str, str] = {}
    for key, model in PART_MODELS.items():
        if key == "situations":
            continue
        for part in await model.filter(service_item_id=source.id).order_by("order"):
            copied = await model.create(service_item_id=row.id, **_part_columns(model, part))
            if key == "materials":
                material_ids[str(part.id)] = str(copied.id)
    for situation in await Situation.filter(service_item_id=source.id).order_by("order"):
        columns = _part_columns(Situation, situation)
        columns["options"] = [
            {
                **option,
                "require": [material_ids[m] for m in option.get("require", []) if m in material_ids],
                "exclude": [material_ids[m] for m in option.get("exclude", []) if m in material_ids],
            }
            for option in situation.options
        ]
        await Situation.create(service_item_id=row.id, **columns)
    return row


def _part_columns(model: type[Any], part: Any) -> dict[str, Any]:
    return {
        name: getattr(part, name)
        for name in model._meta.fields_db_projection
        if name not in _PART_NOT_COPIED and name != "service_item_id"
    }


# ---------------------------------------------------------------- update


async def update_draft(*, operator_id: uuid.UUID, item_id: uuid.UUID, changes: DraftChanges) -> ServiceItem:
    row = await _item(item_id)
    if row.status not in EDITABLE:
        raise _illegal(row, "edit")
    for key, values in changes.parts.items():
        _cap(values, key, MAX_PARTS[key])
    columns = dict(changes.columns)
    if "region_code" in columns:
        region = normalize_region(str(columns["region_code"]).strip())
        if region is None:
            raise InvalidInput("a GB/T 2260 region code of 6 or 12 digits", path=["regionCode"], code="INVALID_REGION")
        columns["region_code"] = region
    if "name" in columns:
        columns["name"] = _text(columns["name"], ["name"], max_length=200, required=True)
    if "task_type" in columns and columns["task_type"] not in codes.TASK_TYPES:
        raise InvalidInput("not a 事项类型代码 (GB/T 39046 A.1)", path=["taskType"], code="INVALID_TASK_TYPE")
    _check_codes(columns)
    for key in ("materials", "windows", "fees", "faqs", "special_procedures"):
        for i, part in enumerate(changes.parts.get(key, [])):
            _check_part(key, i, part)
    # 网办深度 is derived on save unless the operator states it (Q15 then checks the statement on publish).
    depth_inputs = {"online_depth_components", "is_schedule", "limit_scene_num"}
    if depth_inputs & columns.keys() and "online_depth_level" not in columns:
        columns["online_depth_level"] = codes.derive_depth_level(
            columns.get("online_depth_components", row.online_depth_components),
            is_schedule=bool(columns.get("is_schedule", row.is_schedule)),
            visits=int(columns.get("limit_scene_num", row.limit_scene_num)),
        )
    async with in_transaction():
        changed = await ServiceItem.filter(id=item_id, status=ItemStatus.DRAFT).update(**columns) if columns else 1
        if changed != 1:
            raise _illegal(await _item(item_id), "edit")
        material_ids = await _replace_parts(item_id, changes.parts)
        if "situations" in changes.parts:
            await _replace_situations(item_id, changes.parts["situations"], material_ids)
        await _audit(
            item_id,
            operator_id,
            "UPDATE",
            {"fields": sorted(columns), "lists": sorted(changes.parts)},
        )
    return await _item(item_id)


_CODE_LISTS: dict[str, tuple[str, frozenset[Any]]] = {
    "project_type": ("projectType", frozenset({"1", "2", "9"})),
    "power_source": ("powerSource", frozenset("123456")),
    "dept_type": ("deptType", frozenset({"1", "2", "3", "9"})),
    "server_types": ("serverTypes", frozenset({"1", "2", "3", "4", "5", "6", "9"})),
    "handle_forms": ("handleForms", frozenset({"1", "2", "3", "4", "9"})),
    "online_depth_components": ("onlineDepthComponents", frozenset(range(1, 8))),
    "online_depth_level": ("onlineDepthLevel", frozenset(range(1, 5))),
    "min_assurance_level": ("minAssuranceLevel", frozenset(range(0, 4))),
    "handle_area": ("handleArea", frozenset({"", "NATIONWIDE", "CROSS_PROVINCE", "CROSS_CITY", "CROSS_COUNTY"})),
}
_TEXT_LIMITS = {
    "online_url": 500,
    "mobile_url": 500,
    "result_name": 200,
    "result_sample_file_id": 200,
    "elicense_type_code": 21,
    "form_version": 64,
}


def _check_codes(columns: dict[str, Any]) -> None:
    for column, (name, allowed) in _CODE_LISTS.items():
        if column not in columns:
            continue
        value = columns[column]
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list):
            _cap(value, name, len(allowed), [name])
            columns[column] = sorted(set(value), key=str)
        bad = [v for v in values if v not in allowed]
        if bad:
            raise InvalidInput(f"not a code of this list: {bad[0]}", path=[name], code="INVALID_CODE")
    if "limit_scene_num" in columns and not 0 <= int(columns["limit_scene_num"]) <= 9:
        raise InvalidInput("between 0 and 9", path=["visitsRequired"], code="OUT_OF_RANGE")
    for column, limit in _TEXT_LIMITS.items():
        if column in columns:
            columns[column] = _text(columns[column], [column], max_length=limit)
    for column in ("person_topics", "corp_topics", "keywords"):
        if column in columns:
            values = [str(v).strip() for v in columns[column] if str(v).strip()]
            _cap(values, column, MAX_LIST_VALUES, [column])
            columns[column] = values
    for column in ("legal_limit", "promise_limit"):
        limit_value = columns.get(column, {}).get("value") if column in columns else None
        if limit_value is not None and not 0 <= int(limit_value) <= 3650:
            raise InvalidInput("between 0 and 3650", path=[column, "value"], code="OUT_OF_RANGE")
    if len(columns.get("workflow_steps", [])) > 20:
        raise InvalidInput("at most 20 steps", path=["workflowSteps"], code="TOO_MANY_ITEMS")


_PART_TEXT_LIMITS = {
    "materials": (("name", 200),),
    "windows": (("window_name", 100), ("address", 300), ("hours_text", 300), ("phone", 40)),
    "fees": (("name", 200), ("standard", 2000)),
    "faqs": (("question", 2000), ("answer", 5000)),
    "special_procedures": (("subtype", 20),),
}
_CAMEL = {
    "window_name": "windowName",
    "hours_text": "hoursText",
    "special_procedures": "specialProcedures",
}


def _check_part(key: str, index: int, part: dict[str, Any]) -> None:
    for column, limit in _PART_TEXT_LIMITS[key]:
        part[column] = _text(
            part.get(column),
            [_CAMEL.get(key, key), str(index), _CAMEL.get(column, column)],
            max_length=limit,
            required=True,
        )
    for column in ("original_count", "copy_count", "max_days"):
        if column in part and not 0 <= int(part[column]) <= 999:
            raise InvalidInput(
                "between 0 and 999", path=[_CAMEL.get(key, key), str(index), column], code="OUT_OF_RANGE"
            )
    if key == "materials":
        _cap(part.get("elicense_type_codes", []), "licence types", 5, ["materials", str(index), "elicenseTypeCodes"])
    if key == "fees" and part.get("amount_fen") is not None and int(part["amount_fen"]) < 0:
        raise InvalidInput("must not be negative", path=["fees", str(index), "amountFen"], code="OUT_OF_RANGE")


async def _replace_parts(item_id: uuid.UUID, parts: dict[str, list[dict[str, Any]]]) -> dict[int, str]:
    """Replace the given lists; answer the material ids by order (1-based), for situations to refer to."""
    for key, values in parts.items():
        if key == "situations":
            continue
        model = PART_MODELS[key]
        if key == "materials":
            # Situations refer to materials by id: replacing the materials drops those references.
            await Situation.filter(service_item_id=item_id).delete()
        await model.filter(service_item_id=item_id).delete()
        await model.bulk_create([model(service_item_id=item_id, order=i + 1, **values[i]) for i in range(len(values))])
    rows = await MaterialRequirement.filter(service_item_id=item_id).order_by("order")
    return {row.order: str(row.id) for row in rows}


async def _replace_situations(
    item_id: uuid.UUID, situations: list[dict[str, Any]], material_ids: dict[int, str]
) -> None:
    await Situation.filter(service_item_id=item_id).delete()
    rows = []
    for i, situation in enumerate(situations):
        question = _text(situation.get("question"), ["situations", str(i), "question"], max_length=300, required=True)
        options = []
        _cap(situation.get("options", []), "options", MAX_OPTIONS, ["situations", str(i), "options"])
        for j, option in enumerate(situation.get("options", [])):
            path = ["situations", str(i), "options", str(j)]
            resolved: dict[str, list[str]] = {}
            for effect in ("require", "exclude"):
                _cap(option.get(effect, []), "materials", MAX_OPTIONS, [*path, f"{effect}Materials"])
                ids = []
                for number in option.get(effect, []):
                    if number not in material_ids:
                        raise InvalidInput(
                            f"no material number {number} (materials are numbered from 1)",
                            path=[*path, f"{effect}Materials"],
                            code="UNKNOWN_MATERIAL",
                        )
                    ids.append(material_ids[number])
                resolved[effect] = ids
            options.append(
                {
                    "key": _text(option.get("key") or str(j + 1), [*path, "key"], max_length=50, required=True),
                    "label": _text(option.get("label"), [*path, "label"], max_length=200, required=True),
                    **resolved,
                }
            )
        rows.append(Situation(service_item_id=item_id, order=i + 1, question=question, options=options))
    await Situation.bulk_create(rows)


# ---------------------------------------------------------------- lifecycle


async def submit_for_review(*, operator_id: uuid.UUID, item_id: uuid.UUID) -> ServiceItem:
    async with in_transaction():
        row = await _transition(item_id, (ItemStatus.DRAFT,), ItemStatus.IN_REVIEW, "submit for review")
        await _audit(item_id, operator_id, "SUBMIT", {"version": row.version})
    return row


async def publish_violations(item_id: uuid.UUID) -> list[rules.Violation]:
    row = await _item(item_id)
    dept = await Organization.get_or_none(id=row.dept_id)
    faqs = await Faq.filter(service_item_id=item_id)
    fees = await FeeItem.filter(service_item_id=item_id)
    return rules.check(rules.ItemVersion(row, dept.uscc if dept else None, faqs, fees))


async def publish(*, redis: Redis, operator_id: uuid.UUID, item_id: uuid.UUID, clock: Clock) -> ServiceItem:
    row = await _item(item_id)
    if row.status != ItemStatus.IN_REVIEW:
        raise _illegal(row, "publish")
    violations = await publish_violations(item_id)
    if violations:
        raise PublishRejected(violations)
    now = clock.now()
    async with in_transaction():
        superseded = await ServiceItem.filter(
            task_code=row.task_code,
            handle_item_code=row.handle_item_code,
            status__in=[ItemStatus.PUBLISHED, ItemStatus.SUSPENDED],
        ).exclude(id=item_id)
        row = await _transition(item_id, (ItemStatus.IN_REVIEW,), ItemStatus.PUBLISHED, "publish", effective_from=now)
        for old in superseded:
            await ServiceItem.filter(id=old.id).update(status=ItemStatus.SUPERSEDED, cancel_at=now)
            await _audit(old.id, operator_id, "SUPERSEDE", {"by_version": row.version, "by": str(row.id)})
        await _audit(
            item_id,
            operator_id,
            "PUBLISH",
            {"version": row.version, "effective_from": now.isoformat(), "superseded": [str(o.id) for o in superseded]},
        )
    await search.invalidate(redis)  # what citizens can find changed
    return row


async def suspend(*, redis: Redis, operator_id: uuid.UUID, item_id: uuid.UUID, reason: str) -> ServiceItem:
    why = _text(reason, ["reason"], max_length=500, required=True)
    async with in_transaction():
        row = await _transition(item_id, (ItemStatus.PUBLISHED,), ItemStatus.SUSPENDED, "suspend", cancel_at=None)
        await _audit(item_id, operator_id, "SUSPEND", {"reason": why})
    await search.invalidate(redis)  # what citizens can find changed
    return row


async def resume(*, redis: Redis, operator_id: uuid.UUID, item_id: uuid.UUID) -> ServiceItem:
    async with in_transaction():
        row = await _transition(item_id, (ItemStatus.SUSPENDED,), ItemStatus.PUBLISHED, "resume")
        await _audit(item_id, operator_id, "RESUME", {})
    await search.invalidate(redis)  # what citizens can find changed
    return row


async def cancel(*, redis: Redis, operator_id: uuid.UUID, item_id: uuid.UUID, reason: str, clock: Clock) -> ServiceItem:
    """Withdraw a published or suspended version for good (取消); drafts are edited, not cancelled."""
    why = _text(reason, ["reason"], max_length=500, required=True)
    allowed = (ItemStatus.PUBLISHED, ItemStatus.SUSPENDED)
    async with in_transaction():
        row = await _transition(item_id, allowed, ItemStatus.CANCELLED, "cancel", cancel_at=clock.now())
        await _audit(item_id, operator_id, "CANCEL", {"reason": why})
    await search.invalidate(redis)  # what citizens can find changed
    return row


async def audit_of(item_id: uuid.UUID, limit: int = 100) -> list[CatalogAudit]:
    await _item(item_id)
    return await CatalogAudit.filter(service_item_id=item_id).order_by("-created_at").limit(limit)
