"""Reference part: the fictitious 演示省 regions (prefix 99, unassigned in GB/T 2260) and 8 departments."""

from __future__ import annotations

import random
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from api.kit.codes import uscc_check_char
from api.models import Organization, Region
from api.seed.context import SeedContext, seed_id, seed_random

MARKER_REGION = "990100000000"  # 云溪市: present once the reference part is loaded

# (code, name, level per GB/T 39046 A.2: 2 省级, 3 市级, 4 县级, parent)
REGIONS: tuple[tuple[str, str, int, str | None], ...] = (
    ("990000000000", "演示省", 2, None),
    (MARKER_REGION, "云溪市", 3, "990000000000"),
    # Not in the list, but residents live in a 市辖区 and their region_code should resolve.
    ("990102000000", "云溪市溪城区", 4, MARKER_REGION),
    ("990121000000", "青石县", 4, MARKER_REGION),
    ("990122000000", "白沙县", 4, MARKER_REGION),
)


@dataclass(frozen=True)
class Department:
    key: str  # used in operator usernames (handler.<key>) and deterministic ids
    name: str
    region: str  # 6-digit registration region, USCC positions 3–8
    use_level: int


DEPARTMENTS: tuple[Department, ...] = (
    Department("scjg", "云溪市市场监督管理局", "990100", 3),
    Department("ga", "云溪市公安局", "990100", 3),
    Department("rsj", "云溪市人力资源和社会保障局", "990100", 3),
    Department("mzj", "云溪市民政局", "990100", 3),
    Department("wjw", "云溪市卫生健康委员会", "990100", 3),
    Department("jtj", "云溪市交通运输局", "990100", 3),
    Department("qsxzsp", "青石县行政审批局", "990121", 4),
    Department("bsyb", "白沙县医疗保障局", "990122", 4),
)

_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# Letters GB 32100 allows (no I, O, S, V, Z), so the 主体标识码 stays inside the USCC charset.
_LETTERS = "ABCDEFGHJKLMNPQRTUWXY"


def org_code_check_char(first8: str) -> str:
    """GB 11714 check character of a 组织机构代码 (the USCC 主体标识码 carries its own check)."""
    total = sum(int(ch, 36) * w for ch, w in zip(first8, _ORG_CODE_WEIGHTS, strict=True))
    value = 11 - total % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


def make_uscc(prefix: str, region6: str, body8: str) -> str:
    first17 = prefix + region6 + body8 + org_code_check_char(body8)
    return first17 + uscc_check_char(first17)


def agency_uscc(rng: random.Random, region6: str) -> str:
    """`11` (机构编制 / 机关) + region + an all-digit 组织机构代码, as agencies' codes are."""
    return make_uscc("11", region6, "".join(rng.choice("0123456789") for _ in range(8)))


def enterprise_uscc(rng: random.Random, region6: str) -> str:
    """`91` (市场监管 / 企业) + region + an `MA…` 主体标识码, the form assigned to enterprises since 2015."""
    return make_uscc("91", region6, "MA" + "".join(rng.choice("0123456789" + _LETTERS) for _ in range(6)))


async def is_loaded(db: BaseDBAsyncClient) -> bool:
    return await Region.filter(code=MARKER_REGION).using_db(db).exists()


async def load(ctx: SeedContext) -> None:
    await Region.bulk_create(
        [
            Region(
                id=seed_id("region", code),
                code=code,
                name=name,
                level=level,
                parent_code=parent,
                is_synthetic=True,
            )
            for code, name, level, parent in REGIONS
        ],
        using_db=ctx.db,
    )
    rng = seed_random("reference")
    await Organization.bulk_create(
        [
            Organization(
                id=seed_id("organization", d.key),
                uscc=agency_uscc(rng, d.region),
                name=d.name,
                region_code=d.region + "000000",
                org_kind="GOV_AGENCY",
                use_level=d.use_level,
                is_synthetic=True,
            )
            for d in DEPARTMENTS
        ],
        using_db=ctx.db,
    )
