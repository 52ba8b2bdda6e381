"""Helpers of the catalog tests: operator sign-in, a publishable item, and the GraphQL documents."""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pyotp

from api.kit.logging import request_id_var
from api.models import Organization
from api.seed.context import seed_id
from api.seed.operators import DEMO_PASSWORD, demo_totp_secret
from tests.support.client import Api

_sequence = itertools.count(random.randrange(10_000, 90_000))

OPERATOR_SIGN_IN = """
mutation O($input: OperatorSignInInput!) {
  operatorSignIn(input: $input) { __typename ... on OperatorAuthPayload { accessToken } ... on Error { code } }
}
"""
ITEM_FIELDS = """
id serviceCode handleItemCode version name taskType status onlineDepthLevel visitsRequired
promisedLimit { value unit unitLabel note isImmediate text } forPersons forEnterprises regionCode departmentName
effectiveFrom cancelAt latestVersion acceptsApplications statusNote
"""
RESULT = "__typename ... on ServiceItemChanged { item { " + ITEM_FIELDS + " } } ... on Error { code message path }"
TRANSITION = "... on IllegalTransitionError { status }"


def mutation(name: str, input_type: str, extra: str = TRANSITION) -> str:
    return f"mutation M($input: {input_type}!) {{ {name}(input: $input) {{ {RESULT} {extra} }} }}"


CREATE = mutation("createServiceItemDraft", "CreateServiceItemDraftInput", "")
UPDATE = mutation("updateServiceItemDraft", "UpdateServiceItemDraftInput")
SUBMIT = mutation("submitServiceItemForReview", "SubmitServiceItemForReviewInput")
PUBLISH = mutation(
    "publishServiceItem",
    "PublishServiceItemInput",
    TRANSITION + " ... on PublishRejected { violations { rule message path } }",
)
SUSPEND = mutation("suspendServiceItem", "SuspendServiceItemInput")
RESUME = mutation("resumeServiceItem", "ResumeServiceItemInput")
CANCEL = mutation("cancelServiceItem", "CancelServiceItemInput")
SERVICE_ITEM = (
    "query Q($code: String!, $version: Int) { serviceItem(serviceCode: $code, version: $version) { "
    + ITEM_FIELDS
    + " } }"
)


async def operator_token(api: Api, username: str = "catalog.admin") -> str:
    """Signs in fresh: a TOTP step is single-use per operator, so the shared clock moves on by one step first."""
    api.live.clock.advance(timedelta(seconds=30))
    code = pyotp.TOTP(demo_totp_secret(username)).at(api.live.clock.now().timestamp())
    variables = {"input": {"username": username, "password": DEMO_PASSWORD, "totpCode": code}}
    result = (await api.data(OPERATOR_SIGN_IN, variables))["operatorSignIn"]
    assert result["__typename"] == "OperatorAuthPayload", result
    token: str = result["accessToken"]
    return token


async def department() -> Organization:
    return await Organization.get(id=seed_id("organization", "scjg"))  # 云溪市市场监督管理局, 行使层级 3


async def fresh_service_code(task_type: str = "01") -> str:
    """A well-formed 实施编码 nobody used yet: the department's USCC + 3 + 基本编码 `99 TT nnnnn 000`."""
    dept = await department()
    return f"{dept.uscc}3" + f"99{task_type}{next(_sequence):05d}000"


def valid_guide(**overrides: Any) -> dict[str, Any]:
    """Every element a 行政许可 needs to pass Q01–Q15 (full online handling, 网办深度 Ⅳ)."""
    guide: dict[str, Any] = {
        "byLaw": "《中华人民共和国食品安全法》第三十五条",
        "legalLimit": {"value": 20, "unit": "WORKING_DAY", "note": "法定"},
        "promiseLimit": {"value": 10, "unit": "WORKING_DAY", "note": ""},
        "projectType": "2",
        "serverTypes": ["2"],
        "corpTopics": ["准营准办"],
        "personTopics": [],
        "handleForms": ["1", "3"],
        "onlineDepthComponents": [1, 2, 3, 4, 5, 6],
        "visitsRequired": 0,
        "acceptCondition": "依法取得营业执照",
        "handleFlow": "申请—受理—审核—审批—办结—送达",
        "transactTime": "工作日 9:00-17:00",
        "consult": {"phone": "0991-12345678", "note": "咨询"},
        "supervise": {"phone": "0991-12345679", "note": "投诉"},
        "intermediaryService": "无",
        "specialProcedureText": "现场核查",
        "specialProcedures": [{"kind": "2", "subtype": "SITE_INSPECTION", "maxDays": 10}],
        "resultName": "食品经营许可证",
        "resultType": "CERTIFICATE",
        "resultSampleFileId": "file-result-sample",
        "isFee": False,
        "isPayOnline": False,
        "plainGuide": "带上营业执照，在手机上提交即可。",
        "workflowSteps": [{"name": n} for n in ("受理", "审核", "审批", "办结", "送达")],
        "windows": [
            {
                "name": "综合窗口1号",
                "address": "云溪市政务服务中心一楼",
                "hours": "工作日 9:00-17:00",
                "phone": "0991-12345670",
                "mapUrl": "https://map.example/1",
                "traffic": "公交3路政务中心站",
            }
        ],
        "materials": [
            {
                "name": "营业执照",
                "necessity": "REQUIRED",
                "forms": ["ELECTRONIC"],
                "originalCount": 1,
                "copyCount": 1,
                "source": "ISSUING_AUTHORITY",
                "issuingOrg": "市场监督管理部门",
                "elicenseTypeCodes": ["99010000000001338W001"],
            },
            {
                "name": "食品经营许可申请书",
                "necessity": "TOLERATED_LATER",
                "forms": ["PAPER_ORIGINAL"],
                "originalCount": 1,
                "source": "APPLICANT",
                "blankFormFileId": "file-blank",
                "sampleFileId": "file-sample",
                "allowCommitment": True,
            },
        ],
        "situations": [
            {
                "question": "是否连锁经营?",
                "options": [{"label": "是", "requireMaterials": [1]}, {"label": "否", "excludeMaterials": [2]}],
            }
        ],
        "fees": [],
        "faqs": [{"question": "多久能拿到许可证?", "answer": "承诺10个工作日。"}],
    }
    guide.update(overrides)
    return guide


async def call(api: Api, document: str, token: str, **input: Any) -> dict[str, Any]:
    data = await api.data(document, {"input": input}, token)
    result: dict[str, Any] = next(iter(data.values()))
    return result


async def draft(api: Api, token: str, *, task_type: str = "01", **guide: Any) -> dict[str, Any]:
    """A new DRAFT item with a complete guide (plus `guide` overrides); answers the item."""
    code = await fresh_service_code(task_type)
    created = await call(api, CREATE, token, serviceCode=code, name="食品经营许可（测试）", taskType=task_type)
    assert created["__typename"] == "ServiceItemChanged", created
    item_id = created["item"]["id"]
    updated = await call(api, UPDATE, token, serviceItemId=item_id, **valid_guide(**guide))
    assert updated["__typename"] == "ServiceItemChanged", updated
    item: dict[str, Any] = updated["item"]
    return item


async def published(api: Api, token: str, **guide: Any) -> dict[str, Any]:
    item = await draft(api, token, **guide)
    assert (await call(api, SUBMIT, token, serviceItemId=item["id"]))["__typename"] == "ServiceItemChanged"
    result = await call(api, PUBLISH, token, serviceItemId=item["id"])
    assert result["__typename"] == "ServiceItemChanged", result
    published_item: dict[str, Any] = result["item"]
    return published_item


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Only what an HTTP request runs: the in-process worker's crons and relays (payments' order polls, the
        # relays a handling step wakes) share this process and may fire mid-measurement, outside any request.
        if request_id_var.get() is not None:
            self.statements.append(record.getMessage())


@contextmanager
def counting_sql() -> Iterator[list[str]]:
    """The SQL statements the live server's requests (same process) run meanwhile, from Tortoise's client logger."""
    logger = logging.getLogger("tortoise.db_client")
    handler, level = _Counter(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
