"""Anonymous progress lookup by 办件编号 + 查询密码 (domain.md §7.5), for legacy channels and the counter slip.

Answers only what the slip already says (item, status label, key dates) and the public steps of the timeline:
no names, no opinions, no personal data. An unknown number, a case without a password and a wrong password give
the same error after the same argon2 work, so the lookup cannot tell which numbers exist. Each IP is limited by
the shared Redis token bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from api.applications import reading, transitions
from api.kit.errors import InvalidInput, NotFound, RateLimited
from api.kit.passwords import DUMMY_HASH, verify_password
from api.kit.redis import TokenBucket
from api.models import Application, ApplicationEvent, EventType
from api.settings import active

MAX_PROJECT_NO = 50
MAX_PASSWORD = 64
STEP_LABELS: dict[EventType, str] = {
    EventType.SUBMIT: "已提交申请",
    EventType.PRECHECK_PASS: "预审通过",
    EventType.PRECHECK_RETURN: "预审退回，请修改后重新提交",
    EventType.ACCEPT: "已受理",
    EventType.NOT_ACCEPT: "不予受理",
    EventType.SUPPLEMENT_NOTICE: "需要补正材料",
    EventType.SUPPLEMENT_DONE: "已补正材料",
    EventType.SPECIAL_START: "进入特别程序（暂停计时）",
    EventType.SPECIAL_END: "特别程序结束",
    EventType.DECIDE: "已作出决定",
    EventType.COMPLETE: "已办结",
    EventType.WITHDRAW: "已撤回",
    EventType.TERMINATE: "已终止",
    EventType.DELIVERY_SHIPPED: "结果已寄出",
    EventType.DELIVERY_RECEIVED: "结果已签收",
    EventType.DELIVERY_ELECTRONIC: "结果已电子送达",
}


def per_minute() -> int:
    return active().applications.lookup_per_ip_per_minute


@dataclass(frozen=True)
class PublicStep:
    type: EventType
    label: str
    at: datetime


@dataclass(frozen=True)
class Progress:
    project_no: str
    item_name: str
    status_label: str
    apply_time: datetime
    accept_time: datetime | None
    promise_date: date | None
    result_time: datetime | None
    steps: list[PublicStep]


def _refused() -> NotFound:
    return NotFound("no application matches this number and password", path=["projectNo"], code="NO_MATCH")


async def progress(
    buckets: TokenBucket, ip: str, project_no: str, password: str, now: datetime, *, limit: int | None = None
) -> Progress:
    per_min = limit if limit is not None else per_minute()
    decision = await buckets.take(
        f"lookup:ip:{ip}", rate_per_second=per_min / 60, burst=per_min, now_ms=int(now.timestamp() * 1000)
    )
    if not decision.allowed:
        raise RateLimited("too many lookups from this address; try again later", retry_after_ms=decision.retry_after_ms)
    number = project_no.strip()
    if not number or len(number) > MAX_PROJECT_NO:
        raise InvalidInput("a 办件编号 has at most 50 characters", path=["projectNo"], code="INVALID_PROJECT_NO")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput("the password is too long", path=["queryPassword"], code="INVALID_PASSWORD")
    app = await Application.get_or_none(project_no=number)
    stored = app.query_password_hash if app is not None and app.query_password_hash else DUMMY_HASH
    matches = await verify_password(stored, password)
    if app is None or not app.query_password_hash or not matches:
        raise _refused()
    events = await ApplicationEvent.filter(
        application_id=app.id, event_type__in=sorted(reading.PUBLIC_EVENTS)
    ).order_by("seq")
    return Progress(
        project_no=number,
        item_name=app.item_name,
        status_label=transitions.citizen_label(app.status),
        apply_time=app.apply_time,
        accept_time=app.accept_time,
        promise_date=app.promise_date,
        result_time=app.result_time,
        steps=[PublicStep(e.event_type, STEP_LABELS.get(e.event_type, ""), e.started_at) for e in events],
    )
