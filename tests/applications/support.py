"""Helpers shared by every applications test (and by the handling, ratings and supervision tests).

- `resident_token(api, n)`: sign in as seeded resident n (1–20, mobile 1990000NNNN; the SMS session is L2 at most).
- `handler_token(api, dept)`: sign in as the case_handler of a department key (`scjg`, `wjw`, `bsyb` …).
- `submit(api, token, code, ...)`: submit an application for a seeded item with valid form data and materials;
  returns the `submitApplication` result (assert `__typename == "ApplicationSubmitted"` yourself, or use
  `submitted(...)`, which does and returns the application dict).
- `INSTANT_ITEM` (即办件, straight to a result), `PROMISED_ITEM` (承诺件 whose approved result is an e-licence),
  `FIVE_MATERIALS_ITEM` (five requirements: upload, data sharing, wallet licence, commitment, optional upload).
"""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from api.models import Application, ApplicationEvent, MaterialRequirement, OutboxEvent, ServiceItem
from api.seed.catalog_specs import DATA_SHARING
from tests.catalog.support import operator_token
from tests.support.client import Api

# 医保参保登记 (白沙县医疗保障局): 即办件, residents, L1; 居民户口簿 comes from the wallet, the ID card by data sharing.
INSTANT_ITEM = "即办件"
# 出生医学证明签发 (云溪市卫生健康委员会): 承诺件 of 3 working days whose result is the 出生医学证明 e-licence.
PROMISED_ITEM = "承诺件"
# 最低生活保障 (云溪市民政局): 承诺件 with five requirements (form, ID card, 户口簿, 承诺书, optional 证明).
FIVE_MATERIALS_ITEM = "五材料"
_CATALOG_CODES = {
    INSTANT_ITEM: ("bsyb", "992000003000"),
    PROMISED_ITEM: ("wjw", "992000005000"),
    FIVE_MATERIALS_ITEM: ("mzj", "990500003000"),
}
# Department key of each of those items (the case handler who may handle it is `handler.<key>`).
DEPARTMENT_OF = {name: dept for name, (dept, _) in _CATALOG_CODES.items()}

_keys = itertools.count(random.randrange(1_000_000))

APPLICATION_FIELDS = """
id projectNo serviceCode itemName version status statusLabel projectType timerState deliveryStatus
evaluationStatus channel applyTime acceptTime promiseDate resultCode resultReason resultTime resultLicenseIds
applicant { type name personId enterpriseId agentPersonId contactMobile }
materials { id requirementId name providedVia trustGrade licenseId licenseName fileId supplementRound }
openSupplement { round dueAt items { requirementId name reason } }
formData allowedActions timelineTotal
timeline { seq type fromStatus toStatus stepName actorType actorName opinion at }
"""
ERROR_FIELDS = """
... on Error { code message path }
... on SubmissionRejectedError { problems { path field code message } }
... on ApplicationTransitionError { status allowedEvents }
"""
SUBMITTED_FIELDS = """
id projectNo serviceCode itemName status statusLabel projectType applyTime promiseDate resultCode resultLicenseIds
applicant { type name personId enterpriseId agentPersonId }
materials { requirementId name providedVia trustGrade licenseId fileId }
allowedActions timelineTotal timeline { seq type toStatus }
"""
SUBMIT = (
    "mutation Submit($input: SubmitApplicationInput!) { submitApplication(input: $input) { __typename "
    "... on ApplicationSubmitted { replayed application { " + SUBMITTED_FIELDS + " } } "
    "... on Error { code message path } ... on SubmissionRejectedError { problems { path field code message } } } }"
)
APPLICATION = "query A($id: ID!) { application(id: $id) { " + APPLICATION_FIELDS + " } }"


def idempotency_key() -> str:
    return f"test-{next(_keys)}-{uuid.uuid4().hex[:8]}"


# Seeded residents sign in once per few minutes of (shared, forward-only) test time: a second SMS code to the same
# phone within a minute is refused.
_tokens: dict[tuple[int, int], tuple[str, datetime]] = {}


async def resident_token(api: Api, n: int) -> str:
    now = api.live.clock.now()
    cached = _tokens.get((id(api.live), n))
    if cached is not None and now - cached[1] < timedelta(minutes=5):
        return cached[0]
    token = (await api.sign_in(f"1990000{n:04d}")).access_token
    _tokens[(id(api.live), n)] = (token, now)
    return token


async def handler_token(api: Api, dept: str) -> str:
    return await operator_token(api, f"handler.{dept}")


async def item_row(name: str) -> ServiceItem:
    """The published version of one of the named test items."""
    _, basic = _CATALOG_CODES[name]
    return await ServiceItem.get(task_code__endswith=basic, status="PUBLISHED")


async def service_code(name: str) -> str:
    return (await item_row(name)).task_code


def _value(schema: dict[str, Any], leaf: str) -> Any:
    if schema.get("type") == "object":
        return {key: _value(child, key) for key, child in schema.get("properties", {}).items()}
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("type") == "number":
        return 1
    if schema.get("format") == "date":
        return "2020-01-01"
    kind = schema.get("x-field-type")
    if kind == "id_number":
        return "99010219800314123X"
    if kind == "phone":
        return "19900000001"
    return f"演示{leaf}"


def valid_form(item: ServiceItem) -> dict[str, Any]:
    """Form data satisfying the item version's JSON Schema (every property filled)."""
    value: dict[str, Any] = _value(item.form_schema, "")
    return value


async def upload_materials(item: ServiceItem) -> list[dict[str, Any]]:
    """An UPLOAD for every required requirement the applicant must hand in; the wallet and data sharing do the rest."""
    requirements = await MaterialRequirement.filter(service_item_id=item.id).order_by("order")
    return [
        {"requirementId": str(r.id), "via": "UPLOAD", "fileId": f"upload/{r.id}/scan.pdf"}
        for r in requirements
        if r.necessity == "REQUIRED" and r.source != DATA_SHARING
    ]


async def submit_input(name: str, **overrides: Any) -> dict[str, Any]:
    item = await item_row(name)
    data: dict[str, Any] = {
        "idempotencyKey": idempotency_key(),
        "serviceCode": item.task_code,
        "channel": "APP",
        "formData": valid_form(item),
        "materials": await upload_materials(item),
    }
    data.update(overrides)
    return data


async def submit(api: Api, token: str, name: str = PROMISED_ITEM, **overrides: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(SUBMIT, {"input": await submit_input(name, **overrides)}, token))[
        "submitApplication"
    ]
    return result


async def submitted(api: Api, token: str, name: str = PROMISED_ITEM, **overrides: Any) -> dict[str, Any]:
    result = await submit(api, token, name, **overrides)
    assert result["__typename"] == "ApplicationSubmitted", result
    application: dict[str, Any] = result["application"]
    return application


async def application(api: Api, token: str, application_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (await api.data(APPLICATION, {"id": application_id}, token))["application"]
    return found


async def footprint(application_id: str | None = None) -> tuple[int, int, int]:
    """(applications, events, outbox rows): of one case, or of all cases, to prove that nothing changed."""
    if application_id is None:
        return (
            await Application.all().count(),
            await ApplicationEvent.all().count(),
            await OutboxEvent.filter(topic__startswith="application.").count(),
        )
    return (
        await Application.filter(id=application_id).count(),
        await ApplicationEvent.filter(application_id=application_id).count(),
        await OutboxEvent.filter(key=application_id, topic__startswith="application.").count(),
    )
