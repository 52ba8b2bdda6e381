"""The platform-level rating form (domain.md §9.1, D4): levels, indicators and 差评 reasons, versioned as one.

A local org cannot add or remove indicators, so the form is code, not data: a change ships as a new
`FORM_VERSION`, and every stored evaluation keeps the version it was given on, so that old answers stay
interpretable after the list changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

FORM_VERSION = "2026.1"

# GB/T 39046 A.8 satisfaction codes; 差评 = 4 or 5.
LEVELS: dict[int, str] = {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}
BAD_CODES = frozenset({4, 5})
TEXT_MAX_CHARS = 500


class FormKind(StrEnum):
    ONLINE = "ONLINE"  # 一事一评 in the app, mini-programs, H5 and PC
    OFFLINE = "OFFLINE"  # 一次一评 at a window (rating pads); stored by imports


@dataclass(frozen=True)
class Option:
    code: str
    label: str


INDICATORS: dict[FormKind, tuple[Option, ...]] = {
    FormKind.ONLINE: (
        Option("EFFICIENCY", "办事效率"),
        Option("GUIDE_ACCURACY", "办事指南精确度"),
        Option("CONVENIENCE", "办事便捷度"),
        Option("PLATFORM_USABILITY", "平台操作性"),
    ),
    FormKind.OFFLINE: (
        Option("SERVICE_EFFICIENCY", "服务效率"),
        Option("SERVICE_LEVEL", "服务水平"),
        Option("SERVICE_ATTITUDE", "服务态度"),
    ),
}

BAD_REASONS: tuple[Option, ...] = (
    Option("LOW_EFFICIENCY", "办事效率低"),
    Option("INACCURATE_GUIDE", "指南信息不准确"),
    Option("MULTIPLE_TRIPS", "多次跑动"),
    Option("TOO_MANY_MATERIALS", "材料要求过多"),
    Option("POOR_ATTITUDE", "服务态度差"),
    Option("HARD_TO_OPERATE", "系统操作不便"),
    Option("OTHER", "其他"),
)


@dataclass(frozen=True)
class RatingForm:
    version: str
    kind: FormKind
    levels: dict[int, str]
    indicators: tuple[Option, ...]
    bad_reasons: tuple[Option, ...]


def form(kind: FormKind) -> RatingForm:
    return RatingForm(FORM_VERSION, kind, LEVELS, INDICATORS[kind], BAD_REASONS)


def stars(code: int) -> int:
    """★ shown to people: 5 stars for code 1 (非常满意) down to 1 star for code 5."""
    return 6 - code


def is_bad(code: int) -> bool:
    return code in BAD_CODES
