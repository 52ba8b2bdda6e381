"""Seed parts of the catalog (domain.md §13): 40 published items with their full 办事指南, 3 一件事, 惠企政策 and
the search knowledge base.

The data is in `catalog_items.py` (items) and `catalog_discovery.py` (bundles, policies, 常用语, synonyms); this
module turns it into rows. Guide texts that follow from the data (办理流程, 白话指南, 时限说明, 特别程序) are
composed here, so that they always agree with the structured fields the publish rules (Q01–Q15) check.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from api.models import (
    Bundle,
    CatalogItem,
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
from api.seed import items as referenced_items
from api.seed.catalog_discovery import BUNDLES, PHRASES, POLICIES, SYNONYMS
from api.seed.catalog_items import ITEMS
from api.seed.catalog_specs import (
    APPLICANT,
    DATA_SHARING,
    ISSUING_AUTHORITY,
    OPTIONAL,
    REQUIRED,
    TOLERATED_LATER,
    Field,
    ItemSpec,
    Material,
)
from api.seed.context import SeedContext, SeedPart, seed_id, seed_random
from api.seed.reference import DEPARTMENTS

FORM_VERSION = "1"
ONLINE_BASE = "https://zwfw.yunxi.demo.invalid"  # synthetic (.invalid never resolves)
HOURS = "周一至周五 上午 9:00-12:00，下午 13:30-17:30（法定节假日除外）"
HOURS_WITH_SATURDAY = HOURS + "；周六上午 9:00-12:00 预约办理"
_CITY_HALL = "演示省云溪市溪城区政务路100号云溪市民中心"
_TRAFFIC = "乘坐 8、23 路公交车至市民中心站下车，步行约 100 米"

# Department key → its windows (window name, address, traffic directions).
DEPT_WINDOWS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "scjg": (("市场监管综合窗口", f"{_CITY_HALL}一楼 A 区 1-6 号窗口", _TRAFFIC),),
    "ga": (
        ("公安户政出入境窗口", f"{_CITY_HALL}一楼 B 区 7-12 号窗口", _TRAFFIC),
        ("溪城派出所户籍窗口", "演示省云溪市溪城区平安路6号溪城派出所一楼", "乘坐 5 路公交车至平安路站下车"),
    ),
    "rsj": (("人社服务窗口", f"{_CITY_HALL}二楼 C 区 13-20 号窗口", _TRAFFIC),),
    "mzj": (
        ("民政服务窗口", f"{_CITY_HALL}二楼 D 区 21-23 号窗口", _TRAFFIC),
        ("云溪市婚姻登记处", "演示省云溪市溪城区同心路18号", "乘坐 12 路公交车至同心路站下车"),
    ),
    "wjw": (
        ("卫生健康窗口", f"{_CITY_HALL}二楼 D 区 24-26 号窗口", _TRAFFIC),
        (
            "云溪市妇幼保健院出生医学证明窗口",
            "演示省云溪市溪城区康宁路3号门诊楼一楼",
            "乘坐 3 路公交车至妇幼保健院站下车",
        ),
    ),
    "jtj": (("交通运输窗口", f"{_CITY_HALL}三楼 E 区 27-30 号窗口", _TRAFFIC),),
    "qsxzsp": (
        (
            "青石县政务服务中心综合受理窗口",
            "演示省云溪市青石县青石大道66号县政务服务中心一楼",
            "乘坐县内 1 路公交车至政务中心站",
        ),
    ),
    "bsyb": (("白沙县医保经办窗口", "演示省云溪市白沙县沙河路9号县政务服务中心二楼", "乘坐县内 2 路公交车至沙河路站"),),
}
_DEPT_NUMBER = {d.key: n for n, d in enumerate(DEPARTMENTS, start=1)}

_UNIT = {"WORKING_DAY": "个工作日", "NATURAL_DAY": "个自然日"}
_NECESSITY = {REQUIRED: "必要", OPTIONAL: "视情形提交", TOLERATED_LATER: "容缺，可后补"}
_SOURCE = {APPLICANT: "申请人自备", ISSUING_AUTHORITY: "出具单位", DATA_SHARING: "数据共享，无需提交"}
_STEP_TEXT = {
    "受理": "窗口或网上收件，材料齐全、符合法定形式的予以受理，出具受理通知书",
    "审核": "承办人员审核申请材料，必要时开展现场核查",
    "审批": "审批负责人作出准予或不予许可的决定",
    "办结": "制作并发放办理结果，电子证照同步归集",
    "送达": "结果通过窗口领取、邮寄或电子送达方式送达申请人",
}


def consult_phone(spec: ItemSpec, n: int) -> str:
    return f"0999-66{_DEPT_NUMBER[spec.dept]}{n:05d}"


def supervise_phone(spec: ItemSpec) -> str:
    return f"0999-880{_DEPT_NUMBER[spec.dept]}1234"


def _limit(days: int, unit: str, *, promise: bool) -> dict[str, Any]:
    if promise and days == 0:
        note = "即办：材料齐全、符合法定形式的当场办结"
    elif promise:
        note = f"自受理之日起 {days} {_UNIT[unit]}内办结（不含特别程序时间）"
    else:
        note = f"法定办结时限 {days} {_UNIT[unit]}"
    return {"value": days, "unit": unit, "note": note}


def _steps(spec: ItemSpec) -> list[str]:
    if spec.task_type == "01":
        return ["受理", "审核", "审批", "办结", "送达"]
    if spec.result_licence or spec.is_express:
        return ["受理", "审核", "办结", "送达"]
    return ["受理", "审核", "办结"]


def _workflow(spec: ItemSpec) -> list[dict[str, Any]]:
    names = _steps(spec)
    deciding = [n for n in names if n in ("受理", "审核", "审批")]
    days = spec.promise[0]
    sla = {n: days // len(deciding) + (1 if i < days % len(deciding) else 0) for i, n in enumerate(deciding)}
    steps: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        nxt = names[i + 1] if i + 1 < len(names) else None
        if name == "受理":
            actions = [
                {"action": "ACCEPT", "next_step": nxt},
                {"action": "REQUEST_SUPPLEMENT", "next_step": name},
                {"action": "REJECT", "next_step": None},
            ]
        elif name in ("审核", "审批"):
            actions = [{"action": "APPROVE", "next_step": nxt}, {"action": "DENY", "next_step": "办结"}]
            if name == "审核":
                actions.append({"action": "RETURN", "next_step": "受理"})
        else:
            actions = [{"action": "COMPLETE" if name == "办结" else "DELIVER", "next_step": nxt}]
        steps.append(
            {"name": name, "roles": ["case_handler"], "actions": actions, "sla_working_days": sla.get(name, 0)}
        )
    return steps


def _field_schema(f: Field) -> dict[str, Any]:
    schema: dict[str, Any]
    if f.kind == "number":
        schema = {"type": "number", "minimum": 0}
    elif f.kind == "date":
        schema = {"type": "string", "format": "date"}
    elif f.kind == "id_number":
        schema = {"type": "string", "pattern": "^[0-9]{17}[0-9Xx]$", "x-field-type": "id_number"}
    elif f.kind == "phone":
        schema = {"type": "string", "pattern": "^1[3-9][0-9]{9}$", "x-field-type": "phone"}
    elif f.kind == "enum":
        schema = {"type": "string", "enum": list(f.options)}
    else:
        schema = {"type": "string", "maxLength": 200}
    return {**schema, "title": f.title}


def form_fields(spec: ItemSpec) -> list[Field]:
    """The applicant block every form has, then the item's own fields (which win on the same path)."""
    if spec.person_topics:
        common = [
            Field("applicant/name", "申请人姓名"),
            Field("applicant/id_number", "申请人身份证号", "id_number"),
            Field("applicant/mobile", "联系电话", "phone"),
        ]
    else:
        common = [Field("contact/name", "经办人姓名"), Field("contact/mobile", "经办人手机", "phone")]
    by_path = {f.path: f for f in (*common, *spec.fields)}
    return list(by_path.values())


def form_schema(spec: ItemSpec) -> dict[str, Any]:
    """A JSON Schema of nested objects whose '/'-joined property paths are the draft field paths."""
    root: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{spec.name}申请表",
        "type": "object",
        "properties": {},
        "required": [],
    }
    for f in form_fields(spec):
        *groups, leaf = f.path.split("/")
        node = root
        for group in groups:
            child = node["properties"].setdefault(group, {"type": "object", "properties": {}, "required": []})
            if f.required and group not in node["required"]:
                node["required"].append(group)
            node = child
        node["properties"][leaf] = _field_schema(f)
        if f.required:
            node["required"].append(leaf)
    return root


def _handle_flow(spec: ItemSpec) -> str:
    level = spec.online_depth_level
    if level == 1:
        first = "申请：携带申请材料到办理窗口提交申请（可先在线咨询）"
    elif level == 4:
        first = "申请：通过掌上办 App、小程序或网站在线填报并提交材料，全程网办"
    else:
        first = "申请：在线填报并上传材料，或到办理窗口提交"
    lines = [first, *(f"{name}：{_STEP_TEXT[name]}" for name in _steps(spec))]
    return "\n".join(f"{i}. {line}。" for i, line in enumerate(lines, start=1))


def _special_text(spec: ItemSpec) -> str:
    if not spec.special:
        return "无"
    return "；".join(
        f"{sp.label}：不超过 {sp.max_days} {_UNIT[sp.day_unit]}，所需时间不计入承诺办结时限" for sp in spec.special
    )


def _intermediary(spec: ItemSpec) -> str:
    paid = [m for m in spec.materials if m.issuer.startswith(("具备资质", "会计师事务所"))]
    if not paid:
        return "无"
    return "；".join(f"{m.name}由{m.issuer}出具（申请人自主选择，不得指定）" for m in paid)


def _how(spec: ItemSpec) -> str:
    level = spec.online_depth_level
    if level == 4:
        how = "在掌上办直接提交，全程网上办，一次也不用跑。"
    elif level == 3:
        how = f"先在掌上办提交材料预审，审核通过后到窗口跑一次（{spec.limit_scene_reason}）。"
    elif level == 2:
        how = f"可在掌上办{'预约' if spec.is_schedule else '提交申请'}，再到窗口办理（{spec.limit_scene_reason}）。"
    else:
        how = f"请带齐材料到窗口办理（{spec.limit_scene_reason}），有疑问可先打电话或在线咨询。"
    if spec.is_express:
        how += "结果可以邮寄到家。"
    return how


def _plain_guide(spec: ItemSpec, phone: str) -> str:
    days, unit = spec.promise
    when = "当场办好" if days == 0 else f"{days} {_UNIT[unit]}内办好"
    if spec.fees:
        fee = "；".join(f"{f.name}{f.standard}" for f in spec.fees)
        reducible = [f.reduce_basis for f in spec.fees if f.reduce_basis]
        fee_text = f"要交费：{fee}。" + (f"{reducible[0]}" if reducible else "")
    else:
        fee_text = "不收费。"
    materials = "\n".join(
        f"- {m.name}（{_NECESSITY[m.necessity]}"
        + ("，可用电子证照" if m.licences else "")
        + ("，可告知承诺" if m.commitment else "")
        + "）"
        for m in spec.materials
    )
    return (
        f"## 谁能办\n{spec.accept_condition}\n\n"
        f"## 要带什么\n{materials}\n\n"
        f"## 怎么办\n{_how(spec)}\n\n"
        f"## 多久、多少钱\n{when}。{fee_text}\n\n"
        f"## 有问题找谁\n咨询电话 {phone}。"
    )


def _online_faq(spec: ItemSpec) -> tuple[str, str]:
    level = spec.online_depth_level
    answers = {
        4: "可以，全程网上办理，不需要到现场。",
        3: "可以在网上提交申请和预审，审核通过后需要到现场一次。",
        2: "可以在网上提交申请或预约，办理时需要到现场。",
        1: "目前只能到窗口办理，网上可以查看办事指南和咨询。",
    }
    return ("这个事项可以在网上办吗？", answers[level])


def _material(spec: ItemSpec, m: Material, order: int, service_item_id: Any) -> MaterialRequirement:
    code = spec.catalog_code
    paper = any(form.startswith("PAPER") for form in m.forms)
    original = m.original_count or (1 if "PAPER_ORIGINAL" in m.forms else 0)
    copies = m.copy_count or (1 if "PAPER_COPY" in m.forms else 0)
    return MaterialRequirement(
        id=material_id(spec, m.key),
        service_item_id=service_item_id,
        order=order,
        name=m.name,
        necessity=m.necessity,
        forms=list(m.forms),
        original_count=original,
        copy_count=copies,
        paper_spec="A4" if paper else "",
        source=m.source,
        issuing_org_text=m.issuer or "申请人",
        issue_time_requirement="近 6 个月内出具" if m.source == ISSUING_AUTHORITY else "",
        by_law=spec.by_law,
        accept_standard="内容真实、完整、清晰，与原件一致",
        fill_guide=m.note or ("由系统通过数据共享自动获取" if m.source == DATA_SHARING else "按要求如实提供"),
        blank_form_file_id=f"seed/catalog/{code}/form-blank.pdf" if m.is_form else "",
        sample_file_id=f"seed/catalog/{code}/form-sample.pdf" if m.is_form else "",
        signature_requirement="申请人签字；单位申请的加盖单位公章" if m.is_form else "",
        elicense_type_codes=list(m.licences),
        shared_data_service_id=f"demo-share:{m.key}" if m.source == DATA_SHARING else None,
        allow_commitment=m.commitment,
    )


def material_id(spec: ItemSpec, key: str) -> Any:
    return seed_id("material", f"{spec.catalog_code}:{key}")


def _check_referenced_items() -> None:
    by_name = {spec.name: spec for spec in ITEMS}
    for name, (dept, code) in referenced_items.ITEMS.items():
        spec = by_name.get(name)
        if spec is None or (spec.dept, spec.catalog_code) != (dept, code):
            raise ValueError(f"catalog seed disagrees with api/seed/items.py on {name}")


async def is_loaded(db: BaseDBAsyncClient) -> bool:
    return await CatalogItem.filter(id=seed_id("catalog_item", ITEMS[0].catalog_code)).using_db(db).exists()


async def load(ctx: SeedContext) -> None:
    _check_referenced_items()
    orgs = {
        o.id: o
        for o in await Organization.filter(id__in=[seed_id("organization", d.key) for d in DEPARTMENTS]).using_db(
            ctx.db
        )
    }
    dept = {d.key: orgs[seed_id("organization", d.key)] for d in DEPARTMENTS}
    rng = seed_random("catalog")

    catalog_items: list[CatalogItem] = []
    service_items: list[ServiceItem] = []
    locations: list[ServiceLocation] = []
    materials: list[MaterialRequirement] = []
    situations: list[Situation] = []
    specials: list[SpecialProcedureDef] = []
    fees: list[FeeItem] = []
    faqs: list[Faq] = []
    task_codes: dict[str, str] = {}

    for n, spec in enumerate(ITEMS, start=1):
        org = dept[spec.dept]
        code = spec.catalog_code
        task_code = f"{org.uscc}{org.use_level}{code}"
        task_codes[spec.name] = task_code
        catalog_id = seed_id("catalog_item", code)
        item_id = seed_id("service_item", code)
        phone = consult_phone(spec, n)
        hours = HOURS_WITH_SATURDAY if spec.dept in ("ga", "mzj") else HOURS
        online = spec.online_depth_level >= 2
        catalog_items.append(
            CatalogItem(
                id=catalog_id,
                catalog_code=code,
                name=spec.name,
                task_type=spec.task_type,
                by_law=spec.by_law,
                is_synthetic=True,
            )
        )
        service_items.append(
            ServiceItem(
                id=item_id,
                task_code=task_code,
                catalog_item_id=catalog_id,
                dept_id=org.id,
                use_level=org.use_level,
                joint_org_ids=[str(dept[k].id) for k in spec.joint_depts],
                name=spec.name,
                task_type=spec.task_type,
                by_law=spec.by_law,
                legal_limit=_limit(*spec.legal, promise=False),
                promise_limit=_limit(*spec.promise, promise=True),
                project_type=spec.project_type,
                server_types=spec.server_types,
                handle_forms=list(spec.handle_forms),
                online_depth_components=list(spec.components),
                online_depth_level=spec.online_depth_level,
                online_url=f"{ONLINE_BASE}/pc/items/{task_code}" if online else "",
                mobile_url=f"{ONLINE_BASE}/m/items/{task_code}" if online else "",
                limit_scene_num=spec.limit_scene_num,
                limit_scene_reason=spec.limit_scene_reason,
                is_schedule=spec.is_schedule,
                is_pay_online=spec.pay_online,
                is_express=spec.is_express,
                is_service_terminal=spec.dept in ("ga", "rsj"),
                is_entry_center=True,
                handle_area=spec.handle_area,
                intermediary_service=_intermediary(spec),
                min_assurance_level=spec.min_assurance_level,
                accept_condition=spec.accept_condition,
                handle_flow_text=_handle_flow(spec),
                transact_time=hours,
                consult={"phone": phone, "online": online, "text": f"工作时间拨打 {phone}，或在掌上办在线咨询"},
                supervise={
                    "phone": supervise_phone(spec),
                    "hotline": "0999-12345",
                    "text": f"拨打 {supervise_phone(spec)} 或 0999-12345 政务服务便民热线投诉",
                },
                special_procedure_text=_special_text(spec),
                plain_guide_md=_plain_guide(spec, phone),
                result_name=spec.result[0],
                result_type=spec.result[1],
                result_sample_file_id=f"seed/catalog/{code}/result-sample.pdf",
                result_is_elicense=bool(spec.result_licence),
                elicense_type_code=spec.result_licence,
                is_fee=bool(spec.fees),
                fee_basis=spec.fee_basis,
                person_topics=list(spec.person_topics),
                corp_topics=list(spec.corp_topics),
                keywords=list(spec.keywords),
                region_code=org.region_code,
                status=ItemStatus.PUBLISHED,
                version=1,
                effective_from=ctx.now,
                workflow_steps=_workflow(spec),
                form_version=FORM_VERSION,
                form_schema=form_schema(spec),
                popularity=rng.randint(20, 5000),
                is_synthetic=True,
            )
        )
        for i, (window, address, traffic) in enumerate(DEPT_WINDOWS[spec.dept], start=1):
            locations.append(
                ServiceLocation(
                    id=seed_id("service_location", f"{code}:{i}"),
                    service_item_id=item_id,
                    order=i,
                    window_name=window,
                    address=address,
                    hours_text=hours,
                    phone=phone if i == 1 else f"0999-67{_DEPT_NUMBER[spec.dept]}{n:05d}",
                    map_url=f"https://map.yunxi.demo.invalid/poi/{spec.dept}-{i}",
                    traffic_info=traffic,
                )
            )
        materials += [_material(spec, m, i, item_id) for i, m in enumerate(spec.materials, start=1)]
        for i, situation in enumerate(spec.situations, start=1):
            situations.append(
                Situation(
                    id=seed_id("situation", f"{code}:{i}"),
                    service_item_id=item_id,
                    order=i,
                    question=situation.question,
                    options=[
                        {
                            "key": o.key,
                            "label": o.label,
                            "require": [str(material_id(spec, k)) for k in o.require],
                            "exclude": [str(material_id(spec, k)) for k in o.exclude],
                        }
                        for o in situation.options
                    ],
                )
            )
        specials += [
            SpecialProcedureDef(
                id=seed_id("special_procedure", f"{code}:{i}"),
                service_item_id=item_id,
                order=i,
                kind=sp.kind,
                subtype=sp.subtype,
                max_days=sp.max_days,
                day_unit=sp.day_unit,
            )
            for i, sp in enumerate(spec.special, start=1)
        ]
        fees += [
            FeeItem(
                id=seed_id("fee_item", f"{code}:{i}"),
                service_item_id=item_id,
                order=i,
                name=fee.name,
                standard=fee.standard,
                amount_fen=fee.amount_fen,
                by_law=fee.by_law,
                reducible=bool(fee.reduce_basis),
                reduce_basis=fee.reduce_basis,
            )
            for i, fee in enumerate(spec.fees, start=1)
        ]
        faqs += [
            Faq(id=seed_id("faq", f"{code}:{i}"), service_item_id=item_id, order=i, question=q, answer=a)
            for i, (q, a) in enumerate((*spec.faqs, _online_faq(spec)), start=1)
        ]

    await CatalogItem.bulk_create(catalog_items, using_db=ctx.db)
    await ServiceItem.bulk_create(service_items, using_db=ctx.db)
    await ServiceLocation.bulk_create(locations, using_db=ctx.db)
    await MaterialRequirement.bulk_create(materials, using_db=ctx.db)
    await Situation.bulk_create(situations, using_db=ctx.db)
    await SpecialProcedureDef.bulk_create(specials, using_db=ctx.db)
    await FeeItem.bulk_create(fees, using_db=ctx.db)
    await Faq.bulk_create(faqs, using_db=ctx.db)
    await _load_discovery(ctx, task_codes, dept)


def _resolve(names: tuple[str, ...], task_codes: dict[str, str]) -> list[str]:
    bundles = {b.code: b.items for b in BUNDLES}
    codes: list[str] = []
    for name in names:
        for item in bundles[name.removeprefix("bundle:")] if name.startswith("bundle:") else (name,):
            if task_codes[item] not in codes:
                codes.append(task_codes[item])
    return codes


async def _load_discovery(ctx: SeedContext, task_codes: dict[str, str], dept: dict[str, Organization]) -> None:
    await Bundle.bulk_create(
        [
            Bundle(
                id=seed_id("bundle", b.code),
                code=b.code,
                name=b.name,
                audience=b.audience,
                task_codes=[task_codes[item] for item in b.items],
                shared_form_schema=b.shared_form_schema,
                lead_org_id=dept[b.lead_dept].id,
                life_event=b.life_event,
                keywords=list(b.keywords),
                is_synthetic=True,
            )
            for b in BUNDLES
        ],
        using_db=ctx.db,
    )
    await Policy.bulk_create(
        [
            Policy(
                id=seed_id("policy", p.code),
                code=p.code,
                title=p.title,
                summary=p.summary,
                issuing_org_id=dept[p.issuing_dept].id,
                eligibility={
                    "industry_codes": list(p.industry_codes),
                    "sizes": list(p.sizes),
                    "region_codes": list(p.region_codes),
                },
                task_code=task_codes[p.item] if p.item else None,
                valid_from=ctx.now + timedelta(days=p.valid_from_days),
                valid_to=ctx.now + timedelta(days=p.valid_to_days),
                status="ACTIVE",
                is_synthetic=True,
            )
            for p in POLICIES
        ],
        using_db=ctx.db,
    )
    await SearchPhrase.bulk_create(
        [
            SearchPhrase(
                id=seed_id("search_phrase", phrase),
                phrase=phrase,
                task_codes=_resolve(names, task_codes),
                weight=1.0,
                is_synthetic=True,
            )
            for phrase, names in PHRASES.items()
        ],
        using_db=ctx.db,
    )
    await SearchSynonym.bulk_create(
        [
            SearchSynonym(id=seed_id("search_synonym", term), term=term, group_key=group, is_synthetic=True)
            for group, terms in SYNONYMS.items()
            for term in terms
        ],
        using_db=ctx.db,
    )


PARTS: tuple[SeedPart, ...] = (SeedPart("catalog", is_loaded, load),)
