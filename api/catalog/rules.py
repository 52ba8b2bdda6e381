"""Publish-time data-quality rules Q01–Q15 (domain.md §5.4): a pure function of one item version and its parts.

Every rule runs, so that the operator sees all violations at once. Paths name the fields of
`UpdateServiceItemDraftInput` that fix the violation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from api.catalog.codes import derive_depth_level, parse_task_code, task_code_problem
from api.models import Faq, FeeItem, ServiceItem

PERSON = "1"
LICENCE = "01"  # 行政许可
PICKUP_BY_POST = "4"  # 办理形式 4 快递申请
ONLINE_FORMS = frozenset({"2", "3"})  # 电脑端 / 移动端网上办理
WORKFLOW_STEPS = ("受理", "审核", "审批", "办结", "送达")
# An area code (0 + 2–3 digits), then a 7–8 digit local number; a hyphen or space between them is optional.
_AREA_PHONE = re.compile(r"^0\d{2,3}[- ]?\d{7,8}$")


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str
    path: tuple[str, ...]


@dataclass(frozen=True)
class ItemVersion:
    item: ServiceItem
    dept_uscc: str | None
    faqs: Sequence[Faq]
    fees: Sequence[FeeItem]


def is_online(item: ServiceItem) -> bool:
    return bool(ONLINE_FORMS & {str(form) for form in item.handle_forms})


def _phone(contact: dict[str, object]) -> str:
    return str(contact.get("phone") or "").strip()


Fail = Callable[..., None]


def _q01_promise(version: ItemVersion, fail: Fail) -> None:
    """Q01 即办 ⇔ 即办件."""
    item = version.item
    promise = item.promise_limit.get("value") if item.promise_limit else None
    if promise is None:
        fail("Q01", "承诺办结时限 is required", "promiseLimit")
    elif (int(promise) == 0) != (item.project_type == "1"):
        fail("Q01", "承诺时限 即办 (0) requires 办件类型 1 即办件, and any other promise 2 承诺件", "projectType")


def _q02_q03_result_type(version: ItemVersion, fail: Fail) -> None:
    """Q02 / Q03 result name ⇒ result type."""
    item = version.item
    name = item.result_name.strip()
    if name.endswith(("证", "证书")) and item.result_type != "CERTIFICATE":
        fail("Q02", "a result named …证 / …证书 must have 审批结果类型 CERTIFICATE (出证办结)", "resultType")
    if name.endswith("文") and item.result_type != "DOCUMENT":
        fail("Q03", "a result named …文 must have 审批结果类型 DOCUMENT (出文办结)", "resultType")
    if name.endswith("批复") and item.result_type != "APPROVAL":
        fail("Q03", "a result named …批复 must have 审批结果类型 APPROVAL (审批办结)", "resultType")


def _q04_q06_visits(version: ItemVersion, fail: Fail) -> None:
    """Q04 / Q05 / Q06 visits."""
    item = version.item
    if item.limit_scene_num != 0 and not item.limit_scene_reason.strip():
        fail("Q04", "到现场次数 is not 0: 必须现场办理原因说明 is required", "visitsReason")
    if item.limit_scene_num == 0 and not is_online(item) and PICKUP_BY_POST not in item.handle_forms:
        fail("Q05", "到现场次数 0 requires online handling (办理形式 2 or 3) or 4 快递申请", "handleForms")
    if item.online_depth_level == 4 and item.limit_scene_num != 0:
        fail("Q06", "网办深度 Ⅳ (全程网办) requires 到现场次数 0", "visitsRequired")


def _q07_q08_fees(version: ItemVersion, fail: Fail) -> None:
    """Q07 / Q08 fees."""
    item = version.item
    if item.is_fee:
        if not item.fee_basis.strip():
            fail("Q07", "a charged item needs 收费依据", "feeBasis")
        if not any(fee.standard.strip() for fee in version.fees):
            fail("Q07", "a charged item needs at least one 收费项目 with 收费标准", "fees")
    elif item.is_pay_online:
        fail("Q08", "an item without fees cannot offer 网上支付", "isPayOnline")


def _q09_phones(version: ItemVersion, fail: Fail) -> None:
    """Q09 phones."""
    item = version.item
    consult, supervise = _phone(item.consult), _phone(item.supervise)
    if not _AREA_PHONE.fullmatch(consult):
        fail("Q09", "咨询电话 is required with an area code, e.g. 0991-12345678", "consult", "phone")
    if not _AREA_PHONE.fullmatch(supervise):
        fail("Q09", "投诉电话 is required with an area code, e.g. 0991-12345678", "supervise", "phone")
    if consult and consult == supervise:
        fail("Q09", "咨询电话 and 投诉电话 must differ", "supervise", "phone")


def _q10_audience(version: ItemVersion, fail: Fail) -> None:
    """Q10 audience ⇔ topics."""
    item = version.item
    server_types = {str(t) for t in item.server_types}
    if not server_types:
        fail("Q10", "服务对象 is required", "serverTypes")
    if (PERSON in server_types) != bool(item.person_topics):
        fail("Q10", "服务对象 自然人 and 自然人主题 must go together", "personTopics")
    if bool(server_types - {PERSON}) != bool(item.corp_topics):
        fail("Q10", "a legal-person 服务对象 and 法人主题 must go together", "corpTopics")


def _q11_q12_licence(version: ItemVersion, fail: Fail) -> None:
    """Q11 / Q12 行政许可."""
    item = version.item
    if item.task_type == LICENCE:
        if not version.faqs:
            fail("Q11", "a 行政许可 item needs at least one FAQ", "faqs")
        names = [str(step.get("name") or "") for step in item.workflow_steps]
        missing = [step for step in WORKFLOW_STEPS if not any(step in n for n in names)]
        if missing:
            fail("Q12", f"a 行政许可 workflow needs the steps {'、'.join(missing)}", "workflowSteps")


def _q13_result_sample(version: ItemVersion, fail: Fail) -> None:
    """Q13 result sample."""
    item = version.item
    name = item.result_name.strip()
    if name and not item.result_sample_file_id.strip():
        fail("Q13", "an item with a 审批结果 needs a 结果样本 file", "resultSampleFileId")


def _q14_task_code(version: ItemVersion, fail: Fail) -> None:
    """Q14 实施编码 composition."""
    item = version.item
    problem = task_code_problem(item.task_code)
    parsed = parse_task_code(item.task_code)
    if problem is not None or parsed is None:
        fail("Q14", problem or "malformed 实施编码", "serviceCode")
    else:
        if version.dept_uscc is not None and parsed.dept_uscc != version.dept_uscc:
            fail("Q14", "the USCC part of the 实施编码 is not the department's", "serviceCode")
        if parsed.use_level != item.use_level:
            fail("Q14", "the 行使层级 digit of the 实施编码 is not the item's 行使层级", "serviceCode")
        if parsed.catalog_type != item.task_type:
            fail("Q14", f"基本编码 type {parsed.catalog_type} differs from 事项类型 {item.task_type}", "taskType")


def _q15_depth(version: ItemVersion, fail: Fail) -> None:
    """Q15 网办深度."""
    item = version.item
    derived = derive_depth_level(
        item.online_depth_components, is_schedule=item.is_schedule, visits=item.limit_scene_num
    )
    if item.online_depth_level != derived:
        fail(
            "Q15",
            f"网办深度 {item.online_depth_level} differs from {derived}, derived from its components",
            "onlineDepthLevel",
        )


_GROUPS = (
    _q01_promise,
    _q02_q03_result_type,
    _q04_q06_visits,
    _q07_q08_fees,
    _q09_phones,
    _q10_audience,
    _q11_q12_licence,
    _q13_result_sample,
    _q14_task_code,
    _q15_depth,
)


def check(version: ItemVersion) -> list[Violation]:
    out: list[Violation] = []

    def fail(rule: str, message: str, *path: str) -> None:
        out.append(Violation(rule, message, path))

    for group in _GROUPS:
        group(version, fail)
    return out
