"""The open cases shown on the personal and enterprise pages, each with what the applicant does next.

One statement per page: a case is shown while it is open, while its result is on its way, or while the applicant
can still rate it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from api.applications.transitions import NON_TERMINAL
from api.database import Statement, enum_list
from api.models import Application, ApplicationStatus, DeliveryStatus, EvaluationStatus

_S = ApplicationStatus
# What the applicant is asked to do, by status; statuses not listed wait on the department.
_ACTIONS: dict[ApplicationStatus, tuple[str, str]] = {
    _S.PRECHECK_RETURNED: ("RESUBMIT", "预审退回，请按一次性告知修改后重新提交"),
    _S.SUPPLEMENT_REQUIRED: ("SUPPLEMENT", "请按一次性告知补正材料"),
    _S.PENDING_PAYMENT: ("PAY", "请缴纳费用"),
}
_WAIT = ("WAIT", "部门办理中，请耐心等待")


@dataclass(frozen=True)
class OpenCase:
    id: uuid.UUID
    project_no: str
    service_name: str
    status: str
    next_action: str
    next_action_text: str
    updated_at: datetime


def next_action(
    status: ApplicationStatus, delivery: DeliveryStatus | None, evaluation: EvaluationStatus | None
) -> tuple[str, str]:
    if status in _ACTIONS:
        return _ACTIONS[status]
    if delivery is DeliveryStatus.SHIPPED:
        return ("RECEIVE", "结果已寄出（运单号见办件详情），请注意签收")
    if delivery is DeliveryStatus.READY_FOR_PICKUP:
        return ("PICK_UP", "结果可领取，请到窗口领取")
    if status is _S.COMPLETED and evaluation is EvaluationStatus.PENDING:
        return ("RATE", "已办结，请评价本次服务")
    return _WAIT


def _statement(owner: str) -> Statement:
    """The open cases of one owner (`$1`), newest first, at most `$3`; `$2` is now, for the rating deadline."""
    on_their_way = enum_list([DeliveryStatus.SHIPPED, DeliveryStatus.READY_FOR_PICKUP])
    sql = (
        "SELECT id, project_no, item_name, status, delivery_status, evaluation_status, updated_at "  # noqa: S608 (our constants only)
        f"FROM application WHERE ({owner}) AND (status IN ({enum_list(NON_TERMINAL)}) "
        f"OR delivery_status IN ({on_their_way}) OR (status = '{_S.COMPLETED.value}' "
        f"AND evaluation_status = '{EvaluationStatus.PENDING.value}' AND rating_due_at > $2)) "
        "ORDER BY updated_at DESC LIMIT $3"
    )
    columns = ("id", "status", "delivery_status", "evaluation_status", "updated_at")
    return Statement(sql, {column: (Application, column) for column in columns})


# A person's cases: those they applied for, and those they submitted for someone else (an agent follows what they
# filed), not an enterprise's (those are on its page).
OF_PERSON = _statement("applicant_person_id = $1 OR (submitted_by_person_id = $1 AND applicant_enterprise_id IS NULL)")
OF_ENTERPRISE = _statement("applicant_enterprise_id = $1")


async def open_cases(statement: Statement, owner_id: uuid.UUID, now: datetime, limit: int) -> list[OpenCase]:
    """`statement`: OF_PERSON or OF_ENTERPRISE, read for `owner_id`."""
    rows = await statement.rows(owner_id, now, limit)
    return [
        OpenCase(
            id=row["id"],
            project_no=row["project_no"] or "",
            service_name=row["item_name"],
            status=row["status"].value,
            next_action=action,
            next_action_text=text,
            updated_at=row["updated_at"],
        )
        for row in rows
        for action, text in [next_action(row["status"], row["delivery_status"], row["evaluation_status"])]
    ]
