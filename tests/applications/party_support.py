"""Helpers of the tests that apply for someone else or for any seeded item (not only the named test items).

- `published(basic_code)`: the published version of a seeded item by its 基本编码.
- `apply(api, token, item, ...)`: submitApplication with a valid form and an upload for every required material.
- `acting_for(api, resident, enterprise_key)`: a token of a seeded resident switched by `actAs` to an enterprise.
- `for_enterprise(key)`: the `applicant` input naming a seeded enterprise.
"""

from __future__ import annotations

from typing import Any

from api.models import ServiceItem
from api.seed.context import seed_id
from tests.applications.support import SUBMIT, idempotency_key, resident_token, upload_materials, valid_form
from tests.support.client import Api

ACT_AS = """
mutation A($input: ActAsInput!) {
  actAs(input: $input) { __typename ... on AuthPayload { accessToken } ... on Error { code message path } }
}
"""


async def published(basic_code: str) -> ServiceItem:
    return await ServiceItem.get(task_code__endswith=basic_code, status="PUBLISHED")


async def apply(api: Api, token: str, item: ServiceItem, **overrides: Any) -> dict[str, Any]:
    """submitApplication for `item` with a valid form and an upload for every required material."""
    data: dict[str, Any] = {
        "idempotencyKey": idempotency_key(),
        "serviceCode": item.task_code,
        "channel": "APP",
        "formData": valid_form(item),
        "materials": await upload_materials(item),
    }
    data.update(overrides)
    result: dict[str, Any] = (await api.data(SUBMIT, {"input": data}, token))["submitApplication"]
    return result


async def acting_for(api: Api, resident: int, enterprise_key: str) -> str:
    """An access token of seeded resident `resident` acting for a seeded enterprise."""
    token = await resident_token(api, resident)
    variables = {"input": {"enterpriseId": str(seed_id("enterprise", enterprise_key))}}
    result = (await api.data(ACT_AS, variables, token))["actAs"]
    assert result["__typename"] == "AuthPayload", result
    access: str = result["accessToken"]
    return access


def for_enterprise(key: str) -> dict[str, Any]:
    return {"applicant": {"kind": "ENTERPRISE", "enterpriseId": str(seed_id("enterprise", key))}}
