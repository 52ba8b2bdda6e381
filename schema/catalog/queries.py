"""Catalog queries: public item, browse and guide lookups, bundles, and the audit trail for catalog admins.

Lookups answer null for an unknown 实施编码 or version (imported items may carry codes of any shape, so a
malformed code is simply unknown); drafts and versions in review are never shown to the public. A suspended or
cancelled item is returned with its status and `statusNote`, so that the client can explain.
"""

from __future__ import annotations

from typing import cast

import strawberry
from strawberry.exceptions import StrawberryGraphQLError
from strawberry.scalars import JSON

from api.catalog import read, service
from api.kit.errors import AppError
from api.models import ELicense, OperatorRole
from schema.access import Public, operator_with
from schema.catalog.mutations import PublishViolation
from schema.catalog.types import (
    CatalogAuditEntry,
    MaterialCoverage,
    ServiceAudience,
    ServiceBundle,
    ServiceGuide,
    ServiceItem,
    ServiceItemSummary,
)
from schema.context import Info
from schema.pagination import Connection

CatalogAdmin = operator_with(OperatorRole.CATALOG_ADMIN)


def _refuse(exc: AppError) -> StrawberryGraphQLError:
    """Bad arguments of a query (cursor, id, region): a GraphQL error with the stable code, never a 500."""
    return StrawberryGraphQLError(exc.message, extensions={"code": exc.code, "path": exc.path})


async def _coverage(info: Info, parts: read.GuideParts) -> list[MaterialCoverage] | None:
    claims = info.context.principal.claims
    if claims is None or claims.kind != "citizen":
        return None
    codes = [code for m in parts.materials for code in m.elicense_type_codes]
    licences = await read.wallet_licences(claims.subject, claims.acting_as_enterprise_id, codes)
    by_type: dict[str, list[ELicense]] = {}
    for licence in licences:
        by_type.setdefault(licence.type_code, []).append(licence)
    covered: list[MaterialCoverage] = []
    for material in parts.materials[:15]:
        match = next((lic for code in material.elicense_type_codes for lic in by_type.get(code, [])), None)
        if match is not None:
            covered.append(
                MaterialCoverage(
                    material_id=strawberry.ID(str(material.id)),
                    material_name=material.name,
                    license_id=strawberry.ID(str(match.id)),
                    license_type_code=match.type_code,
                    license_name=match.name or match.type_name,
                )
            )
    return covered


def _bundle(view: read.BundleView) -> ServiceBundle:
    audience = ServiceAudience.ENTERPRISE if view.bundle.audience == "ENTERPRISE" else ServiceAudience.PERSON
    return ServiceBundle(
        code=view.bundle.code,
        name=view.bundle.name,
        audience=audience,
        life_event=view.bundle.life_event,
        shared_form_schema=cast(JSON, view.bundle.shared_form_schema),
        items=[ServiceItemSummary.from_row(item) for item in view.items[:20]],
    )


@strawberry.type
class CatalogQuery:
    @strawberry.field(
        permission_classes=[Public],
        description="A service item by 实施编码: the current version by default (published, else suspended or "
        "cancelled, with its status), or the given version. Null when unknown.",
    )
    async def service_item(
        self, service_code: str, version: int | None = None, handle_item_code: str | None = None
    ) -> ServiceItem | None:
        found = await read.find(service_code, version, handle_item_code)
        if found is None:
            return None
        return ServiceItem.detail(found.row, superseded=found.superseded, latest_version=found.latest_version)

    @strawberry.field(
        permission_classes=[Public],
        description="Published items, by 实施编码. `first` is clamped to 100; `regionCode` matches exactly.",
    )
    async def browse_services(
        self,
        audience: ServiceAudience | None = None,
        topic: str | None = None,
        department_id: strawberry.ID | None = None,
        region_code: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ServiceItemSummary]:
        try:
            page = await read.browse(
                audience=audience.value if audience else None,
                topic=topic,
                department_id=department_id,
                region_code=region_code,
                first=first,
                after=after,
            )
        except AppError as exc:
            raise _refuse(exc) from None
        return Connection[ServiceItemSummary].of(page, ServiceItemSummary.from_row)

    @strawberry.field(
        permission_classes=[Public],
        description="The full 办事指南 of the current version (or the given one). Null when unknown.",
    )
    async def service_guide(
        self, info: Info, service_code: str, version: int | None = None, handle_item_code: str | None = None
    ) -> ServiceGuide | None:
        found = await read.find(service_code, version, handle_item_code)
        if found is None:
            return None
        parts = await read.guide_parts(found.row.id)
        item = ServiceItem.detail(found.row, superseded=found.superseded, latest_version=found.latest_version)
        return ServiceGuide.build(item, found.row, parts, await _coverage(info, parts))

    @strawberry.field(permission_classes=[Public], description="一件事 by code; null when unknown.")
    async def bundle(self, code: str) -> ServiceBundle | None:
        views = await read.bundles(code=code)
        return _bundle(views[0]) if views else None

    @strawberry.field(permission_classes=[Public], description="一件事 bundles, at most 100.")
    async def bundles(self, audience: ServiceAudience | None = None) -> list[ServiceBundle]:
        return [_bundle(v) for v in await read.bundles(audience=audience.value if audience else None)]

    @strawberry.field(
        permission_classes=[CatalogAdmin],
        description="Catalog admins: any version by id, drafts included, with its full guide. Null when unknown.",
    )
    async def service_item_version(self, service_item_id: strawberry.ID) -> ServiceGuide | None:
        row = await read.item_by_id(service_item_id)
        if row is None:
            return None
        found = await read.find(row.task_code, row.version, row.handle_item_code)
        parts = await read.guide_parts(row.id)
        item = ServiceItem.detail(row, superseded=found.superseded if found else False)
        return ServiceGuide.build(item, row, parts, None)

    @strawberry.field(
        permission_classes=[CatalogAdmin],
        description="Catalog admins: validate a version against every publish rule (Q01–Q15) without publishing; "
        "at most 30 violations; an empty list means it would publish. Null when unknown.",
    )
    async def service_item_violations(self, service_item_id: strawberry.ID) -> list[PublishViolation] | None:
        row = await read.item_by_id(service_item_id)
        if row is None:
            return None
        violations = await service.publish_violations(row.id)
        return [PublishViolation(rule=v.rule, message=v.message, path=list(v.path)) for v in violations][:30]

    @strawberry.field(
        permission_classes=[CatalogAdmin],
        description="Catalog admins: who did what to a service item version, newest first; at most 100.",
    )
    async def service_item_audit(self, service_item_id: strawberry.ID) -> list[CatalogAuditEntry]:
        row = await read.item_by_id(service_item_id)
        if row is None:
            return []
        entries = await service.audit_of(row.id)
        return [
            CatalogAuditEntry(
                id=strawberry.ID(str(e.id)),
                service_item_id=strawberry.ID(str(e.service_item_id)),
                operator_id=strawberry.ID(str(e.operator_id)),
                action=e.action,
                detail=cast(JSON, e.detail),
                at=e.created_at,
            )
            for e in entries
        ]
