"""Specification types of the catalog seed and the derivations shared with its tests (domain.md §3.2, §4, §5.4).

The data lives in `catalog_items.py`; `catalog.py` turns it into rows. Derivations (网办深度, 办件类型) are
here so that the seed and the publish-rule checks of the tests compute them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

WORKING_DAY = "WORKING_DAY"
NATURAL_DAY = "NATURAL_DAY"

REQUIRED = "REQUIRED"
OPTIONAL = "OPTIONAL"
TOLERATED_LATER = "TOLERATED_LATER"  # 容缺

APPLICANT = "APPLICANT"
ISSUING_AUTHORITY = "ISSUING_AUTHORITY"
DATA_SHARING = "DATA_SHARING"

CERTIFICATE = "CERTIFICATE"  # 出证办结
DOCUMENT = "DOCUMENT"  # 出文办结
APPROVAL = "APPROVAL"  # 审批办结
OTHER = "OTHER"

PERSON_SERVER_TYPE = "1"  # 自然人
LEGAL_PERSON_SERVER_TYPES = frozenset({"2", "3", "4", "5", "6", "9"})


def derive_online_depth_level(components: list[int], *, limit_scene_num: int, is_schedule: bool) -> int:
    """网办深度 Ⅰ–Ⅳ from the components 1–7 (domain §4), the highest level that holds."""
    parts = set(components)
    if {2, 4, 5, 6} <= parts and limit_scene_num == 0:
        return 4
    if parts & {3, 4} and limit_scene_num >= 1:
        return 3
    if 2 in parts or is_schedule:
        return 2
    return 1


def basic_code(task_type: str, sequence: int) -> str:
    """基本编码 `PP TT MMMMM SSS` with the synthetic `PP` = 99 and no 子项 (domain §3.2)."""
    return f"99{task_type}{sequence:05d}000"


@dataclass(frozen=True)
class Material:
    key: str  # unique within the item; situations refer to it
    name: str
    necessity: str = REQUIRED
    source: str = APPLICANT
    issuer: str = ""  # 出具单位 (required for ISSUING_AUTHORITY and DATA_SHARING)
    licences: tuple[str, ...] = ()  # 证照类型代码 a wallet licence may replace the upload with
    commitment: bool = False  # 告知承诺
    forms: tuple[str, ...] = ("ELECTRONIC",)
    original_count: int = 0
    copy_count: int = 0
    is_form: bool = False  # the item's 申请表: carries the 空表 and 样表 (E4)
    note: str = ""


@dataclass(frozen=True)
class Fee:
    name: str
    standard: str
    amount_fen: int | None
    by_law: str
    reduce_basis: str = ""  # non-empty ⇔ reducible


@dataclass(frozen=True)
class Option:
    key: str
    label: str
    require: tuple[str, ...] = ()  # material keys
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class SituationSpec:
    question: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class SpecialProcedure:
    kind: str  # 1 延长审批, 2 其他 (GB/T 39046 A.7)
    subtype: str  # HEARING | TEST | EXPERT_REVIEW | SITE_INSPECTION | OTHER
    max_days: int
    label: str
    day_unit: str = WORKING_DAY


@dataclass(frozen=True)
class Field:
    path: str  # '/'-separated (sync-protocol §12)
    title: str
    kind: str = "string"  # string | number | date | id_number | phone | enum | boolean
    required: bool = True
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemSpec:
    name: str
    dept: str  # reference.DEPARTMENTS key
    task_type: str
    sequence: int
    accept_condition: str
    by_law: str
    result: tuple[str, str]  # 审批结果名称, 审批结果类型
    legal: tuple[int, str]  # 法定办结时限
    promise: tuple[int, str]  # 承诺办结时限; 0 = 即办
    components: tuple[int, ...]  # 网上办理深度 1–7
    limit_scene_num: int
    materials: tuple[Material, ...]
    person_topics: tuple[str, ...] = ()
    corp_topics: tuple[str, ...] = ()
    corp_server_types: tuple[str, ...] = ("2",)  # 服务对象 codes of the legal persons served
    limit_scene_reason: str = ""
    handle_forms: tuple[str, ...] = ("1", "2", "3")
    is_schedule: bool = False
    is_express: bool = False
    fees: tuple[Fee, ...] = ()
    fee_basis: str = ""
    pay_online: bool = False
    situations: tuple[SituationSpec, ...] = ()
    faqs: tuple[tuple[str, str], ...] = ()
    special: tuple[SpecialProcedure, ...] = ()
    keywords: tuple[str, ...] = ()
    min_assurance_level: int = 1
    result_licence: str = ""  # 证照类型代码 when the result is an 电子证照
    fields: tuple[Field, ...] = ()
    handle_area: str = ""
    joint_depts: tuple[str, ...] = ()

    @property
    def catalog_code(self) -> str:
        return basic_code(self.task_type, self.sequence)

    @property
    def project_type(self) -> str:
        return "1" if self.promise[0] == 0 else "2"

    @property
    def server_types(self) -> list[str]:
        types = {PERSON_SERVER_TYPE} if self.person_topics else set()
        if self.corp_topics:
            types |= set(self.corp_server_types)
        return sorted(types)

    @property
    def online_depth_level(self) -> int:
        return derive_online_depth_level(
            list(self.components), limit_scene_num=self.limit_scene_num, is_schedule=self.is_schedule
        )
