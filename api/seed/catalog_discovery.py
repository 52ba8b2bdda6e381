"""一件事 bundles, 惠企政策 and the search knowledge base (常用语, synonyms) of the demo catalog (domain.md §13).

Items are named by `ItemSpec.name`; the loader resolves them to 实施编码.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BundleSpec:
    code: str
    name: str
    audience: str  # PERSON | ENTERPRISE
    life_event: str
    lead_dept: str
    items: tuple[str, ...]
    keywords: tuple[str, ...]
    shared_form_schema: dict[str, Any]


def _schema(properties: dict[str, dict[str, Any]], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


_STRING = {"type": "string"}

BUNDLES: tuple[BundleSpec, ...] = (
    BundleSpec(
        code="NEWBORN",
        name="新生儿出生一件事",
        audience="PERSON",
        life_event="NEWBORN",
        lead_dept="wjw",
        items=("出生医学证明签发", "出生登记", "医保参保登记", "社保卡申领"),
        keywords=("生孩子", "宝宝出生", "新生儿", "上户口"),
        shared_form_schema=_schema(
            {
                "child": _schema(
                    {
                        "name": {**_STRING, "title": "新生儿姓名"},
                        "birth_date": {**_STRING, "format": "date", "title": "出生日期"},
                        "gender": {"type": "string", "enum": ["男", "女"], "title": "性别"},
                    },
                    ["name", "birth_date", "gender"],
                ),
                "mother": _schema({"name": {**_STRING, "title": "母亲姓名"}}, ["name"]),
                "father": _schema({"name": {**_STRING, "title": "父亲姓名"}}, ["name"]),
            },
            ["child", "mother"],
        ),
    ),
    BundleSpec(
        code="BUSINESS_START",
        name="企业开办一件事",
        audience="ENTERPRISE",
        life_event="BUSINESS_START",
        lead_dept="scjg",
        items=("企业设立登记", "公章刻制备案", "单位社保登记", "单位医保登记"),
        keywords=("开公司", "企业开办", "注册公司", "创业"),
        shared_form_schema=_schema(
            {
                "enterprise": _schema(
                    {
                        "name": {**_STRING, "title": "企业名称"},
                        "address": {**_STRING, "title": "住所"},
                        "registered_capital": {"type": "number", "minimum": 0, "title": "注册资本（万元）"},
                    },
                    ["name", "address"],
                ),
                "contact": _schema(
                    {"name": {**_STRING, "title": "经办人"}, "mobile": {**_STRING, "title": "经办人手机"}},
                    ["name", "mobile"],
                ),
            },
            ["enterprise", "contact"],
        ),
    ),
    BundleSpec(
        code="RETIREMENT",
        name="退休一件事",
        audience="PERSON",
        life_event="RETIREMENT",
        lead_dept="rsj",
        items=("职工退休审批", "基本养老金核定", "医保待遇变更"),
        keywords=("退休", "办退休", "领养老金"),
        shared_form_schema=_schema(
            {
                "retiree": _schema(
                    {
                        "name": {**_STRING, "title": "退休人员姓名"},
                        "retire_date": {**_STRING, "format": "date", "title": "退休日期"},
                    },
                    ["name", "retire_date"],
                ),
                "pension": _schema({"bank_account": {**_STRING, "title": "养老金发放账户"}}, ["bank_account"]),
            },
            ["retiree"],
        ),
    ),
)


@dataclass(frozen=True)
class PolicySpec:
    code: str
    title: str
    summary: str
    issuing_dept: str
    industry_codes: tuple[str, ...]  # GB/T 4754 prefixes with the 门类 letter ("H62" matches H6210)
    sizes: tuple[str, ...]  # EnterpriseSize values
    region_codes: tuple[str, ...]  # GB/T 2260 prefixes of the 12-digit region code
    item: str | None  # the item that applies for it
    valid_from_days: int  # relative to the seed moment
    valid_to_days: int


POLICIES: tuple[PolicySpec, ...] = (
    PolicySpec(
        code="DEMO-POLICY-2026-001",
        title="小微餐饮企业纾困补贴",
        summary="对本市正常经营的小型、微型餐饮企业，按从业人数给予一次性纾困补贴，每户最高 2 万元。",
        issuing_dept="scjg",
        industry_codes=("H62",),
        sizes=("MICRO", "SMALL"),
        region_codes=("9901",),
        item="一次性创业补贴",
        valid_from_days=-180,
        valid_to_days=365,
    ),
    PolicySpec(
        code="DEMO-POLICY-2026-002",
        title="科技型中小企业研发费用补助",
        summary="对软件和信息技术服务业中小企业上年度研发投入，按 10% 给予补助，最高 50 万元。",
        issuing_dept="scjg",
        industry_codes=("I63", "I64", "I65"),
        sizes=("SMALL", "MEDIUM"),
        region_codes=(),
        item=None,
        valid_from_days=-365,
        valid_to_days=180,
    ),
    PolicySpec(
        code="DEMO-POLICY-2026-003",
        title="县域物流企业降本增效奖补",
        summary="对青石县、白沙县新增营运车辆的道路货物运输企业，每辆给予 3000 元奖补。",
        issuing_dept="jtj",
        industry_codes=("G54", "G59"),
        sizes=(),
        region_codes=("990121", "990122"),
        item="道路货物运输经营许可",
        valid_from_days=-90,
        valid_to_days=275,
    ),
    PolicySpec(
        code="DEMO-POLICY-2026-004",
        title="中小微企业失业保险稳岗返还",
        summary="上年度未裁员或裁员率低于规定比例的中小微企业，按上年度实际缴纳失业保险费的 60% 返还。",
        issuing_dept="rsj",
        industry_codes=(),
        sizes=("MICRO", "SMALL", "MEDIUM"),
        region_codes=("99",),
        item="单位社保登记",
        valid_from_days=-30,
        valid_to_days=335,
    ),
)

# 常用语: how people say it → the items they mean (item names, or a bundle code prefixed with "bundle:").
PHRASES: dict[str, tuple[str, ...]] = {
    "身份证丢了": ("居民身份证补领",),
    "身份证掉了怎么办": ("居民身份证补领",),
    "补办身份证": ("居民身份证补领",),
    "身份证过期了": ("居民身份证换领",),
    "身份证快到期": ("居民身份证换领",),
    "换身份证": ("居民身份证换领",),
    "驾照丢了": ("机动车驾驶证补领",),
    "驾驶证补办": ("机动车驾驶证补领",),
    "办护照": ("普通护照签发",),
    "出国旅游要办什么": ("普通护照签发",),
    "开饭店": ("食品经营许可", "企业设立登记"),
    "开餐馆要办什么证": ("食品经营许可", "企业设立登记"),
    "开奶茶店": ("食品经营许可", "个体工商户设立登记"),
    "卖盒饭": ("食品经营许可",),
    "食品许可证到期": ("食品经营许可延续",),
    "开公司": ("bundle:BUSINESS_START",),
    "注册公司": ("bundle:BUSINESS_START",),
    "怎么注册一家公司": ("bundle:BUSINESS_START",),
    "办营业执照": ("企业设立登记", "个体工商户设立登记"),
    "办个体户执照": ("个体工商户设立登记",),
    "开个小店": ("个体工商户设立登记",),
    "公司改名": ("营业执照变更登记",),
    "换法人": ("营业执照变更登记",),
    "公司搬家换地址": ("营业执照变更登记",),
    "刻公章": ("公章刻制备案",),
    "公司刻章": ("公章刻制备案",),
    "给员工交社保": ("单位社保登记", "单位医保登记"),
    "公司社保开户": ("单位社保登记",),
    "跑货运": ("道路货物运输经营许可",),
    "买货车拉货": ("道路货物运输经营许可",),
    "运输证到期": ("道路运输证换证",),
    "开诊所": ("医疗机构执业登记",),
    "公章丢了": ("公章刻制备案",),
    "生育保险待遇": ("生育津贴",),
    "外地住院报销": ("异地就医备案",),
    "开理发店": ("公共场所卫生许可", "个体工商户设立登记"),
    "开宾馆": ("公共场所卫生许可", "企业设立登记"),
    "开药店": ("药品经营许可（零售）",),
    "开养老院": ("养老机构备案",),
    "生孩子": ("bundle:NEWBORN",),
    "生孩子要办什么": ("bundle:NEWBORN",),
    "宝宝出生": ("bundle:NEWBORN",),
    "给孩子上户口": ("出生登记",),
    "新生儿落户": ("出生登记",),
    "办出生证": ("出生医学证明签发",),
    "孩子办医保": ("医保参保登记",),
    "给宝宝办社保卡": ("社保卡申领",),
    "产假工资": ("生育津贴",),
    "生育补贴怎么领": ("生育津贴",),
    "结婚": ("婚姻登记",),
    "领结婚证": ("婚姻登记",),
    "预约结婚登记": ("婚姻登记",),
    "离婚": ("婚姻登记",),
    "结婚证丢了": ("补领结婚证",),
    "迁户口": ("户口迁移",),
    "买房落户": ("户口迁移",),
    "退休": ("bundle:RETIREMENT",),
    "办退休手续": ("bundle:RETIREMENT",),
    "退休金怎么算": ("基本养老金核定",),
    "领养老金": ("基本养老金核定",),
    "失业了": ("失业登记", "失业保险金申领"),
    "被裁员了": ("失业登记", "失业保险金申领"),
    "领失业金": ("失业保险金申领",),
    "创业补贴": ("一次性创业补贴",),
    "换工作社保怎么转": ("养老保险关系转移",),
    "社保转到外地": ("养老保险关系转移",),
    "办社保卡": ("社保卡申领",),
    "交医保": ("医保参保登记",),
    "在外地看病报销": ("异地就医备案",),
    "低保怎么申请": ("最低生活保障",),
    "家里困难补助": ("最低生活保障",),
    "残疾人补贴": ("残疾人两项补贴",),
    "老人补贴": ("高龄津贴",),
    "八十岁老人补贴": ("高龄津贴",),
    "见义勇为奖励": ("见义勇为人员奖励",),
    "协会年检": ("社会团体年度检查",),
}

# Synonym groups: every term is searched as any other of its group.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "reissue": ("补办", "补领", "挂失", "补发", "重办"),
    "lost": ("丢了", "丢失", "遗失", "掉了", "弄丢"),
    "renew": ("换领", "换证", "换发", "到期换证"),
    "restaurant": ("饭店", "餐馆", "餐厅", "饭馆", "小吃店", "餐饮店"),
    "business_licence": ("执照", "营业执照", "工商执照", "电子执照"),
    "baby": ("孩子", "小孩", "新生儿", "宝宝", "婴儿"),
    "id_card": ("身份证", "居民身份证", "二代证"),
    "driving_licence": ("驾照", "驾驶证", "驾驶执照"),
    "hukou": ("户口", "户籍", "户口本", "户口簿"),
    "marriage": ("结婚", "领证", "扯证", "登记结婚"),
    "company": ("公司", "企业", "单位"),
    "seal": ("公章", "印章", "刻章"),
    "social_security_card": ("社保卡", "社会保障卡", "医保卡"),
    "pension": ("养老金", "退休金", "退休工资"),
    "unemployment": ("失业", "下岗", "被裁员", "没工作", "辞退", "被辞退", "解雇"),
    "subsidy": ("补贴", "补助", "津贴"),
    "freight": ("货运", "拉货", "跑运输"),
    "medical_insurance": ("医保", "医疗保险", "新农合"),
    "pharmacy": ("药店", "药房"),
    "elderly": ("老人", "老年人", "高龄"),
    "lodging": ("宾馆", "旅馆", "酒店", "民宿", "招待所"),
    "clinic": ("诊所", "私人诊所", "门诊部"),
}
