"""Residents part: 20 synthetic persons (张演示一 …), their sign-in bindings and 2 亲友代办 authorizations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from api.kit.codes import id_number_check_char
from api.models import AgentAuthorization, AgentKind, BindingProvider, IdentityBinding, Person, PrincipalType
from api.models import AssuranceLevel as L
from api.seed.context import SeedContext, add_years, seed_id, seed_random

_DIGITS = "一二三四五六七八九"
XICHENG, QINGSHI, BAISHA = "990102", "990121", "990122"


def chinese_ordinal(n: int) -> str:
    if n <= 9:
        return _DIGITS[n - 1]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _DIGITS[tens - 1]) + "十" + ("" if ones == 0 else _DIGITS[ones - 1])


@dataclass(frozen=True)
class Resident:
    n: int
    surname: str
    male: bool
    age: int  # in years at the seed date (±1 depending on the birthday), so ages never drift
    birthday: tuple[int, int]  # month, day (never 29 February)
    district: str
    level: L
    verified_by: str | None = None  # domain §11.3 Person.verified_by; None for L0
    has_mobile: bool = True
    wechat: bool = False
    alipay: bool = False
    sso: bool = False

    @property
    def name(self) -> str:
        return f"{self.surname}演示{chinese_ordinal(self.n)}"

    @property
    def mobile(self) -> str | None:
        # 1990000xxxx: a visibly sequential synthetic range. 199 is a real carrier prefix, but in demo mode
        # SMS only ever reaches the SMS sandbox (domain §13), never a provider.
        return f"1990000{self.n:04d}" if self.has_mobile else None

    def birth_date(self, today: date) -> date:
        return date(today.year - self.age, *self.birthday)


RESIDENTS: tuple[Resident, ...] = (
    Resident(1, "张", True, 45, (3, 14), XICHENG, L.L3, "CA", wechat=True, alipay=True, sso=True),
    Resident(2, "李", False, 41, (7, 2), XICHENG, L.L3, "CA", alipay=True),
    Resident(3, "王", False, 72, (1, 20), XICHENG, L.L2, "FACE", wechat=True),  # 亲友代办 principal, 60+
    Resident(4, "刘", True, 44, (9, 9), XICHENG, L.L2, "CTID", wechat=True),  # 亲友代办 agent of 3
    Resident(5, "陈", True, 52, (11, 30), QINGSHI, L.L2, "FACE", alipay=True),
    Resident(6, "杨", False, 33, (5, 5), QINGSHI, L.L1, "PUBLIC_SECURITY", wechat=True),
    Resident(7, "赵", True, 58, (2, 11), BAISHA, L.L3, "CA", sso=True),
    Resident(8, "黄", False, 36, (6, 18), BAISHA, L.L2, "CTID", alipay=True),
    Resident(9, "周", False, 47, (10, 1), XICHENG, L.L2, "FACE", wechat=True, sso=True),
    Resident(10, "吴", True, 28, (4, 23), XICHENG, L.L1, "LINKED_PLATFORM", alipay=True),
    Resident(11, "徐", False, 39, (12, 12), XICHENG, L.L2, "FACE", wechat=True),
    Resident(12, "孙", False, 29, (8, 8), XICHENG, L.L2, "FACE", wechat=True, alipay=True),  # new mother
    Resident(13, "胡", True, 31, (3, 3), XICHENG, L.L2, "CTID", wechat=True),  # new father
    Resident(14, "朱", True, 66, (10, 15), QINGSHI, L.L1, "WINDOW"),  # 60+
    Resident(15, "高", False, 69, (4, 4), BAISHA, L.L0),  # 60+, registered by phone only
    Resident(16, "林", False, 38, (9, 27), XICHENG, L.L2, "FACE", wechat=True),  # guardian of 17
    # A minor: registered at the window by the guardian with the 户口簿; no phone of his own.
    Resident(17, "何", True, 8, (6, 1), XICHENG, L.L1, "WINDOW", has_mobile=False),
    Resident(18, "郭", True, 24, (2, 17), QINGSHI, L.L0, wechat=True),  # bare WeChat login
    Resident(19, "马", False, 26, (11, 11), BAISHA, L.L0, alipay=True),  # bare Alipay login
    Resident(20, "罗", True, 35, (7, 19), XICHENG, L.L0),
)
BY_NUMBER = {r.n: r for r in RESIDENTS}

# (kind, principal, agent): an elderly L2 resident authorizes a relative; a guardian acts for the minor.
FAMILY_AGENTS: tuple[tuple[AgentKind, int, int], ...] = (
    (AgentKind.FAMILY, 3, 4),
    (AgentKind.GUARDIAN, 17, 16),
)


def make_id_number(r: Resident, today: date) -> str:
    """GB 11643: region, birth date, 3-digit sequence whose last digit is odd for men, MOD 11-2 check."""
    rng = seed_random(f"person:{r.n}")
    sequence = f"{rng.randrange(100):02d}{rng.choice('13579' if r.male else '02468')}"
    first17 = r.district + r.birth_date(today).strftime("%Y%m%d") + sequence
    return first17 + id_number_check_char(first17)


def _person(ctx: SeedContext, r: Resident) -> Person:
    id_number = make_id_number(r, ctx.today)
    verified = r.level > L.L0
    return Person(
        id=seed_id("person", r.n),
        name=r.name,
        id_number_encrypted=ctx.pii.encrypt(id_number),
        id_number_hash=ctx.pii.lookup_hash(id_number),
        gender="1" if r.male else "2",  # GB/T 2261.1, as encoded by the 17th digit
        birth_date=r.birth_date(ctx.today),
        mobile=r.mobile,
        region_code=r.district + "000000",
        assurance_level=r.level,
        verified_at=ctx.now - timedelta(days=20 + 9 * r.n) if verified else None,
        verified_by=r.verified_by,
        is_synthetic=True,
    )


def _bindings(ctx: SeedContext, r: Resident) -> list[IdentityBinding]:
    linked_at = ctx.now - timedelta(days=30 + 9 * r.n)
    subjects: list[tuple[BindingProvider, str, str | None, str | None]] = []
    if r.mobile:
        subjects.append((BindingProvider.APP, r.mobile, None, None))
    if r.wechat:
        subjects.append((BindingProvider.WECHAT, f"demo-openid-{r.n:02d}", f"demo-unionid-{r.n:02d}", None))
    if r.alipay:
        subjects.append((BindingProvider.ALIPAY, f"2088{r.n:012d}", None, None))
    if r.sso:
        # 浙里办-style authlevel 3 高级实名 (domain §6.2); the provider claim never reaches L3.
        subjects.append((BindingProvider.PROVINCE_SSO, f"demo-sso-{r.n:02d}", None, "3"))
    return [
        IdentityBinding(
            id=seed_id(f"binding:{provider.value}", r.n),
            person_id=seed_id("person", r.n),
            provider=provider,
            subject_id=subject,
            union_id=union_id,
            raw_level=raw_level,
            linked_at=linked_at,
            is_synthetic=True,
        )
        for provider, subject, union_id, raw_level in subjects
    ]


def _family_agent(ctx: SeedContext, kind: AgentKind, principal_n: int, agent_n: int) -> AgentAuthorization:
    principal, agent = BY_NUMBER[principal_n], BY_NUMBER[agent_n]
    if kind is AgentKind.GUARDIAN:
        certificate = f"Q99{seed_random(f'birth-certificate:{principal_n}').randrange(10**7):07d}"
        evidence = f"出生医学证明（演示）编号 {certificate}；户口簿（演示）"
        consent = f"{agent.name}作为未成年人{principal.name}的监护人，代为办理其政务服务事项。"
    else:
        evidence = ""
        consent = f"本人{principal.name}授权{agent.name}通过掌上办代为办理本人的政务服务事项。"
    consent += "有效期一年，可随时撤销。"
    return AgentAuthorization(
        id=seed_id("agent", f"person:{principal_n}:{agent_n}"),
        principal_type=PrincipalType.PERSON,
        principal_id=seed_id("person", principal_n),
        agent_person_id=seed_id("person", agent_n),
        kind=kind,
        scope_all=True,
        valid_from=ctx.now,
        valid_to=add_years(ctx.now, 1),  # D15: default validity one year
        evidence=evidence,
        consent_text=consent,
        # The brief: a 亲友代办 is granted by the principal, a guardianship recorded in the ward's name.
        granted_by_person_id=seed_id("person", principal_n),
        is_synthetic=True,
    )


async def is_loaded(db: BaseDBAsyncClient) -> bool:
    return await Person.filter(id=seed_id("person", 1)).using_db(db).exists()


async def load(ctx: SeedContext) -> None:
    await Person.bulk_create([_person(ctx, r) for r in RESIDENTS], using_db=ctx.db)
    await IdentityBinding.bulk_create([b for r in RESIDENTS for b in _bindings(ctx, r)], using_db=ctx.db)
    await AgentAuthorization.bulk_create(
        [_family_agent(ctx, kind, p, a) for kind, p, a in FAMILY_AGENTS], using_db=ctx.db
    )
