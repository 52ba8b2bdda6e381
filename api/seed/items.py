"""基本编码 of catalog items the identity seed already refers to (经办人 scopes).

The catalog part (a later issue) must publish these items under the same department and 基本编码, so that the
实施编码 in `AgentAuthorization.scope_service_codes` resolve. `PP` is `99` (synthetic; D1 stores it opaquely),
then `TT` 事项类型, `MMMMM` main-item sequence, `SSS` 000 (no 子项), domain §3.2.
"""

from __future__ import annotations

from api.models import Organization
from api.seed.context import SeedContext, seed_id

# name: (department key, 基本编码)
ITEMS: dict[str, tuple[str, str]] = {
    "企业设立登记": ("scjg", "990100001000"),
    "食品经营许可": ("scjg", "990100002000"),
    "道路货物运输经营许可": ("jtj", "990100003000"),
    "公共场所卫生许可": ("wjw", "990100005000"),
    "单位社保登记": ("rsj", "992000001000"),
}


async def task_code(ctx: SeedContext, item: str) -> str:
    """实施编码 = department USCC (18) + 行使层级 (1) + 基本编码 (12)."""
    department_key, basic_code = ITEMS[item]
    department = await Organization.get(id=seed_id("organization", department_key), using_db=ctx.db)
    return f"{department.uscc}{department.use_level}{basic_code}"
