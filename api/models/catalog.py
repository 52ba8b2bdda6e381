"""Service catalog (domain.md §5, §11.2): 基本目录, versioned 实施清单 with every element group, bundles, policies."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields

from api.models.base import Entity


class ItemStatus(StrEnum):
    DRAFT = "DRAFT"
    IN_REVIEW = "IN_REVIEW"
    PUBLISHED = "PUBLISHED"
    SUSPENDED = "SUSPENDED"
    CANCELLED = "CANCELLED"
    SUPERSEDED = "SUPERSEDED"  # a published version replaced by a newer one: readable by version, never listed


class CatalogItem(Entity):
    """基本目录: the national item a department implements, 主项 and 子项 linked through `parent_id`."""

    catalog_code = fields.CharField(max_length=36, unique=True)
    name = fields.CharField(max_length=200)
    task_type = fields.CharField(max_length=2)
    parent_id = fields.UUIDField(null=True)
    by_law = fields.TextField(default="")
    status = fields.CharField(max_length=16, default="ACTIVE")
    version = fields.IntField(default=1)
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "catalog_item"


class ServiceItem(Entity):
    """实施清单: one version of one department's implementation of a catalog item. Time limits are objects
    `{value, unit: WORKING_DAY|NATURAL_DAY, note}`, and code lists store national codes (domain.md §4)."""

    # identity and legal basis
    task_code = fields.CharField(max_length=36, db_index=True)
    handle_item_code = fields.CharField(max_length=50, null=True)
    local_catalog_code = fields.CharField(max_length=50, null=True)
    local_task_code = fields.CharField(max_length=50, null=True)
    catalog_item: fields.ForeignKeyRelation[CatalogItem] = fields.ForeignKeyField(
        "models.CatalogItem", related_name="service_items", on_delete=fields.RESTRICT
    )
    dept_id = fields.UUIDField(db_index=True)
    use_level = fields.SmallIntField()
    dept_type = fields.CharField(max_length=1, default="1")
    power_source = fields.CharField(max_length=1, default="1")
    entrust_org_id = fields.UUIDField(null=True)
    joint_org_ids = fields.JSONField[list[str]](default=list)
    name = fields.CharField(max_length=200)
    task_type = fields.CharField(max_length=2)
    by_law = fields.TextField(default="")
    # time limits, audience
    legal_limit = fields.JSONField[dict[str, Any]](default=dict)
    promise_limit = fields.JSONField[dict[str, Any]](default=dict)
    project_type = fields.CharField(max_length=1, default="2")
    server_types = fields.JSONField[list[str]](default=list)
    handle_forms = fields.JSONField[list[str]](default=list)
    # online capability
    online_depth_components = fields.JSONField[list[int]](default=list)
    online_depth_level = fields.SmallIntField(default=1)
    online_url = fields.CharField(max_length=500, default="")
    mobile_url = fields.CharField(max_length=500, default="")
    limit_scene_num = fields.SmallIntField(default=0)
    limit_scene_reason = fields.TextField(default="")
    is_schedule = fields.BooleanField(default=False)
    is_pay_online = fields.BooleanField(default=False)
    is_express = fields.BooleanField(default=False)
    is_service_terminal = fields.BooleanField(default=False)
    is_entry_center = fields.BooleanField(default=True)
    handle_area = fields.CharField(max_length=16, default="")
    quantity_limit_text = fields.TextField(default="")
    intermediary_service = fields.TextField(default="")
    min_assurance_level = fields.SmallIntField(default=1)
    # guide
    accept_condition = fields.TextField(default="")
    handle_flow_text = fields.TextField(default="")
    transact_time = fields.TextField(default="")
    consult = fields.JSONField[dict[str, Any]](default=dict)
    supervise = fields.JSONField[dict[str, Any]](default=dict)
    special_procedure_text = fields.TextField(default="")
    plain_guide_md = fields.TextField(default="")
    # result and fees
    result_name = fields.CharField(max_length=200, default="")
    result_type = fields.CharField(max_length=16, default="")
    result_sample_file_id = fields.CharField(max_length=200, default="")
    result_is_elicense = fields.BooleanField(default=False)
    elicense_type_code = fields.CharField(max_length=21, default="")
    is_fee = fields.BooleanField(default=False)
    fee_basis = fields.TextField(default="")
    # topics, search and lifecycle
    person_topics = fields.JSONField[list[str]](default=list)
    corp_topics = fields.JSONField[list[str]](default=list)
    keywords = fields.JSONField[list[str]](default=list)
    region_code = fields.CharField(max_length=12, db_index=True)
    status = fields.CharEnumField(ItemStatus, max_length=16, default=ItemStatus.DRAFT)
    version = fields.IntField(default=1)
    effective_from = fields.DatetimeField(null=True)
    cancel_at = fields.DatetimeField(null=True)
    workflow_steps = fields.JSONField[list[dict[str, Any]]](default=list)
    form_version = fields.CharField(max_length=64, default="")
    form_schema = fields.JSONField[dict[str, Any]](default=dict)
    popularity = fields.IntField(default=0)
    code_warning = fields.CharField(max_length=200, default="")
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "service_item"
        unique_together = (("task_code", "handle_item_code", "version"),)


class _ItemPart(Entity):
    service_item: fields.ForeignKeyRelation[ServiceItem] = fields.ForeignKeyField(
        "models.ServiceItem", on_delete=fields.CASCADE
    )
    order = fields.SmallIntField(default=0)

    class Meta:
        abstract = True


class ServiceLocation(_ItemPart):
    window_name = fields.CharField(max_length=100)
    address = fields.CharField(max_length=300)
    hours_text = fields.CharField(max_length=300)
    phone = fields.CharField(max_length=40)
    map_url = fields.CharField(max_length=500, default="")
    traffic_info = fields.TextField(default="")

    class Meta:
        table = "service_location"


class MaterialRequirement(_ItemPart):
    name = fields.CharField(max_length=200)
    necessity = fields.CharField(max_length=16, default="REQUIRED")  # REQUIRED | OPTIONAL | TOLERATED_LATER
    forms = fields.JSONField[list[str]](default=list)  # PAPER_ORIGINAL | PAPER_COPY | ELECTRONIC
    original_count = fields.SmallIntField(default=0)
    copy_count = fields.SmallIntField(default=0)
    paper_spec = fields.CharField(max_length=50, default="")
    source = fields.CharField(max_length=20, default="APPLICANT")  # APPLICANT | ISSUING_AUTHORITY | DATA_SHARING
    issuing_org_text = fields.CharField(max_length=200, default="")
    issue_time_requirement = fields.CharField(max_length=200, default="")
    by_law = fields.TextField(default="")
    accept_standard = fields.TextField(default="")
    fill_guide = fields.TextField(default="")
    blank_form_file_id = fields.CharField(max_length=200, default="")
    sample_file_id = fields.CharField(max_length=200, default="")
    signature_requirement = fields.CharField(max_length=200, default="")
    elicense_type_codes = fields.JSONField[list[str]](default=list)
    shared_data_service_id = fields.CharField(max_length=100, null=True)
    allow_commitment = fields.BooleanField(default=False)

    class Meta:
        table = "material_requirement"


class Situation(_ItemPart):
    """情形: a question whose answer decides which materials apply."""

    question = fields.CharField(max_length=300)
    options = fields.JSONField[list[dict[str, Any]]](
        default=list
    )  # [{key, label, require: [material ids], exclude: [...]}]

    class Meta:
        table = "situation"


class SpecialProcedureDef(_ItemPart):
    kind = fields.CharField(max_length=1)
    subtype = fields.CharField(max_length=20)
    max_days = fields.SmallIntField()
    day_unit = fields.CharField(max_length=12, default="WORKING_DAY")

    class Meta:
        table = "special_procedure_def"


class FeeItem(_ItemPart):
    name = fields.CharField(max_length=200)
    standard = fields.TextField()
    amount_fen = fields.BigIntField(null=True)
    by_law = fields.TextField(default="")
    reducible = fields.BooleanField(default=False)
    reduce_basis = fields.TextField(default="")

    class Meta:
        table = "fee_item"


class Faq(_ItemPart):
    question = fields.TextField()
    answer = fields.TextField()

    class Meta:
        table = "faq"


class CatalogAudit(Entity):
    """Who changed what in the catalog, and when: one row per operator action."""

    service_item_id = fields.UUIDField(db_index=True)
    operator_id = fields.UUIDField()
    action = fields.CharField(max_length=32)
    detail = fields.JSONField[dict[str, Any]](default=dict)

    class Meta:
        table = "catalog_audit"


class Bundle(Entity):
    """一件事: one entry fanning out to several items with a shared form section."""

    code = fields.CharField(max_length=50, unique=True)
    name = fields.CharField(max_length=200)
    audience = fields.CharField(max_length=10)  # PERSON | ENTERPRISE
    task_codes = fields.JSONField[list[str]](default=list)
    shared_form_schema = fields.JSONField[dict[str, Any]](default=dict)
    lead_org_id = fields.UUIDField(null=True)
    life_event = fields.CharField(max_length=32, default="")
    keywords = fields.JSONField[list[str]](default=list)
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "bundle"


class Policy(Entity):
    """惠企政策. Eligibility lists match any value when empty, industry and region codes by prefix."""

    code = fields.CharField(max_length=50, unique=True)
    title = fields.CharField(max_length=200)
    summary = fields.TextField(default="")
    issuing_org_id = fields.UUIDField(null=True)
    eligibility = fields.JSONField[dict[str, list[str]]](default=dict)
    task_code = fields.CharField(max_length=36, null=True)
    valid_from = fields.DatetimeField()
    valid_to = fields.DatetimeField()
    status = fields.CharField(max_length=16, default="ACTIVE")
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "policy"


class SearchPhrase(Entity):
    """常用语 knowledge base: an everyday phrase and the items it means ("身份证丢了" → 居民身份证补领)."""

    phrase = fields.CharField(max_length=100, unique=True)
    task_codes = fields.JSONField[list[str]](default=list)
    weight = fields.FloatField(default=1.0)
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "search_phrase"


class SearchSynonym(Entity):
    """Synonyms maintained by operators: every term of a group is searched as any other."""

    term = fields.CharField(max_length=50, unique=True)
    group_key = fields.CharField(max_length=50, db_index=True)
    is_synthetic = fields.BooleanField(default=False)

    class Meta:
        table = "search_synonym"


class ServiceView(Entity):
    """A signed-in person viewed an item's guide: feeds "recently viewed" and regional popularity."""

    person_id = fields.UUIDField(db_index=True)
    task_code = fields.CharField(max_length=36)
    region_code = fields.CharField(max_length=12, default="")

    class Meta:
        table = "service_view"
