"""The open cases shown on the personal and enterprise pages, each with what the applicant does next.

One statement per page: a case is shown while it is open, while its result is on its way, or while the applicant
can still rate it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q

from api.applications.transitions import NON_TERMINAL
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


def next_action(row: Application, now: datetime) -> tuple[str, str]:
    if row.status in _ACTIONS:
        return _ACTIONS[row.status]
    if row.delivery_status is DeliveryStatus.SHIPPED:
        return ("RECEIVE", "结果已寄出（运单号见办件详情），请注意签收")
    if row.delivery_status is DeliveryStatus.READY_FOR_PICKUP:
        return ("PICK_UP", "结果可领取，请到窗口领取")
    if row.status is _S.COMPLETED and row.evaluation_status is EvaluationStatus.PENDING:
        return ("RATE", "已办结，请评价本次服务")
    return _WAIT


def _showable(now: datetime) -> Q:
    return (
        Q(status__in=list(NON_TERMINAL))
        | Q(delivery_status__in=[DeliveryStatus.SHIPPED, DeliveryStatus.READY_FOR_PICKUP])
        | Q(status=_S.COMPLETED, evaluation_status=EvaluationStatus.PENDING, rating_due_at__gt=now)
    )


async def open_cases(owner: Q, now: datetime, limit: int) -> list[OpenCase]:
    rows = await Application.filter(owner, _showable(now)).order_by("-updated_at").limit(limit)
    return [
        OpenCase(
            id=row.id,
            project_no=row.project_no or "",
            service_name=row.item_name,
            status=row.status.value,
            next_action=action,
            next_action_text=text,
            updated_at=row.updated_at,
        )
        for row in rows
        for action, text in [next_action(row, now)]
    ]


def of_person(person_id: uuid.UUID) -> Q:
    """Cases the person applied for, or submitted for someone else (an agent follows what they filed)."""
    return Q(applicant_person_id=person_id) | Q(submitted_by_person_id=person_id, applicant_enterprise_id=None)


def of_enterprise(enterprise_id: uuid.UUID) -> Q:
    return Q(applicant_enterprise_id=enterprise_id)
