"""Producer topics → templates, recipients and parameters (notifications.md §C5).

The relay reads everything from the outbox payload, never from the producer's tables: recipients are the
applicant / bill payer / licence holder person, or for an enterprise its contact (the legal representative, the
person whose ID number hash is the enterprise's `legal_rep_id_hash`). Parameters are the payload's scalar fields
as text, plus a few derived ones that templates print (amount, due date, licence id).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from api.kit.clock import SHANGHAI
from api.kit.ids import parse_uuid
from api.models import Enterprise, Person
from notifications.errors import NotificationsError, NotificationsErrorCode

# Topic → template code. Operator-facing topics (ratings.rectification_due, supervision.alert_raised) are not here:
# they go to staff, not residents.
TOPIC_TEMPLATES: dict[str, str] = {
    "application.submitted": "APPLICATION_SUBMITTED",
    "application.precheck_returned": "APPLICATION_PRECHECK_RETURNED",
    "application.accepted": "APPLICATION_ACCEPTED",
    "application.not_accepted": "APPLICATION_NOT_ACCEPTED",
    "application.supplement_requested": "APPLICATION_SUPPLEMENT_REQUESTED",
    "application.special_procedure_started": "APPLICATION_SPECIAL_PROCEDURE_STARTED",
    "application.special_procedure_ended": "APPLICATION_SPECIAL_PROCEDURE_ENDED",
    "application.fee_required": "APPLICATION_FEE_REQUIRED",
    "application.decided": "APPLICATION_DECIDED",
    "application.completed": "APPLICATION_COMPLETED",
    "application.withdrawn": "APPLICATION_WITHDRAWN",
    "application.terminated": "APPLICATION_TERMINATED",
    "application.delivered": "APPLICATION_DELIVERED",
    "payments.bill_created": "PAYMENTS_BILL_CREATED",
    "payments.bill_due_soon": "PAYMENTS_BILL_DUE_SOON",
    "payments.bill_paid": "PAYMENTS_BILL_PAID",
    "payments.bill_refunded": "PAYMENTS_BILL_REFUNDED",
    "licenses.expiring": "LICENSES_EXPIRING",
    "licenses.issued": "LICENSES_ISSUED",
    "licenses.revoked": "LICENSES_REVOKED",
}
CONSUMED_TOPICS: tuple[str, ...] = tuple(TOPIC_TEMPLATES)

# Where each family names its person and enterprise recipients (licences: snake_case from the expiry job,
# camelCase from issuing).
_RECIPIENT_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "application": (("applicantPersonId",), ("applicantEnterpriseId",)),
    "payments": (("personId",), ("enterpriseId",)),
    "licenses": (("holder_person_id", "holderPersonId"), ("holder_enterprise_id", "holderEnterpriseId")),
}


@dataclass(frozen=True)
class EventNotice:
    recipient_user_id: uuid.UUID
    template_code: str
    params: dict[str, str]
    expires_at: datetime | None = None


def template_for_topic(topic: str) -> str:
    """The template code of a consumed topic; INVALID_INPUT for any other (emitNotificationEvent's `topic`)."""
    code = TOPIC_TEMPLATES.get(topic)
    if code is None:
        raise NotificationsError(NotificationsErrorCode.INVALID_INPUT, f"no notice for topic {topic!r}", path=["topic"])
    return code


def format_amount(fen: int) -> str:
    return f"¥{fen // 100:,}.{fen % 100:02d}" if fen >= 0 else "-" + format_amount(-fen)


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=SHANGHAI)


def _scalar(value: object) -> str | None:
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        texts = [str(v) for v in value if isinstance(v, str | int | float) and not isinstance(v, bool)]
        return "、".join(texts) if texts and len(texts) == len(value) else None
    return str(value)


def flatten_params(payload: Mapping[str, object]) -> dict[str, str]:
    """The payload's scalar fields as text, plus `amount` (from amountFen), `dueDate` (from dueAt, local date),
    `license_id` and `validTo` for licences; nested objects are left out."""
    params = {key: text for key, value in payload.items() if (text := _scalar(value)) is not None}
    amount = payload.get("amountFen")
    if isinstance(amount, int) and not isinstance(amount, bool):
        params["amount"] = format_amount(amount)
    due = _moment(payload.get("dueAt"))
    if due is not None and "dueDate" not in params:
        params["dueDate"] = due.astimezone(SHANGHAI).date().isoformat()
    for alias, sources in (("license_id", ("licenseId",)), ("validTo", ("valid_to",))):
        if alias not in params:
            for source in sources:
                if source in params:
                    params[alias] = params[source]
    return params


async def enterprise_contacts(enterprise_id: uuid.UUID) -> list[uuid.UUID]:
    """The people notices about an enterprise go to: its legal representative, when known here."""
    enterprise = await Enterprise.get_or_none(id=enterprise_id)
    if enterprise is None or not enterprise.legal_rep_id_hash:
        return []
    ids = await Person.filter(id_number_hash=enterprise.legal_rep_id_hash, merged_into_id=None).values_list(
        "id", flat=True
    )
    return [uuid.UUID(str(i)) for i in ids]


async def _recipients(family: str, payload: Mapping[str, object]) -> list[uuid.UUID]:
    person_keys, enterprise_keys = _RECIPIENT_KEYS[family]
    for key in person_keys:
        person = parse_uuid(payload.get(key))
        if person is not None:
            return [person]
    for key in enterprise_keys:
        enterprise = parse_uuid(payload.get(key))
        if enterprise is not None:
            return await enterprise_contacts(enterprise)
    return []


def _expires_at(topic: str, payload: Mapping[str, object]) -> datetime | None:
    if topic == "payments.bill_due_soon":
        due = _moment(payload.get("dueAt"))
        if due is None and isinstance(payload.get("dueDate"), str):
            try:
                day = date.fromisoformat(str(payload["dueDate"]))
            except ValueError:
                return None
            due = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=SHANGHAI)
        return due
    return None


async def route_event(topic: str, key: str, state_version: int, payload: Mapping[str, object]) -> list[EventNotice]:
    """One notice per recipient of a consumed topic's event; [] for other topics or when nobody can be found."""
    code = TOPIC_TEMPLATES.get(topic)
    if code is None:
        return []
    family = topic.split(".", 1)[0]
    recipients = await _recipients(family, payload)
    params = flatten_params(payload)
    expires_at = _expires_at(topic, payload)
    return [EventNotice(user, code, dict(params), expires_at) for user in dict.fromkeys(recipients)]
