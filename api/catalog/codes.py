"""实施编码 / 基本编码 structure (domain.md §3.2, §3.4) and the 网办深度 derivation (§4)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from api.kit.codes import is_ascii_digits, is_valid_uscc

TASK_CODE_LENGTH = 31
_CATALOG_CODE = re.compile(r"^[0-9A-Z]{12}$")
USE_LEVELS = range(1, 8)
TASK_TYPES = frozenset(
    {f"{n:02d}" for n in range(0, 33)} | {"99"}
)  # A.1 00–29 plus accepted local values 30, 31, 32, 99


@dataclass(frozen=True)
class TaskCode:
    """A 31-character 实施编码 split into its parts."""

    dept_uscc: str
    use_level: int
    catalog_code: str

    @property
    def catalog_type(self) -> str:
        """`TT` of the 基本编码: must equal the item's 事项类型."""
        return self.catalog_code[2:4]


def parse_task_code(code: str) -> TaskCode | None:
    """The parts of a well-formed 31-character 实施编码, or None (wrong length, bad USCC, level or 基本编码)."""
    if len(code) != TASK_CODE_LENGTH:
        return None
    uscc, level, catalog = code[:18], code[18], code[19:]
    if not is_valid_uscc(uscc) or not is_ascii_digits(level) or int(level) not in USE_LEVELS:
        return None
    if not _CATALOG_CODE.fullmatch(catalog):
        return None
    return TaskCode(uscc, int(level), catalog)


def task_code_problem(code: str) -> str | None:
    """Why a locally authored 实施编码 is malformed (for a precise error message), or None."""
    if len(code) != TASK_CODE_LENGTH:
        return f"实施编码 must have {TASK_CODE_LENGTH} characters (USCC 18 + 行使层级 1 + 基本编码 12)"
    if not is_valid_uscc(code[:18]):
        return "the first 18 characters of the 实施编码 are not a valid 统一社会信用代码 (GB 32100)"
    if not is_ascii_digits(code[18]) or int(code[18]) not in USE_LEVELS:
        return "character 19 of the 实施编码 must be a 行使层级 digit 1–7"
    if not _CATALOG_CODE.fullmatch(code[19:]):
        return "the last 12 characters of the 实施编码 must be a 基本编码 of digits and capital letters"
    return None


def derive_depth_level(components: Iterable[int], *, is_schedule: bool, visits: int) -> int:
    """网办深度 Ⅰ–Ⅳ from the 网上办理深度 components (codes 1–7) as in domain.md §4."""
    parts = set(components)
    if {2, 4, 5, 6} <= parts and visits == 0:
        return 4
    if parts & {3, 4} and visits >= 1:
        return 3
    if 2 in parts or is_schedule:
        return 2
    return 1
