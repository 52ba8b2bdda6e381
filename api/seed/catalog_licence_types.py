"""Synthetic 证照类型代码 (GB/T 36904 §3.3) shared by the catalog and licence seed parts.

A 证照类型代码 is 21 characters: the USCC of the ministry that defines the type (18) + a 3-digit sequence. The
ministries here are fictitious: `11` (机构编制 / 机关) + region `990000` (演示省, prefix 99 is unassigned in GB/T
2260) + an all-digit 组织机构代码 with its GB 11714 check, and the GB 32100 check character is computed, never typed.
The catalog's `MaterialRequirement.elicense_type_codes` / `ServiceItem.elicense_type_code` and the licence seed use
these same constants, so a wallet licence can replace an upload.
"""

from __future__ import annotations

from typing import Final

from api.seed.reference import make_uscc

_MINISTRY_REGION: Final = "990000"

# Fictitious defining ministries (18-char USCCs with computed check characters).
MINISTRY_PUBLIC_SECURITY: Final[str] = make_uscc("11", _MINISTRY_REGION, "00000013")  # 演示公安部门
MINISTRY_CIVIL_AFFAIRS: Final[str] = make_uscc("11", _MINISTRY_REGION, "00000021")  # 演示民政部门
MINISTRY_HEALTH: Final[str] = make_uscc("11", _MINISTRY_REGION, "00000035")  # 演示卫生健康部门
MINISTRY_MARKET_REGULATION: Final[str] = make_uscc("11", _MINISTRY_REGION, "00000048")  # 演示市场监管部门
MINISTRY_TRANSPORT: Final[str] = make_uscc("11", _MINISTRY_REGION, "00000052")  # 演示交通运输部门

# 证照类型代码 (21 chars = ministry USCC + 3-digit sequence).
HOUSEHOLD_REGISTER: Final[str] = MINISTRY_PUBLIC_SECURITY + "001"  # 居民户口簿
RESIDENT_ID_CARD: Final[str] = MINISTRY_PUBLIC_SECURITY + "002"  # 居民身份证
DRIVING_LICENCE: Final[str] = MINISTRY_PUBLIC_SECURITY + "003"  # 机动车驾驶证
MARRIAGE_CERTIFICATE: Final[str] = MINISTRY_CIVIL_AFFAIRS + "001"  # 结婚证
BIRTH_MEDICAL_CERTIFICATE: Final[str] = MINISTRY_HEALTH + "001"  # 出生医学证明
PUBLIC_PLACE_HYGIENE_LICENCE: Final[str] = MINISTRY_HEALTH + "002"  # 公共场所卫生许可证
BUSINESS_LICENCE: Final[str] = MINISTRY_MARKET_REGULATION + "001"  # 营业执照
FOOD_BUSINESS_LICENCE: Final[str] = MINISTRY_MARKET_REGULATION + "002"  # 食品经营许可证
ROAD_TRANSPORT_LICENCE: Final[str] = MINISTRY_TRANSPORT + "001"  # 道路运输经营许可证

# 证照类型代码 → 证照类型名称, in a stable order.
LICENCE_TYPE_NAMES: Final[dict[str, str]] = {
    HOUSEHOLD_REGISTER: "居民户口簿",
    RESIDENT_ID_CARD: "居民身份证",
    DRIVING_LICENCE: "机动车驾驶证",
    MARRIAGE_CERTIFICATE: "结婚证",
    BIRTH_MEDICAL_CERTIFICATE: "出生医学证明",
    PUBLIC_PLACE_HYGIENE_LICENCE: "公共场所卫生许可证",
    BUSINESS_LICENCE: "营业执照",
    FOOD_BUSINESS_LICENCE: "食品经营许可证",
    ROAD_TRANSPORT_LICENCE: "道路运输经营许可证",
}

# 证照类型代码 → the defining ministry's USCC.
LICENCE_TYPE_MINISTRY: Final[dict[str, str]] = {code: code[:18] for code in LICENCE_TYPE_NAMES}
