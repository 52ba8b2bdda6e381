"""The README's worked example of draft sync, step by step, on the seed of `make run`: resident 13 fills the
居民身份证补领 form on the app and in the WeChat mini-program, both devices choose a different 领取方式 offline, the
conflict is shown, resolved and the draft submitted once. The documents are the README's."""

from __future__ import annotations

import uuid
from typing import Any

from api.models import Application, ItemStatus, ServiceItem
from api.models.sync import SyncQuarantine
from sync.merge import map_hash, value_hash
from tests.support.client import Api

RESIDENT_13 = "19900000013"  # 胡演示十三, L2
ITEM = "居民身份证补领"

PUSH = """mutation Push($input: SyncPushInput!) {
  syncPush(input: $input) {
    ... on SyncPushPayload { lastMutationId
      results { id status draftVersion applicationId
        conflicts { id path serverValue candidates { clientId value } }
        error { code paths } } }
    ... on SyncPushRejected { code message path } } }"""
PULL = """query Pull($input: SyncPullInput!) {
  syncPull(input: $input) {
    ... on SyncPullPayload { cursor hasMore reset snapshotVersion
      drafts { draftId status version contentHash fields { path value } openConflicts { id path } applicationId } }
    ... on SyncPullRejected { code message } } }"""


def _set(path: str, value: Any, seen: Any = None) -> dict[str, Any]:
    return {"path": path, "kind": "SET", "value": value, "baseHash": value_hash(seen)}


async def _push(api: Api, token: str, client: str, platform: str, *mutations: dict[str, Any]) -> dict[str, Any]:
    variables = {
        "input": {"clientId": client, "platform": platform, "protocolVersion": 1, "mutations": list(mutations)}
    }
    answer: dict[str, Any] = (await api.data(PUSH, variables, token))["syncPush"]
    return answer


async def _pull(api: Api, token: str, client: str, cursor: str | None) -> dict[str, Any]:
    variables = {"input": {"clientId": client, "protocolVersion": 1, "cursor": cursor}}
    answer: dict[str, Any] = (await api.data(PULL, variables, token))["syncPull"]
    assert answer["hasMore"] is False
    return answer


async def test_two_devices_one_conflict_resolution_and_submit(api: Api) -> None:
    item = await ServiceItem.get(name=ITEM, status=ItemStatus.PUBLISHED)
    # One sign-in serves both devices here (a code per minute per phone); the server tells them apart by clientId.
    app = mini = (await api.sign_in(RESIDENT_13)).access_token
    c_a, c_b, x = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    form = {
        "applicant/name": "胡演示十三",
        "applicant/id_number": "110101199001011234",
        "applicant/mobile": "19900000013",
        "card/lost_date": "2026-11-20",
    }

    # 1. The app creates the draft with four fields.
    created = await _push(api, app, c_a, "APP_IOS", {
        "id": 1, "draftId": x, "type": "CREATE_DRAFT", "serviceCode": item.task_code, "formVersion": item.form_version,
        "ops": [_set(path, value) for path, value in form.items()],
    })  # fmt: skip
    assert created["lastMutationId"] == 1 and created["results"][0]["status"] == "APPLIED"

    # 2. The mini-program pulls it: a reset (no cursor yet), the whole draft.
    first = await _pull(api, mini, c_b, None)
    assert first["reset"] is True
    [draft] = [d for d in first["drafts"] if d["draftId"] == x]
    assert {f["path"]: f["value"] for f in draft["fields"]} == form

    # 3. Offline, the app chooses 邮寄 and the mini-program 窗口领取; the app reaches the server first.
    by_post = await _push(api, app, c_a, "APP_IOS", {
        "id": 2, "draftId": x, "type": "EDIT", "formVersion": item.form_version,
        "ops": [_set("delivery/method", "邮寄")],
    })  # fmt: skip
    assert by_post["results"][0]["status"] == "APPLIED"
    at_window = await _push(api, mini, c_b, "WECHAT_MP", {
        "id": 1, "draftId": x, "type": "EDIT", "formVersion": item.form_version,
        "ops": [_set("delivery/method", "窗口领取")],
    })  # fmt: skip
    result = at_window["results"][0]
    assert result["status"] == "APPLIED_WITH_CONFLICTS"
    [conflict] = result["conflicts"]
    assert conflict["path"] == "delivery/method" and conflict["serverValue"] == "邮寄"
    assert conflict["candidates"] == [{"clientId": c_b, "value": "窗口领取"}]

    # 4. Submitting now is refused: a person has to choose.
    content = map_hash({**form, "delivery/method": "邮寄"})
    blocked = await _push(api, app, c_a, "APP_IOS", {
        "id": 3, "draftId": x, "type": "SUBMIT", "formVersion": item.form_version,
        "baseDraftVersion": by_post["results"][0]["draftVersion"], "expectedContentHash": content,
    })  # fmt: skip
    assert blocked["results"][0]["error"] == {"code": "UNRESOLVED_CONFLICTS", "paths": ["delivery/method"]}

    # 5. On the mini-program the person keeps 窗口领取: RESOLVE_CONFLICT over the server's value.
    resolved = await _push(api, mini, c_b, "WECHAT_MP", {
        "id": 2, "draftId": x, "type": "RESOLVE_CONFLICT", "formVersion": item.form_version,
        "conflictId": conflict["id"], "ops": [_set("delivery/method", "窗口领取", "邮寄")],
    })  # fmt: skip
    assert resolved["results"][0]["status"] == "APPLIED"

    # 6. The app pulls from its own first cursor and submits what it now shows.
    seen = await _pull(api, app, c_a, None)
    [mine] = [d for d in seen["drafts"] if d["draftId"] == x]
    shown = {f["path"]: f["value"] for f in mine["fields"]}
    assert shown == {**form, "delivery/method": "窗口领取"} and mine["openConflicts"] == []
    assert mine["contentHash"] == map_hash(shown)
    submitted = await _push(api, app, c_a, "APP_IOS", {
        "id": 4, "draftId": x, "type": "SUBMIT", "formVersion": item.form_version,
        "baseDraftVersion": mine["version"], "expectedContentHash": map_hash(shown),
    })  # fmt: skip
    application_id = submitted["results"][0]["applicationId"]
    assert submitted["results"][0]["status"] == "APPLIED" and application_id

    # 7. The mini-program, unaware, edits once more: refused and set aside, never applied to the application.
    late = await _push(api, mini, c_b, "WECHAT_MP", {
        "id": 3, "draftId": x, "type": "EDIT", "formVersion": item.form_version,
        "ops": [_set("card/lost_date", "2026-11-19", "2026-11-20")],
    })  # fmt: skip
    assert late["results"][0]["status"] == "REJECTED"
    assert late["results"][0]["error"]["code"] == "DRAFT_SUBMITTED"
    assert late["results"][0]["applicationId"] == application_id
    assert await SyncQuarantine.filter(draft_id=x, mutation_id=3).count() == 1
    application = await Application.get(id=application_id)
    assert application.content_hash == map_hash(shown) and application.draft_id == uuid.UUID(x)
