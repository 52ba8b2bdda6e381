"""Catalog types as clients see them: item summaries, the full mobile 办事指南, bundles and audit rows."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

import strawberry

from api.models import ServiceItem as ServiceItemRow
from schema.catalog.loaders import department_loader
from schema.context import Info

PERSON_SERVER_TYPE = "1"


@strawberry.enum(description="Who a service is for: residents (自然人) or legal persons and organisations (法人).")
class ServiceAudience(Enum):
    PERSON = "PERSON"
    ENTERPRISE = "ENTERPRISE"


@strawberry.enum(description="Lifecycle of one version of a service item (domain.md §5.1).")
class ServiceItemStatus(Enum):
    DRAFT = "DRAFT"
    IN_REVIEW = "IN_REVIEW"
    PUBLISHED = "PUBLISHED"
    SUSPENDED = "SUSPENDED"
    CANCELLED = "CANCELLED"
    SUPERSEDED = "SUPERSEDED"


@strawberry.enum(description="时限单位: 工作日 or 自然日 (HOUR and MONTH reserved).")
class TimeLimitUnit(Enum):
    WORKING_DAY = "WORKING_DAY"
    NATURAL_DAY = "NATURAL_DAY"
    HOUR = "HOUR"
    MONTH = "MONTH"


UNIT_LABELS = {"WORKING_DAY": "工作日", "NATURAL_DAY": "自然日", "HOUR": "小时", "MONTH": "月"}


@strawberry.type(description="A time limit (法定 or 承诺办结时限). `value` 0 means 即办 (decided on the spot).")
class TimeLimit:
    value: int
    unit: TimeLimitUnit
    unit_label: str = strawberry.field(description="工作日 / 自然日, for display.")
    note: str
    is_immediate: bool = strawberry.field(description="即办: value 0.")
    text: str = strawberry.field(description="Ready to show: '即办' or '20个工作日'.")

    @classmethod
    def of(cls, raw: dict[str, Any] | None) -> TimeLimit | None:
        if not raw or raw.get("value") is None:
            return None
        value = int(raw["value"])
        unit_code = str(raw.get("unit") or "WORKING_DAY")
        unit = TimeLimitUnit(unit_code) if unit_code in UNIT_LABELS else TimeLimitUnit.WORKING_DAY
        label = UNIT_LABELS[unit.value]
        return cls(
            value=value,
            unit=unit,
            unit_label=label,
            note=str(raw.get("note") or ""),
            is_immediate=value == 0,
            text="即办" if value == 0 else f"{value}个{label}",
        )


def item_status(row: ServiceItemRow) -> ServiceItemStatus:
    return ServiceItemStatus(row.status.value)


@strawberry.type(description="One service item version in lists: enough for a result row or a card.")
class ServiceItemSummary:
    id: strawberry.ID
    service_code: str = strawberry.field(description="实施编码 (31 characters for locally authored items).")
    handle_item_code: str | None = strawberry.field(description="业务办理项编码, when the item is a handling variant.")
    version: int
    name: str
    task_type: str = strawberry.field(description="事项类型代码 (GB/T 39046 A.1), e.g. 01 行政许可, 20 公共服务.")
    status: ServiceItemStatus
    online_depth_level: int = strawberry.field(description="网办深度 1–4 (Ⅰ–Ⅳ).")
    visits_required: int = strawberry.field(description="到办事现场次数 (limit_scene_num).")
    promised_limit: TimeLimit | None = strawberry.field(description="承诺办结时限.")
    for_persons: bool = strawberry.field(description="服务对象 includes 自然人.")
    for_enterprises: bool = strawberry.field(description="服务对象 includes a legal person or organisation.")
    region_code: str
    department_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="实施主体 name.")
    async def department_name(self, info: Info) -> str:
        department = await department_loader(info).load(self.department_id)
        return department.name if department is not None else ""

    @classmethod
    def from_row(cls, row: ServiceItemRow) -> ServiceItemSummary:
        server_types = [str(t) for t in row.server_types]
        return cls(
            id=strawberry.ID(str(row.id)),
            service_code=row.task_code,
            handle_item_code=row.handle_item_code,
            version=row.version,
            name=row.name,
            task_type=row.task_type,
            status=item_status(row),
            online_depth_level=row.online_depth_level,
            visits_required=row.limit_scene_num,
            promised_limit=TimeLimit.of(row.promise_limit),
            for_persons=PERSON_SERVER_TYPE in server_types,
            for_enterprises=any(t != PERSON_SERVER_TYPE for t in server_types),
            region_code=row.region_code,
            department_id=row.dept_id,
        )


@strawberry.type(description="One operator action on a service item (catalog admins only).")
class CatalogAuditEntry:
    id: strawberry.ID
    service_item_id: strawberry.ID
    operator_id: strawberry.ID
    action: str
    detail: strawberry.scalars.JSON
    at: datetime


@strawberry.type(description="One service item version as a citizen or operator sees its state.")
class ServiceItem(ServiceItemSummary):
    effective_from: datetime | None = strawberry.field(description="When this version took effect (published).")
    cancel_at: datetime | None = strawberry.field(description="When it was cancelled or superseded.")
    latest_version: int = strawberry.field(description="The highest version number the public may read.")
    accepts_applications: bool = strawberry.field(description="Only a current PUBLISHED version accepts them.")
    status_note: str = strawberry.field(description="Why the item cannot be applied for now, ready to show; empty.")

    @classmethod
    def detail(cls, row: ServiceItemRow, *, superseded: bool = False, latest_version: int | None = None) -> ServiceItem:
        summary = ServiceItemSummary.from_row(row)
        status = ServiceItemStatus.SUPERSEDED if superseded else summary.status
        notes = {
            ServiceItemStatus.SUSPENDED: "该事项暂停办理",
            ServiceItemStatus.CANCELLED: "该事项已取消",
            ServiceItemStatus.SUPERSEDED: "该版本已被新版本替代",
            ServiceItemStatus.DRAFT: "草稿",
            ServiceItemStatus.IN_REVIEW: "审核中",
        }
        values = {k: getattr(summary, k) for k in ServiceItemSummary.__annotations__ if hasattr(summary, k)}
        values["status"] = status
        return cls(
            **values,
            effective_from=row.effective_from,
            cancel_at=row.cancel_at,
            latest_version=latest_version or row.version,
            accepts_applications=status == ServiceItemStatus.PUBLISHED,
            status_note=notes.get(status, ""),
        )


# ------------------------------------------------------------------------------------------- the full guide

E = TypeVar("E", bound=Enum)


def _enum(kind: type[E], value: object, default: E) -> E:
    try:
        return kind(str(value))
    except ValueError:
        return default


@strawberry.enum(description="材料必要性: 必要, 非必要, 容缺 (may be handed in later).")
class MaterialNecessity(Enum):
    REQUIRED = "REQUIRED"
    OPTIONAL = "OPTIONAL"
    TOLERATED_LATER = "TOLERATED_LATER"


@strawberry.enum(description="材料形式: 纸质原件, 纸质复印件, 电子.")
class MaterialForm(Enum):
    PAPER_ORIGINAL = "PAPER_ORIGINAL"
    PAPER_COPY = "PAPER_COPY"
    ELECTRONIC = "ELECTRONIC"


@strawberry.enum(description="材料来源渠道: 申请人自备, 出具单位, 数据共享 (nothing to hand in).")
class MaterialSource(Enum):
    APPLICANT = "APPLICANT"
    ISSUING_AUTHORITY = "ISSUING_AUTHORITY"
    DATA_SHARING = "DATA_SHARING"


@strawberry.enum(description="审批结果类型: 出证办结, 出文办结, 审批办结, 其他.")
class ApprovalResultType(Enum):
    CERTIFICATE = "CERTIFICATE"
    DOCUMENT = "DOCUMENT"
    APPROVAL = "APPROVAL"
    OTHER = "OTHER"


@strawberry.type(description="A phone and its note (咨询方式 / 监督投诉方式).")
class Contact:
    phone: str
    note: str

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Contact:
        return cls(phone=str(raw.get("phone") or ""), note=str(raw.get("note") or raw.get("text") or ""))


@strawberry.type(description="A 窗口 where the item is handled.")
class ServiceWindow:
    name: str
    address: str
    hours: str
    phone: str
    map_url: str
    traffic: str = strawberry.field(description="交通指引.")


@strawberry.type(description="One 申请材料 with every GB/T 39046 Table 4 element.")
class Material:
    id: strawberry.ID
    order: int
    name: str
    necessity: MaterialNecessity
    forms: list[MaterialForm] = strawberry.field(description="At most 3.")
    original_count: int = strawberry.field(description="原件份数.")
    copy_count: int = strawberry.field(description="复印件份数.")
    paper_spec: str = strawberry.field(description="纸张规格.")
    source: MaterialSource
    issuing_org: str = strawberry.field(description="出具单位 / 来源说明.")
    issue_time_requirement: str
    by_law: str
    accept_standard: str = strawberry.field(description="受理标准.")
    fill_guide: str = strawberry.field(description="填报须知 / 材料办理说明.")
    blank_form_file_id: str = strawberry.field(description="空白表格 (E4), empty when none.")
    sample_file_id: str = strawberry.field(description="示例样表 (E4), empty when none.")
    signature_requirement: str = strawberry.field(description="签章要求.")
    elicense_type_codes: list[str] = strawberry.field(
        description="证照类型代码 whose licence in the wallet replaces an upload; at most 5."
    )
    allow_commitment: bool = strawberry.field(description="告知承诺: a signed promise may replace the material.")

    @classmethod
    def from_row(cls, row: Any) -> Material:
        return cls(
            id=strawberry.ID(str(row.id)),
            order=row.order,
            name=row.name,
            necessity=_enum(MaterialNecessity, row.necessity, MaterialNecessity.REQUIRED),
            forms=[_enum(MaterialForm, f, MaterialForm.PAPER_COPY) for f in row.forms][:3],
            original_count=row.original_count,
            copy_count=row.copy_count,
            paper_spec=row.paper_spec,
            source=_enum(MaterialSource, row.source, MaterialSource.APPLICANT),
            issuing_org=row.issuing_org_text,
            issue_time_requirement=row.issue_time_requirement,
            by_law=row.by_law,
            accept_standard=row.accept_standard,
            fill_guide=row.fill_guide,
            blank_form_file_id=row.blank_form_file_id,
            sample_file_id=row.sample_file_id,
            signature_requirement=row.signature_requirement,
            elicense_type_codes=list(row.elicense_type_codes)[:5],
            allow_commitment=row.allow_commitment,
        )


@strawberry.type(description="An answer to a 情形 question and the materials it adds or removes.")
class SituationOption:
    key: str
    label: str
    requires_material_ids: list[strawberry.ID] = strawberry.field(description="At most 5.")
    excludes_material_ids: list[strawberry.ID] = strawberry.field(description="At most 5.")


@strawberry.type(description="情形: a question whose answer decides which materials apply (情景式导航).")
class SituationQuestion:
    question: str
    options: list[SituationOption] = strawberry.field(description="At most 5.")

    @classmethod
    def from_row(cls, row: Any) -> SituationQuestion:
        return cls(
            question=row.question,
            options=[
                SituationOption(
                    key=str(o.get("key") or ""),
                    label=str(o.get("label") or ""),
                    requires_material_ids=[strawberry.ID(str(m)) for m in o.get("require", [])][:5],
                    excludes_material_ids=[strawberry.ID(str(m)) for m in o.get("exclude", [])][:5],
                )
                for o in row.options[:5]
            ],
        )


@strawberry.type(description="特别程序 (听证, 检验检测, 专家评审, 现场勘查 …) and how long it may take.")
class SpecialProcedure:
    kind: str = strawberry.field(description="1 延长审批; 2 other special procedures.")
    subtype: str
    max_days: int
    day_unit: TimeLimitUnit


@strawberry.type(description="收费项目. Amounts are integer fen as decimal digits, with a yuan display string.")
class Fee:
    name: str
    standard: str = strawberry.field(description="收费标准.")
    amount_fen: str | None
    amount_yuan: str | None
    by_law: str
    reducible: bool
    reduce_basis: str


@strawberry.type(description="常见问题.")
class FaqEntry:
    question: str
    answer: str


@strawberry.type(description="审批结果.")
class ServiceResult:
    name: str
    type: ApprovalResultType | None
    sample_file_id: str = strawberry.field(description="结果样本.")
    is_elicense: bool = strawberry.field(description="The result is issued as an 电子证照.")
    elicense_type_code: str


@strawberry.type(description="A licence in the caller's wallet that satisfies a material (no upload needed).")
class MaterialCoverage:
    material_id: strawberry.ID
    material_name: str
    license_id: strawberry.ID
    license_type_code: str
    license_name: str


def _yuan(fen: int | None) -> str | None:
    return None if fen is None else f"{fen // 100}.{fen % 100:02d}"


@strawberry.type(description="The full mobile 办事指南 of one item version: every E1–E4 element of domain.md §5.2.")
class ServiceGuide:
    item: ServiceItem
    # identity and legal basis
    by_law: str = strawberry.field(description="设定依据.")
    power_source: str = strawberry.field(description="权力来源 code 1–6.")
    use_level: int = strawberry.field(description="行使层级 1–7.")
    # E1 时限, 地点, 时间, 咨询, 中介与特殊环节
    legal_limit: TimeLimit | None = strawberry.field(description="法定办结时限.")
    promise_limit: TimeLimit | None = strawberry.field(description="承诺办结时限.")
    project_type: str = strawberry.field(description="办件类型: 1 即办件, 2 承诺件, 9 其他.")
    windows: list[ServiceWindow] = strawberry.field(description="办理地点 and 窗口, at most 5.")
    transact_time: str = strawberry.field(description="办理时间.")
    consult: Contact = strawberry.field(description="咨询方式.")
    supervise: Contact = strawberry.field(description="监督投诉方式.")
    intermediary_service: str = strawberry.field(description="中介服务; empty when none.")
    special_procedure_text: str = strawberry.field(description="特别程序 / 特殊环节 as text.")
    special_procedures: list[SpecialProcedure] = strawberry.field(description="At most 3.")
    # audience and handling
    server_types: list[str] = strawberry.field(description="服务对象 codes; at most 7.")
    handle_forms: list[str] = strawberry.field(description="办理形式 codes; at most 5.")
    accept_condition: str = strawberry.field(description="受理条件.")
    handle_area: str = strawberry.field(description="通办范围.")
    quantity_limit_text: str = strawberry.field(description="数量限制.")
    # E2 materials, situations
    materials: list[Material] = strawberry.field(description="申请材料, at most 15.")
    situations: list[SituationQuestion] = strawberry.field(description="情形, at most 3.")
    # E3 flow and visits
    handle_flow: str = strawberry.field(description="办理流程.")
    visits_reason: str = strawberry.field(description="必须现场办理原因说明.")
    # online capability
    online_depth_components: list[int] = strawberry.field(description="网上办理深度 codes 1–7; at most 7.")
    online_url: str
    mobile_url: str
    is_schedule: bool = strawberry.field(description="支持预约.")
    is_pay_online: bool
    is_express: bool = strawberry.field(description="支持物流快递.")
    is_service_terminal: bool = strawberry.field(description="自助终端.")
    is_entry_center: bool = strawberry.field(description="进驻政务大厅.")
    min_assurance_level: int = strawberry.field(description="Assurance level needed to apply: 0–3.")
    # fees, FAQ, result
    is_fee: bool
    fee_basis: str
    fees: list[Fee] = strawberry.field(description="At most 5.")
    faqs: list[FaqEntry] = strawberry.field(description="At most 10.")
    result: ServiceResult
    plain_guide: str = strawberry.field(description="Plain-language short guide (Markdown).")
    person_topics: list[str] = strawberry.field(description="At most 10.")
    corp_topics: list[str] = strawberry.field(description="At most 10.")
    form_version: str
    coverage: strawberry.Private[list[MaterialCoverage] | None]

    @strawberry.field(
        description="Signed-in residents: the materials your wallet already satisfies with a valid licence (of "
        "yours, or of the enterprise you act for); null when signed out. At most 15."
    )
    def wallet_coverage(self) -> list[MaterialCoverage] | None:
        return self.coverage

    @classmethod
    def build(
        cls, item: ServiceItem, row: ServiceItemRow, parts: Any, coverage: list[MaterialCoverage] | None
    ) -> ServiceGuide:
        result_type = _enum(ApprovalResultType, row.result_type, ApprovalResultType.OTHER) if row.result_type else None
        return cls(
            item=item,
            by_law=row.by_law,
            power_source=row.power_source,
            use_level=row.use_level,
            legal_limit=TimeLimit.of(row.legal_limit),
            promise_limit=TimeLimit.of(row.promise_limit),
            project_type=row.project_type,
            windows=[
                ServiceWindow(
                    name=w.window_name,
                    address=w.address,
                    hours=w.hours_text,
                    phone=w.phone,
                    map_url=w.map_url,
                    traffic=w.traffic_info,
                )
                for w in parts.windows[:5]
            ],
            transact_time=row.transact_time,
            consult=Contact.of(row.consult),
            supervise=Contact.of(row.supervise),
            intermediary_service=row.intermediary_service,
            special_procedure_text=row.special_procedure_text,
            special_procedures=[
                SpecialProcedure(
                    kind=p.kind,
                    subtype=p.subtype,
                    max_days=p.max_days,
                    day_unit=_enum(TimeLimitUnit, p.day_unit, TimeLimitUnit.WORKING_DAY),
                )
                for p in parts.special_procedures[:3]
            ],
            server_types=[str(t) for t in row.server_types][:7],
            handle_forms=[str(f) for f in row.handle_forms][:5],
            accept_condition=row.accept_condition,
            handle_area=row.handle_area,
            quantity_limit_text=row.quantity_limit_text,
            materials=[Material.from_row(m) for m in parts.materials[:15]],
            situations=[SituationQuestion.from_row(s) for s in parts.situations[:3]],
            handle_flow=row.handle_flow_text,
            visits_reason=row.limit_scene_reason,
            online_depth_components=[int(c) for c in row.online_depth_components][:7],
            online_url=row.online_url,
            mobile_url=row.mobile_url,
            is_schedule=row.is_schedule,
            is_pay_online=row.is_pay_online,
            is_express=row.is_express,
            is_service_terminal=row.is_service_terminal,
            is_entry_center=row.is_entry_center,
            min_assurance_level=row.min_assurance_level,
            is_fee=row.is_fee,
            fee_basis=row.fee_basis,
            fees=[
                Fee(
                    name=f.name,
                    standard=f.standard,
                    amount_fen=None if f.amount_fen is None else str(f.amount_fen),
                    amount_yuan=_yuan(f.amount_fen),
                    by_law=f.by_law,
                    reducible=f.reducible,
                    reduce_basis=f.reduce_basis,
                )
                for f in parts.fees[:5]
            ],
            faqs=[FaqEntry(question=f.question, answer=f.answer) for f in parts.faqs[:10]],
            result=ServiceResult(
                name=row.result_name,
                type=result_type,
                sample_file_id=row.result_sample_file_id,
                is_elicense=row.result_is_elicense,
                elicense_type_code=row.elicense_type_code,
            ),
            plain_guide=row.plain_guide_md,
            person_topics=list(row.person_topics)[:10],
            corp_topics=list(row.corp_topics)[:10],
            form_version=row.form_version,
            coverage=coverage,
        )


@strawberry.type(description="一件事: several items behind one shared form.")
class ServiceBundle:
    code: str
    name: str
    audience: ServiceAudience
    life_event: str
    shared_form_schema: strawberry.scalars.JSON = strawberry.field(description="The shared form section (JSON Schema).")
    items: list[ServiceItemSummary] = strawberry.field(
        description="Member items at their current published versions; at most 20."
    )
