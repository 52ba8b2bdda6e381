"""The catalog seed (domain.md §5, §13): 40 published items that pass every publish rule Q01–Q15, their
materials, fees and 情形, 3 一件事, 惠企政策 and the search knowledge base. Idempotent and deterministic.

The publish rules are implemented here independently of the seed, so that a future publish-rule
implementation can be checked against the same expectations.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

import pytest
import pytest_asyncio
from tortoise.connection import get_connection
from tortoise.context import TortoiseContext
from tortoise.transactions import in_transaction

from api import database
from api.kit.codes import is_valid_uscc
from api.kit.pii import PiiCipher
from api.models import (
    AgentAuthorization,
    Bundle,
    CatalogItem,
    Enterprise,
    Faq,
    FeeItem,
    MaterialRequirement,
    Organization,
    Policy,
    SearchPhrase,
    SearchSynonym,
    ServiceItem,
    ServiceLocation,
    Situation,
    SpecialProcedureDef,
)
from api.models.catalog import ItemStatus
from api.seed import PARTS, load_demo_seed
from api.seed import catalog_licence_types as lic
from api.seed import items as referenced_items
from api.seed.context import SeedContext, seed_id

pytestmark = pytest.mark.embedded_only

PII = PiiCipher(b"e" * 32, b"h" * 32)
SEED_MOMENT = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
CATALOG_TABLES = (
    "catalog_item",
    "service_item",
    "service_location",
    "material_requirement",
    "situation",
    "special_procedure_def",
    "fee_item",
    "faq",
    "bundle",
    "policy",
    "search_phrase",
    "search_synonym",
)
_PHONE = re.compile(r"^0\d{2,3}-\d{5,8}$")
_LEGAL_PERSON_TYPES = {"2", "3", "4", "5", "6", "9"}
_BASIC_CODE = re.compile(r"^[0-9A-Z]{12}$")

Snapshot = dict[str, list[dict[str, Any]]]


class FixedClock:
    def now(self) -> datetime:
        return SEED_MOMENT


@dataclass(frozen=True)
class CatalogRun:
    part_seconds: dict[str, float]
    before: Snapshot
    after: Snapshot


async def _snapshot() -> Snapshot:
    conn = get_connection("default")
    return {
        table: [
            {k: v for k, v in row.items() if k not in ("created_at", "updated_at")}
            for row in await conn.execute_query_dict(f'SELECT * FROM "{table}" ORDER BY id')  # noqa: S608
        ]
        for table in CATALOG_TABLES
    }


async def _seed_parts_timed() -> dict[str, float]:
    """The seed's parts in order in one transaction (as `load_demo_seed` runs them), timing each."""
    seconds: dict[str, float] = {}
    async with in_transaction() as db:
        ctx = SeedContext.create(pii=PII, clock=FixedClock(), db=db)
        for part in PARTS:
            if not await part.is_loaded(db):
                started = perf_counter()
                await part.load(ctx)
                seconds[part.name] = perf_counter() - started
    return seconds


async def _seeded(path: Path) -> AsyncIterator[CatalogRun]:
    url = f"sqlite://{path}"
    with TortoiseContext():
        await database.migrate(url)
        await database.connect(url, process_wide=False)
        try:
            seconds = await _seed_parts_timed()
            before = await _snapshot()
            await load_demo_seed(pii=PII, clock=FixedClock())  # the second run writes nothing
            yield CatalogRun(seconds, before, await _snapshot())
        finally:
            await database.disconnect()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CatalogRun]:
    async for run in _seeded(tmp_path_factory.mktemp("catalog-seed") / "demo.sqlite3"):
        yield run


# ------------------------------------------------------------------ publish rules (domain §4, §5.4)


def derive_level(components: list[int], limit_scene_num: int, is_schedule: bool) -> int:
    parts = set(components)
    if {2, 4, 5, 6} <= parts and limit_scene_num == 0:
        return 4
    if parts & {3, 4} and limit_scene_num >= 1:
        return 3
    if 2 in parts or is_schedule:
        return 2
    return 1


def is_online(item: ServiceItem) -> bool:
    return bool({"2", "3"} & set(item.handle_forms)) and bool(item.online_url or item.mobile_url)


@dataclass
class ItemParts:
    org: Organization
    faqs: list[Faq]
    fees: list[FeeItem]


def publish_violations(item: ServiceItem, parts: ItemParts) -> list[str]:
    """Q01–Q15 on one item; an empty list means it may be published."""
    v: list[str] = []
    promise_is_immediate = item.promise_limit.get("value") == 0
    if promise_is_immediate != (item.project_type == "1") or item.project_type not in ("1", "2"):
        v.append("Q01")
    if item.result_name.endswith(("证", "证书")) and item.result_type != "CERTIFICATE":
        v.append("Q02")
    if (item.result_name.endswith("文") and item.result_type != "DOCUMENT") or (
        item.result_name.endswith("批复") and item.result_type != "APPROVAL"
    ):
        v.append("Q03")
    if item.limit_scene_num != 0 and not item.limit_scene_reason.strip():
        v.append("Q04")
    if item.limit_scene_num == 0 and not (is_online(item) or "4" in item.handle_forms):
        v.append("Q05")
    if item.online_depth_level == 4 and item.limit_scene_num != 0:
        v.append("Q06")
    if item.is_fee and not (item.fee_basis and parts.fees and all(f.standard for f in parts.fees)):
        v.append("Q07")
    if not item.is_fee and (item.is_pay_online or parts.fees):
        v.append("Q08")
    consult, supervise = item.consult.get("phone", ""), item.supervise.get("phone", "")
    if consult == supervise or not _PHONE.match(consult) or not _PHONE.match(supervise):
        v.append("Q09")
    types = set(item.server_types)
    if ("1" in types) != bool(item.person_topics) or bool(types & _LEGAL_PERSON_TYPES) != bool(item.corp_topics):
        v.append("Q10")
    if item.task_type == "01" and not parts.faqs:
        v.append("Q11")
    steps = {s["name"] for s in item.workflow_steps}
    if item.task_type == "01" and not {"受理", "审核", "审批", "办结", "送达"} <= steps:
        v.append("Q12")
    if item.result_name and not item.result_sample_file_id:
        v.append("Q13")
    code = item.task_code
    catalog_code = code[19:]
    if not (
        len(code) == 31
        and code[:18] == parts.org.uscc
        and code[18] == str(item.use_level) == str(parts.org.use_level)
        and _BASIC_CODE.match(catalog_code)
        and catalog_code[2:4] == item.task_type
    ):
        v.append("Q14")
    if item.online_depth_level != derive_level(item.online_depth_components, item.limit_scene_num, item.is_schedule):
        v.append("Q15")
    return v


async def _parts_by_item() -> dict[Any, ItemParts]:
    orgs = {o.id: o for o in await Organization.all()}
    faqs, fees = defaultdict(list), defaultdict(list)
    for faq in await Faq.all():
        faqs[faq.service_item_id].append(faq)  # type: ignore[attr-defined]
    for fee in await FeeItem.all():
        fees[fee.service_item_id].append(fee)  # type: ignore[attr-defined]
    return {item.id: ItemParts(orgs[item.dept_id], faqs[item.id], fees[item.id]) for item in await ServiceItem.all()}


def _check_schema(schema: dict[str, Any], path: str = "") -> list[str]:
    """A structural check of the small JSON Schemas (no jsonschema dependency): typed properties, and a
    `required` list naming existing properties. Returns the leaf paths ('/'-joined)."""
    assert schema["type"] == "object", path
    assert set(schema["required"]) <= set(schema["properties"]), path
    leaves: list[str] = []
    for name, prop in schema["properties"].items():
        assert "/" not in name
        sub = f"{path}/{name}" if path else name
        if prop["type"] == "object":
            leaves += _check_schema(prop, sub)
        else:
            assert prop["type"] in ("string", "number", "integer", "boolean"), sub
            assert prop.get("title"), sub
            leaves.append(sub)
    return leaves


def _matches(policy: Policy, enterprise: Enterprise) -> bool:
    rules = policy.eligibility
    industry, sizes, regions = rules["industry_codes"], rules["sizes"], rules["region_codes"]
    return (
        (not industry or any(enterprise.industry_code.startswith(p) for p in industry))
        and (not sizes or enterprise.size.value in sizes)
        and (not regions or any(enterprise.region_code.startswith(p) for p in regions))
    )


class TestCatalogSeed:
    async def test_forty_published_items_with_the_type_counts(self, seeded: CatalogRun) -> None:
        items = await ServiceItem.all()
        assert len(items) == 40
        assert {(i.status, i.version) for i in items} == {(ItemStatus.PUBLISHED, 1)}
        types = Counter(i.task_type for i in items)
        assert (types["01"], types["05"], types["07"], types["08"] + types["10"], types["20"]) == (12, 6, 6, 4, 12)
        assert types["08"] >= 1
        assert types["10"] >= 1
        catalog = {c.id: c for c in await CatalogItem.all()}
        assert len(catalog) == 40
        for item in items:
            basic = catalog[item.catalog_item_id]  # type: ignore[attr-defined]
            assert (basic.name, basic.task_type, basic.catalog_code) == (item.name, item.task_type, item.task_code[19:])
        assert all(item.is_synthetic for item in items)
        assert all(c.is_synthetic for c in catalog.values())
        assert len({o for o in (i.dept_id for i in items)}) == 8
        required = {
            "企业设立登记", "食品经营许可", "道路货物运输经营许可", "医疗机构执业登记", "公共场所卫生许可",
            "失业保险金申领", "生育津贴", "最低生活保障", "残疾人两项补贴", "出生登记", "婚姻登记", "户口迁移",
            "职工退休审批", "见义勇为人员奖励", "社会团体年度检查", "社保卡申领", "医保参保登记", "单位社保登记",
            "公章刻制备案", "出生医学证明签发", "养老保险关系转移", "居民身份证补领", "居民身份证换领",
            "机动车驾驶证补领", "基本养老金核定", "医保待遇变更", "单位医保登记", "营业执照变更登记",
            "食品经营许可延续", "道路运输证换证",
        }  # fmt: skip
        assert required <= {i.name for i in items}

    async def test_every_task_code_is_composed_from_its_department(self, seeded: CatalogRun) -> None:
        orgs = {o.id: o for o in await Organization.all()}
        for item in await ServiceItem.all():
            org = orgs[item.dept_id]
            assert is_valid_uscc(org.uscc), org.uscc
            assert item.task_code == f"{org.uscc}{org.use_level}{item.task_code[19:]}"
            assert len(item.task_code) == 31
            basic = item.task_code[19:]
            assert basic.startswith("99") and basic.endswith("000")
            assert basic[2:4] == item.task_type
            assert item.use_level == org.use_level
            assert item.region_code == org.region_code

    async def test_every_item_passes_the_publish_rules(self, seeded: CatalogRun) -> None:
        parts = await _parts_by_item()
        failures = {i.name: v for i in await ServiceItem.all() if (v := publish_violations(i, parts[i.id]))}
        assert failures == {}

    async def test_every_item_has_a_full_guide(self, seeded: CatalogRun) -> None:
        windows = defaultdict(list)
        for window in await ServiceLocation.all():
            windows[window.service_item_id].append(window)  # type: ignore[attr-defined]
        for item in await ServiceItem.all():
            assert item.accept_condition and item.handle_flow_text and item.transact_time, item.name
            assert item.special_procedure_text and item.intermediary_service, item.name  # E1
            assert item.plain_guide_md.startswith("## ") and item.keywords, item.name
            for limit in (item.legal_limit, item.promise_limit):
                assert set(limit) == {"value", "unit", "note"}, item.name
                assert limit["unit"] in ("WORKING_DAY", "NATURAL_DAY") and limit["note"], item.name
                assert isinstance(limit["value"], int) and limit["value"] >= 0
            assert item.legal_limit["value"] > 0
            assert item.server_types and set(item.server_types) <= {"1", *_LEGAL_PERSON_TYPES}
            assert item.handle_forms and set(item.handle_forms) <= {"1", "2", "3", "4", "9"}
            assert set(item.online_depth_components) <= set(range(1, 8))
            assert item.min_assurance_level in (1, 2, 3)
            assert item.result_name and item.result_type in ("CERTIFICATE", "DOCUMENT", "APPROVAL", "OTHER")
            if item.result_is_elicense:
                assert item.elicense_type_code in lic.LICENCE_TYPE_NAMES
            assert item.consult["phone"] != item.supervise["phone"]
            assert windows[item.id], item.name
            for w in windows[item.id]:
                assert w.window_name and w.address.startswith("演示省") and w.hours_text, item.name
                assert _PHONE.match(w.phone), w.phone
            assert item.form_version == "1"
            leaves = _check_schema(item.form_schema)
            assert 2 <= len(leaves) <= 12, item.name
            assert item.workflow_steps[0]["name"] == "受理"
            assert sum(s["sla_working_days"] for s in item.workflow_steps) <= item.promise_limit["value"]
        levels = Counter(i.min_assurance_level for i in await ServiceItem.all())
        assert levels[1] and levels[2]

    async def test_items_referenced_by_the_identity_seed_resolve(self, seeded: CatalogRun) -> None:
        for name, (dept, basic) in referenced_items.ITEMS.items():
            item = await ServiceItem.get(name=name)
            org = await Organization.get(id=seed_id("organization", dept))
            assert item.dept_id == org.id
            assert item.task_code == f"{org.uscc}{org.use_level}{basic}"
        codes = {i.task_code for i in await ServiceItem.all()}
        scoped = [c for a in await AgentAuthorization.all() for c in a.scope_service_codes]
        assert scoped
        assert set(scoped) <= codes

    async def test_topics_levels_and_project_types(self, seeded: CatalogRun) -> None:
        items = await ServiceItem.all()
        assert sum(bool(i.person_topics) for i in items) >= 24
        assert sum(bool(i.corp_topics) for i in items) >= 16
        assert any(i.person_topics and i.corp_topics for i in items)
        assert {i.online_depth_level for i in items} == {1, 2, 3, 4}
        assert {i.project_type for i in items} == {"1", "2"}

    async def test_materials(self, seeded: CatalogRun) -> None:
        per_item = Counter(m.service_item_id for m in await MaterialRequirement.all())  # type: ignore[attr-defined]
        assert len(per_item) == 40
        assert all(2 <= n <= 6 for n in per_item.values())
        materials = await MaterialRequirement.all()
        assert {m.source for m in materials} == {"APPLICANT", "ISSUING_AUTHORITY", "DATA_SHARING"}
        assert {m.necessity for m in materials} == {"REQUIRED", "OPTIONAL", "TOLERATED_LATER"}
        assert any(m.allow_commitment for m in materials)
        licences = [code for m in materials for code in m.elicense_type_codes]
        assert set(licences) >= {lic.HOUSEHOLD_REGISTER, lic.MARRIAGE_CERTIFICATE, lic.BUSINESS_LICENCE}
        assert set(licences) <= set(lic.LICENCE_TYPE_NAMES)
        for m in materials:
            assert m.forms and m.issuing_org_text, m.name  # E2: 来源渠道 and 出具单位
            if "PAPER_ORIGINAL" in m.forms:
                assert m.original_count >= 1, m.name
            if "PAPER_COPY" in m.forms:
                assert m.copy_count >= 1, m.name
            if m.source == "DATA_SHARING":
                assert m.shared_data_service_id
            if m.blank_form_file_id:  # E4: 空表 and 样表 together
                assert m.sample_file_id
        assert sum(bool(m.blank_form_file_id) for m in materials) >= 30

    async def test_licence_type_codes_are_valid(self) -> None:
        names = lic.LICENCE_TYPE_NAMES
        assert set(names.values()) >= {
            "居民户口簿", "结婚证", "出生医学证明", "机动车驾驶证", "营业执照",
            "食品经营许可证", "道路运输经营许可证", "公共场所卫生许可证", "居民身份证",
        }  # fmt: skip
        for code in names:
            assert len(code) == 21
            assert code[:4] == "1199"
            assert is_valid_uscc(code[:18]), code
            assert code[18:].isdigit()
        assert len(set(names)) == len(names)

    async def test_fees(self, seeded: CatalogRun) -> None:
        fees = await FeeItem.all()
        items = {i.id: i for i in await ServiceItem.all()}
        charged = {f.service_item_id for f in fees}  # type: ignore[attr-defined]
        assert len(charged) >= 6
        assert {i.id for i in items.values() if i.is_fee} == charged
        assert any(f.reducible and f.reduce_basis for f in fees)
        assert any(items[i].is_pay_online for i in charged)
        for f in fees:
            assert f.amount_fen is not None and f.amount_fen > 0
            assert f.standard and f.by_law
            assert f.reducible == bool(f.reduce_basis)

    async def test_situations_refer_to_materials_of_their_item(self, seeded: CatalogRun) -> None:
        material_item = {str(m.id): m.service_item_id for m in await MaterialRequirement.all()}  # type: ignore[attr-defined]
        situations = await Situation.all()
        assert len({s.service_item_id for s in situations}) >= 5  # type: ignore[attr-defined]
        for s in situations:
            assert s.question and len(s.options) >= 2
            assert len({o["key"] for o in s.options}) == len(s.options)
            for option in s.options:
                assert set(option) == {"key", "label", "require", "exclude"}
                assert not set(option["require"]) & set(option["exclude"])
                for ref in (*option["require"], *option["exclude"]):
                    assert material_item[ref] == s.service_item_id  # type: ignore[attr-defined]
        birth = await ServiceItem.get(name="出生登记")
        labels = {o["label"] for s in situations if s.service_item_id == birth.id for o in s.options}  # type: ignore[attr-defined]
        assert {"父母一方非本市户籍", "非婚生育"} <= labels

    async def test_special_procedures(self, seeded: CatalogRun) -> None:
        defs = await SpecialProcedureDef.all()
        assert len(defs) >= 3
        assert {d.kind for d in defs} == {"1", "2"}
        for d in defs:
            assert d.subtype in ("HEARING", "TEST", "EXPERT_REVIEW", "SITE_INSPECTION", "OTHER")
            assert d.max_days > 0 and d.day_unit in ("WORKING_DAY", "NATURAL_DAY")
            item = await ServiceItem.get(id=d.service_item_id)  # type: ignore[attr-defined]
            assert item.special_procedure_text != "无"

    async def test_bundles(self, seeded: CatalogRun) -> None:
        by_code = {i.task_code: i.name for i in await ServiceItem.all()}
        bundles = {b.life_event: b for b in await Bundle.all()}
        expected = {
            "NEWBORN": ("新生儿出生一件事", "PERSON", ["出生医学证明签发", "出生登记", "医保参保登记", "社保卡申领"]),
            "BUSINESS_START": (
                "企业开办一件事",
                "ENTERPRISE",
                ["企业设立登记", "公章刻制备案", "单位社保登记", "单位医保登记"],
            ),
            "RETIREMENT": ("退休一件事", "PERSON", ["职工退休审批", "基本养老金核定", "医保待遇变更"]),
        }
        assert set(bundles) == set(expected)
        for event, (name, audience, items) in expected.items():
            b = bundles[event]
            assert (b.name, b.audience, [by_code[c] for c in b.task_codes]) == (name, audience, items)
            assert b.lead_org_id is not None and b.is_synthetic and b.keywords
            _check_schema(b.shared_form_schema)

    async def test_each_policy_matches_some_enterprises_but_not_all(self, seeded: CatalogRun) -> None:
        enterprises = await Enterprise.all()
        policies = await Policy.all()
        codes = {i.task_code for i in await ServiceItem.all()}
        assert len(policies) >= 3
        for p in policies:
            matched = [e for e in enterprises if _matches(p, e)]
            assert 1 <= len(matched) < len(enterprises), p.title
            assert p.valid_from <= SEED_MOMENT <= p.valid_to
            assert SEED_MOMENT - timedelta(days=366) <= p.valid_from
            assert p.valid_to <= SEED_MOMENT + timedelta(days=366)
            assert p.task_code is None or p.task_code in codes
            assert p.status == "ACTIVE" and p.is_synthetic

    async def test_search_knowledge_base(self, seeded: CatalogRun) -> None:
        names = {i.task_code: i.name for i in await ServiceItem.all()}
        phrases = {p.phrase: [names[c] for c in p.task_codes] for p in await SearchPhrase.all()}
        assert len(phrases) >= 60
        assert all(phrases.values())
        assert phrases["身份证丢了"] == ["居民身份证补领"]
        assert set(phrases["开饭店"]) == {"食品经营许可", "企业设立登记"}
        assert set(phrases["生孩子"]) == {"出生医学证明签发", "出生登记", "医保参保登记", "社保卡申领"}
        assert "职工退休审批" in phrases["退休"]
        groups = defaultdict(set)
        for s in await SearchSynonym.all():
            groups[s.group_key].add(s.term)
        assert all(len(terms) >= 2 for terms in groups.values())
        assert {"补办", "补领", "挂失"} in [g & {"补办", "补领", "挂失"} for g in groups.values()]
        assert any({"饭店", "餐馆", "餐厅", "饭馆"} <= g for g in groups.values())
        assert any({"孩子", "小孩", "新生儿", "宝宝"} <= g for g in groups.values())

    async def test_second_run_changes_nothing_and_the_part_is_fast(self, seeded: CatalogRun) -> None:
        assert seeded.after == seeded.before
        assert sum(len(rows) for rows in seeded.before.values()) > 400
        assert seeded.part_seconds["catalog"] < 1.0

    async def test_another_database_gets_the_same_rows(self, seeded: CatalogRun, tmp_path: Path) -> None:
        async for again in _seeded(tmp_path / "again.sqlite3"):
            assert again.before == seeded.before
