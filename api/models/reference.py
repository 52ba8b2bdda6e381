"""Reference data shared by every domain: regions (GB/T 2260) and organisations (departments)."""

from __future__ import annotations

from tortoise import fields

from api.models.base import Entity


class Region(Entity):
    code = fields.CharField(max_length=12, unique=True)
    name = fields.CharField(max_length=64)
    level = fields.SmallIntField()
    parent_code = fields.CharField(max_length=12, null=True)
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "region"


class Organization(Entity):
    uscc = fields.CharField(max_length=18, unique=True)
    name = fields.CharField(max_length=128)
    region_code = fields.CharField(max_length=12)
    org_kind = fields.CharField(max_length=16, default="GOV_AGENCY")
    use_level = fields.SmallIntField(default=3)
    parent_id = fields.UUIDField(null=True)
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "organization"
