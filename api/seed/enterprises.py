"""Enterprises part: 5 synthetic companies, each with a resident as 法定代表人 and another as 经办人."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from api.models import AgentAuthorization, AgentKind, Enterprise, EnterpriseSize, Person, PrincipalType
from api.models import AssuranceLevel as L
from api.seed.context import SeedContext, add_years, seed_id, seed_random
from api.seed.items import task_code
from api.seed.reference import enterprise_uscc


@dataclass(frozen=True)
class EnterpriseSpec:
    key: str
    name: str
    region: str  # registration authority, USCC positions 3–8 (and so region_code, domain §11.3)
    address: str
    # GB/T 4754-2017 小类 with its 门类 letter, e.g. H6210 正餐服务: unambiguous and fits varchar(8).
    industry_code: str
    size: EnterpriseSize
    age_days: int
    business_scope: str
    legal_rep: int  # resident number (L2 or L3)
    agent: int  # resident number, never the legal representative
    agent_items: tuple[str, ...] = ()  # catalog item names (items.py); empty = every item (scope_all)


ENTERPRISES: tuple[EnterpriseSpec, ...] = (
    EnterpriseSpec(
        key="canyin",
        name="云溪演示餐饮有限公司",
        region="990100",
        address="演示省云溪市溪城区演示路1号",
        industry_code="H6210",
        size=EnterpriseSize.MICRO,
        age_days=3 * 365 + 40,
        business_scope="餐饮服务；食品销售（仅销售预包装食品）。",
        legal_rep=1,
        agent=4,
        agent_items=("食品经营许可", "公共场所卫生许可"),
    ),
    EnterpriseSpec(
        key="keji",
        name="云溪演示科技有限公司",
        region="990100",
        address="演示省云溪市溪城区创新大道88号",
        industry_code="I6513",
        size=EnterpriseSize.MEDIUM,
        age_days=6 * 365 + 100,
        business_scope="软件开发；信息技术咨询服务；信息系统集成服务。",
        legal_rep=2,
        agent=10,
    ),
    EnterpriseSpec(
        key="wuliu",
        name="青石演示物流有限公司",
        region="990121",
        address="演示省云溪市青石县物流园路6号",
        industry_code="G5431",
        size=EnterpriseSize.SMALL,
        age_days=9 * 365 + 7,
        business_scope="道路货物运输（不含危险货物）；普通货物仓储服务。",
        legal_rep=5,
        agent=6,
        agent_items=("道路货物运输经营许可", "单位社保登记"),
    ),
    EnterpriseSpec(
        key="yiyao",
        name="白沙演示医药有限公司",
        region="990122",
        address="演示省云溪市白沙县健康街12号",
        industry_code="F5251",
        size=EnterpriseSize.SMALL,
        age_days=2 * 365 + 200,
        business_scope="药品零售；第二类医疗器械销售；保健食品销售。",
        legal_rep=7,
        agent=8,
    ),
    EnterpriseSpec(
        key="shipin",
        name="云溪演示食品有限公司",
        region="990100",
        address="演示省云溪市溪城区工业园路20号",
        industry_code="C1411",
        size=EnterpriseSize.LARGE,
        age_days=15 * 365 + 3,
        business_scope="糕点、面包制造；食品生产；食品销售。",
        legal_rep=9,
        agent=11,
    ),
)


async def _enterprise(ctx: SeedContext, spec: EnterpriseSpec, uscc: str) -> Enterprise:
    rep = await Person.get(id=seed_id("person", spec.legal_rep), using_db=ctx.db)
    if rep.id_number_hash is None or rep.assurance_level < L.L2 or spec.agent == spec.legal_rep:
        raise ValueError(f"{spec.key}: the legal rep must be a verified L2+ resident other than the 经办人")
    return Enterprise(
        id=seed_id("enterprise", spec.key),
        uscc=uscc,
        name=spec.name,
        entity_type="2",  # 企业法人
        legal_rep_name=rep.name,
        legal_rep_id_hash=rep.id_number_hash,  # the same keyed hash as the person row: they link by it
        reg_address=spec.address,
        region_code=spec.region + "000000",
        reg_date=ctx.today - timedelta(days=spec.age_days),
        business_scope=spec.business_scope,
        industry_code=spec.industry_code,
        size=spec.size,
        # An L3 legal rep stands for an 电子营业执照 login; otherwise activated by the rep at L2 (§6.3).
        assurance_level=L.L3 if rep.assurance_level == L.L3 else L.L2,
        is_synthetic=True,
    )


async def _staff(ctx: SeedContext, spec: EnterpriseSpec, rep_name: str) -> AgentAuthorization:
    agent = await Person.get(id=seed_id("person", spec.agent), using_db=ctx.db)
    codes = [await task_code(ctx, item) for item in spec.agent_items]
    scope = "、".join(spec.agent_items) if spec.agent_items else "本单位全部事项"
    return AgentAuthorization(
        id=seed_id("agent", f"enterprise:{spec.key}"),
        principal_type=PrincipalType.ENTERPRISE,
        principal_id=seed_id("enterprise", spec.key),
        agent_person_id=agent.id,
        kind=AgentKind.STAFF,
        scope_all=not codes,
        scope_service_codes=codes,
        valid_from=ctx.now,
        valid_to=add_years(ctx.now, 1),  # D15
        consent_text=f"{spec.name}法定代表人{rep_name}授权{agent.name}为本单位经办人，办理{scope}。"
        "有效期一年，可随时撤销。",
        granted_by_person_id=seed_id("person", spec.legal_rep),  # only the legal rep grants (D15)
        is_synthetic=True,
    )


async def is_loaded(db: BaseDBAsyncClient) -> bool:
    return await Enterprise.filter(id=seed_id("enterprise", ENTERPRISES[0].key)).using_db(db).exists()


async def load(ctx: SeedContext) -> None:
    rng = seed_random("enterprises")
    enterprises = [await _enterprise(ctx, spec, enterprise_uscc(rng, spec.region)) for spec in ENTERPRISES]
    await Enterprise.bulk_create(enterprises, using_db=ctx.db)
    staff = [await _staff(ctx, spec, e.legal_rep_name) for spec, e in zip(ENTERPRISES, enterprises, strict=True)]
    await AgentAuthorization.bulk_create(staff, using_db=ctx.db)
