"""Seed parts of the licenses (domain.md §13 "Licences").

Every seeded resident and enterprise holds 1–4 licences with valid GB/T 36904 identifiers (the catalog's synthetic
证照类型代码, issued by a seeded department), 照面信息 and a 新发 operation. Six expire within 30 days of the seed
date, two are EXPIRED, one SUSPENDED and one REVOKED; use records cover every use type, and resident 1 has
granted the demo verifier a consent. Deterministic (`seed_id`, `seed_random`) and written in the seed transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from api.kit.pii import mask_id_number
from api.licenses import identifiers
from api.models import (
    Consent,
    ELicense,
    Enterprise,
    LicenseOperation,
    LicenseStatus,
    LicenseUse,
    LicenseUseType,
    Organization,
    Person,
)
from api.seed import catalog_licence_types as types
from api.seed.context import SeedContext, SeedPart, seed_id, seed_random
from api.seed.enterprises import ENTERPRISES, EnterpriseSpec
from api.seed.operators import VERIFIER_CLIENT_ID
from api.seed.residents import RESIDENTS, Resident, make_id_number

PERSON_ID_TYPE = "111"  # 居民身份证 (GA/T 2000.156), as on Person.id_type
USCC_ID_TYPE = "001"  # 统一社会信用代码

# Which department issues each type (department keys of api.seed.reference.DEPARTMENTS).
ISSUER: dict[str, str] = {
    types.HOUSEHOLD_REGISTER: "ga",
    types.DRIVING_LICENCE: "ga",
    types.MARRIAGE_CERTIFICATE: "mzj",
    types.BIRTH_MEDICAL_CERTIFICATE: "wjw",
    types.PUBLIC_PLACE_HYGIENE_LICENCE: "wjw",
    types.BUSINESS_LICENCE: "scjg",
    types.FOOD_BUSINESS_LICENCE: "scjg",
    types.ROAD_TRANSPORT_LICENCE: "jtj",
}
# Term in years of the types that expire; the others are open-ended (valid_to null).
TERM_YEARS: dict[str, int] = {
    types.DRIVING_LICENCE: 6,
    types.FOOD_BUSINESS_LICENCE: 5,
    types.PUBLIC_PLACE_HYGIENE_LICENCE: 4,
    types.ROAD_TRANSPORT_LICENCE: 4,
}


@dataclass(frozen=True)
class Special:
    valid_to_days: int  # valid_to relative to the seed date
    status: LicenseStatus = LicenseStatus.VALID


# (holder key, type code) → an expiry or status that the demo needs; every other licence is VALID mid-term.
SPECIALS: dict[tuple[str, str], Special] = {
    ("person:1", types.DRIVING_LICENCE): Special(5),
    ("person:5", types.DRIVING_LICENCE): Special(12),
    ("person:9", types.DRIVING_LICENCE): Special(25),
    ("enterprise:canyin", types.FOOD_BUSINESS_LICENCE): Special(3),
    ("enterprise:canyin", types.PUBLIC_PLACE_HYGIENE_LICENCE): Special(28),
    ("enterprise:wuliu", types.ROAD_TRANSPORT_LICENCE): Special(20),
    ("person:7", types.DRIVING_LICENCE): Special(-10, LicenseStatus.EXPIRED),
    ("enterprise:shipin", types.FOOD_BUSINESS_LICENCE): Special(-40, LicenseStatus.EXPIRED),
    ("person:11", types.DRIVING_LICENCE): Special(400, LicenseStatus.SUSPENDED),
    ("person:13", types.DRIVING_LICENCE): Special(800, LicenseStatus.REVOKED),
}
MARRIED = (1, 2, 9, 12, 13)
# The operation recorded after 新发 (01) for a licence seeded in a status other than VALID.
STATUS_OPERATION = {LicenseStatus.EXPIRED: "04", LicenseStatus.SUSPENDED: "03", LicenseStatus.REVOKED: "05"}


def resident_types(r: Resident) -> list[str]:
    codes = [types.HOUSEHOLD_REGISTER]
    if r.n == 17:
        codes.append(types.BIRTH_MEDICAL_CERTIFICATE)
    if r.age >= 18 and r.n % 2 == 1:
        codes.append(types.DRIVING_LICENCE)
    if r.n in MARRIED:
        codes.append(types.MARRIAGE_CERTIFICATE)
    return codes


def enterprise_types(spec: EnterpriseSpec) -> list[str]:
    extra = {
        "canyin": [types.FOOD_BUSINESS_LICENCE, types.PUBLIC_PLACE_HYGIENE_LICENCE],
        "wuliu": [types.ROAD_TRANSPORT_LICENCE],
        "shipin": [types.FOOD_BUSINESS_LICENCE],
    }
    return [types.BUSINESS_LICENCE, *extra.get(spec.key, [])]


def licence_id(holder_key: str, type_code: str) -> uuid.UUID:
    return seed_id("elicense", f"{holder_key}:{type_code}")


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class Holder:
    key: str
    name: str
    id_hash: str
    person_id: uuid.UUID | None
    enterprise_id: uuid.UUID | None
    area_code: str
    surface: list[dict[str, str]]
    since: date  # the earliest sensible issue date (birth, registration)


class _Builder:
    def __init__(self, ctx: SeedContext, issuers: dict[str, Organization]) -> None:
        self.ctx = ctx
        self.issuers = issuers
        self.rng = seed_random("licenses")
        self.licences: list[ELicense] = []
        self.operations: list[LicenseOperation] = []

    def _dates(self, holder: Holder, code: str) -> tuple[date, date | None, LicenseStatus]:
        today = self.ctx.today
        special = SPECIALS.get((holder.key, code))
        term = TERM_YEARS.get(code)
        if special is not None:
            valid_to = today + timedelta(days=special.valid_to_days)
            issued = _years_before(valid_to, term or 5) + timedelta(days=1)
            return max(issued, holder.since), valid_to, special.status
        age_days = max(30, (today - holder.since).days)
        issued = today - timedelta(days=self.rng.randrange(30, min(age_days, 3 * 365) + 31))
        issued = max(issued, holder.since)
        if term is None:
            return issued, None, LicenseStatus.VALID
        valid_to = issued.replace(year=issued.year + term) - timedelta(days=1)
        if valid_to < today + timedelta(days=120):  # keep ordinary licences clear of the 90-day reminders
            valid_to = today + timedelta(days=120 + self.rng.randrange(900))
        return issued, valid_to, LicenseStatus.VALID

    def add(self, holder: Holder, code: str, extra: list[dict[str, str]], cert_number: str) -> None:
        issuer = self.issuers[ISSUER[code]]
        issued, valid_to, status = self._dates(holder, code)
        serial = f"{issued.year}{len(self.licences) + 1:04d}{self.rng.randrange(10**4):04d}"
        row_id = licence_id(holder.key, code)
        self.licences.append(
            ELicense(
                id=row_id,
                cert_identifier=identifiers.build(code, issuer.uscc, serial, 1),
                identifier_valid=True,
                type_code=code,
                type_name=types.LICENCE_TYPE_NAMES[code],
                cert_number=cert_number,
                name=types.LICENCE_TYPE_NAMES[code],
                issuer_name=issuer.name,
                issuer_uscc=issuer.uscc,
                area_code=holder.area_code,
                holder_name=holder.name,
                holder_id_type=PERSON_ID_TYPE if holder.person_id else USCC_ID_TYPE,
                holder_id_hash=holder.id_hash,
                holder_person_id=holder.person_id,
                holder_enterprise_id=holder.enterprise_id,
                issue_date=issued,
                valid_from=issued,
                valid_to=valid_to,
                status=status,
                surface=[*holder.surface, *extra],
                signature="",  # the demo carries no 数字签名
                trust_grade="A",
                source="LOCAL_ISSUED",
                is_synthetic=True,
            )
        )
        self.operations.append(self._operation(row_id, "01", "新发", issuer.name))
        if status in STATUS_OPERATION:
            reason = {"04": "有效期届满，过期失效", "03": "依法暂扣（演示）", "05": "依法吊销（演示）"}
            op = STATUS_OPERATION[status]
            self.operations.append(self._operation(row_id, op, reason[op], issuer.name))

    def _operation(self, row_id: uuid.UUID, code: str, reason: str, actor: str) -> LicenseOperation:
        return LicenseOperation(
            id=seed_id("license-operation", f"{row_id}:{code}"),
            elicense_id=row_id,
            operation=code,
            reason=reason,
            actor=actor,
        )


def _person_extra(
    r: Resident, code: str, person: Person, id_number: str, rng_key: str
) -> tuple[list[dict[str, str]], str]:
    rng = seed_random(f"licenses:{rng_key}")
    masked = mask_id_number(id_number)
    if code == types.HOUSEHOLD_REGISTER:
        return [{"key": "户别", "value": "家庭户"}, {"key": "公民身份号码", "value": masked}], (
            f"Q99{rng.randrange(10**7):07d}"
        )
    if code == types.DRIVING_LICENCE:
        return [{"key": "准驾车型", "value": "C1"}, {"key": "证号", "value": masked}], masked
    if code == types.MARRIAGE_CERTIFICATE:
        return [{"key": "登记机关", "value": "云溪市民政局"}], f"J990100-{rng.randrange(10**6):06d}"
    assert code == types.BIRTH_MEDICAL_CERTIFICATE
    born = person.birth_date.isoformat() if person.birth_date else ""
    return [{"key": "新生儿姓名", "value": r.name}, {"key": "出生日期", "value": born}], (
        f"Q99{seed_random(f'birth-certificate:{r.n}').randrange(10**7):07d}"
    )


def _enterprise_extra(spec: EnterpriseSpec, code: str, e: Enterprise) -> tuple[list[dict[str, str]], str]:
    rng = seed_random(f"licenses:{spec.key}:{code}")
    if code == types.BUSINESS_LICENCE:
        return [
            {"key": "类型", "value": "有限责任公司"},
            {"key": "经营范围", "value": e.business_scope},
            {"key": "成立日期", "value": e.reg_date.isoformat() if e.reg_date else ""},
        ], e.uscc
    if code == types.FOOD_BUSINESS_LICENCE:
        return [
            {"key": "经营项目", "value": "预包装食品销售；热食类食品制售"}
        ], f"JY2{e.region_code[:6]}{rng.randrange(10**7):07d}"
    if code == types.PUBLIC_PLACE_HYGIENE_LICENCE:
        return [{"key": "许可项目", "value": "餐饮场所"}], f"卫公字〔{ctx_year(e)}〕第{rng.randrange(10**4):04d}号"
    assert code == types.ROAD_TRANSPORT_LICENCE
    return [{"key": "经营范围", "value": "道路普通货物运输"}], f"演交运管许可云字{rng.randrange(10**6):06d}号"


def ctx_year(e: Enterprise) -> int:
    return e.reg_date.year if e.reg_date else 2020


async def _issuers(db: BaseDBAsyncClient) -> dict[str, Organization]:
    keys = sorted(set(ISSUER.values()))
    rows = await Organization.filter(id__in=[seed_id("organization", k) for k in keys]).using_db(db)
    by_id = {row.id: row for row in rows}
    return {k: by_id[seed_id("organization", k)] for k in keys}


async def _holders(ctx: SeedContext, builder: _Builder) -> None:
    for r in RESIDENTS:
        person = await Person.get(id=seed_id("person", r.n), using_db=ctx.db)
        assert person.id_number_hash is not None
        id_number = make_id_number(r, ctx.today)
        holder = Holder(
            key=f"person:{r.n}",
            name=person.name,
            id_hash=person.id_number_hash,
            person_id=person.id,
            enterprise_id=None,
            area_code=person.region_code or "990100000000",
            surface=[
                {"key": "姓名", "value": person.name},
                {"key": "性别", "value": "男" if r.male else "女"},
                {"key": "出生日期", "value": person.birth_date.isoformat() if person.birth_date else ""},
            ],
            since=person.birth_date or ctx.today - timedelta(days=3650),
        )
        for code in resident_types(r):
            extra, number = _person_extra(r, code, person, id_number, f"{r.n}:{code}")
            builder.add(holder, code, extra, number)
    for spec in ENTERPRISES:
        e = await Enterprise.get(id=seed_id("enterprise", spec.key), using_db=ctx.db)
        holder = Holder(
            key=f"enterprise:{spec.key}",
            name=e.name,
            id_hash=ctx.pii.lookup_hash(e.uscc),
            person_id=None,
            enterprise_id=e.id,
            area_code=e.region_code,
            surface=[
                {"key": "名称", "value": e.name},
                {"key": "统一社会信用代码", "value": e.uscc},
                {"key": "法定代表人", "value": e.legal_rep_name},
                {"key": "住所", "value": e.reg_address},
            ],
            since=e.reg_date or ctx.today - timedelta(days=3650),
        )
        for code in enterprise_types(spec):
            extra, number = _enterprise_extra(spec, code, e)
            builder.add(holder, code, extra, number)


DEMO_CONSENT_LICENCES = (("person:1", types.HOUSEHOLD_REGISTER), ("person:1", types.MARRIAGE_CERTIFICATE))


async def _uses(ctx: SeedContext) -> None:
    now = ctx.now
    verifier_id = seed_id("verifier", VERIFIER_CLIENT_ID)
    market = seed_id("organization", "scjg")
    household = licence_id("person:1", types.HOUSEHOLD_REGISTER)
    consent_id = seed_id("consent", "person:1:demo-verifier")
    await Consent.create(
        id=consent_id,
        holder_person_id=seed_id("person", 1),
        grantee=VERIFIER_CLIENT_ID,
        scope=[str(licence_id(k, c)) for k, c in DEMO_CONSENT_LICENCES],
        purpose="核验户籍及婚姻状况，用于办理食品经营许可（演示）",
        expires_at=now + timedelta(days=90),
        is_synthetic=True,
        using_db=ctx.db,
    )
    shown_at = now - timedelta(days=2)
    rows: list[tuple[LicenseUseType, uuid.UUID, dict[str, Any]]] = [
        (LicenseUseType.SHOW_QR, household, {"purpose": "亮证", "token_expires_at": shown_at + timedelta(seconds=120)}),
        (
            LicenseUseType.VERIFY_SCAN,
            household,
            {
                "purpose": "扫码核验",
                "verifier_app_id": verifier_id,
                "verifier_org_id": market,
                "token_expires_at": shown_at + timedelta(seconds=120),
            },
        ),
        (
            LicenseUseType.DOWNLOAD_ANNOTATED,
            household,
            {
                "purpose": "办理食品经营许可",
                "verifier_app_id": verifier_id,
                "verifier_org_id": market,
                "consent_id": consent_id,
                "token_expires_at": shown_at + timedelta(seconds=300),
            },
        ),
        (
            LicenseUseType.ATTACH_TO_APPLICATION,
            licence_id("enterprise:canyin", types.BUSINESS_LICENCE),
            {"purpose": "申报材料：营业执照（电子证照）", "detail": {"material": "营业执照"}},
        ),
        (
            LicenseUseType.SHOW_QR,
            licence_id("person:5", types.DRIVING_LICENCE),
            {"purpose": "亮证", "token_expires_at": now - timedelta(days=1) + timedelta(seconds=120)},
        ),
    ]
    await LicenseUse.bulk_create(
        [
            LicenseUse(
                id=seed_id("license-use", i),
                elicense_id=elicense_id,
                use_type=use_type,
                is_synthetic=True,
                **fields,
            )
            for i, (use_type, elicense_id, fields) in enumerate(rows)
        ],
        using_db=ctx.db,
    )


async def is_loaded(db: BaseDBAsyncClient) -> bool:
    return await ELicense.filter(id=licence_id("person:1", types.HOUSEHOLD_REGISTER)).using_db(db).exists()


async def load(ctx: SeedContext) -> None:
    builder = _Builder(ctx, await _issuers(ctx.db))
    await _holders(ctx, builder)
    await ELicense.bulk_create(builder.licences, using_db=ctx.db)
    await LicenseOperation.bulk_create(builder.operations, using_db=ctx.db)
    await _uses(ctx)


PARTS: tuple[SeedPart, ...] = (SeedPart("licenses", is_loaded, load),)
