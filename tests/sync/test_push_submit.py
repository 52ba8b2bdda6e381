"""SUBMIT (sync-protocol.md §10): a draft becomes exactly one application through the submitApplication service,
inside a savepoint of the mutation's transaction, with the draft's field map byte for byte."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Any

import orjson
import pytest

from api.applications import submission
from api.kit.errors import Conflict
from api.models import Application, ServiceItem
from api.models.sync import (
    Draft,
    DraftStatus,
    Platform,
    SyncClient,
    SyncMutationResult,
    SyncMutationStatus,
    SyncQuarantine,
)
from sync import corrections
from sync.contract import MutationIn, SyncErrorCode, SyncMutationType
from sync.merge import canonical, map_hash
from sync.submit_form import flatten, nested
from tests.applications.handling_support import done
from tests.applications.party_support import acting_for, published
from tests.applications.support import DEPARTMENT_OF, PROMISED_ITEM, handler_token, item_row, valid_form
from tests.support.client import Api
from tests.sync.test_push_kit import Device, op, person_claims

FILE = {"type": "object", "x-field-type": "file"}
FOOD_LICENCE = "990100002000"  # 食品经营许可, for enterprises
RESTAURANT = "canyin"  # legal representative: resident 1; 经办人 resident 4, authorized for other services


async def clone_item(*, min_level: int = 1, with_photo: bool = False, source: ServiceItem | None = None) -> ServiceItem:
    """A copy of a seeded 承诺件 under a fresh 实施编码 and without material requirements: a draft carries no
    materials, and its form is the item's JSON Schema (the template the registry derives from it)."""
    item = source or await item_row(PROMISED_ITEM)
    columns = {name: getattr(item, name) for name in item._meta.fields_db_projection if name != "id"}
    columns["task_code"] = item.task_code[:-8] + secrets.token_hex(4).upper()
    columns["min_assurance_level"] = min_level
    if with_photo:
        schema = dict(item.form_schema)
        columns["form_schema"] = {**schema, "properties": {**schema["properties"], "photo": FILE}}
    clone = ServiceItem(id=uuid.uuid4(), **columns)
    await clone.save(force_create=True)
    return clone


async def person(api: Api) -> uuid.UUID:
    return uuid.UUID((await api.sign_in()).person_id)


def filled(device: Device, item: ServiceItem, draft_id: str, values: dict[str, Any]) -> MutationIn:
    m = MutationIn(
        id=device.next_id,
        draft_id=draft_id,
        type=SyncMutationType.CREATE_DRAFT,
        form_version=item.form_version,
        service_code=item.task_code,
        ops=[op(path, value) for path, value in values.items()],
    )
    device.next_id += 1
    return m


def submit(device: Device, item: ServiceItem, draft_id: str, content: str, base: int = 0) -> MutationIn:
    return device.mutation(
        SyncMutationType.SUBMIT,
        draft_id,
        form=item.form_version,
        base_draft_version=str(base),
        expected_content_hash=content,
    )


async def test_submit_after_edits_in_the_same_batch_makes_one_application(api: Api) -> None:
    item = await clone_item()
    device = Device(api, person_claims(api, await person(api)))
    values = flatten(valid_form(item))
    x = str(uuid.uuid4())
    *rest, last = sorted(values)
    create = filled(device, item, x, {path: values[path] for path in rest})
    edit = MutationIn(
        id=device.next_id, draft_id=x, type=SyncMutationType.EDIT, form_version=item.form_version,
        ops=[op(last, values[last])],
    )  # fmt: skip
    device.next_id += 1
    send = submit(device, item, x, map_hash(values))
    answer = await device.push(create, edit, send)
    result = answer.results[2]
    assert result.status is SyncMutationStatus.APPLIED, result
    assert result.application_id is not None
    app = await Application.get(id=result.application_id)
    assert app.draft_id == uuid.UUID(x) and app.content_hash == map_hash(values)
    assert canonical(flatten(app.form_data)) == canonical(values)
    assert app.channel.value == "APP"
    draft = await Draft.get(id=x)
    assert draft.status is DraftStatus.SUBMITTED and draft.application_id == app.id

    # The same SUBMIT again is a replay; a new one answers with the existing application.
    replay = await device.push(send)
    assert replay.results[0].replayed and replay.results[0].application_id == app.id
    again = await device.push(submit(device, item, x, map_hash(values)))
    orjson.dumps(again)  # plain values only (no driver types)
    error = again.results[0].error
    assert error is not None and error.code is SyncErrorCode.ALREADY_SUBMITTED
    assert again.results[0].application_id == app.id
    late = await device.push(device.edit(x, op(last, "改", values[last]), form=item.form_version))
    assert late.results[0].error is not None and late.results[0].error.code is SyncErrorCode.DRAFT_SUBMITTED
    assert late.results[0].application_id == app.id
    assert await SyncQuarantine.filter(draft_id=x).count() == 1
    assert await Application.filter(draft_id=x).count() == 1


async def test_refused_submission_leaves_no_application_but_commits_the_result(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = await clone_item()
    device = Device(api, person_claims(api, await person(api)))
    values = flatten(valid_form(item))
    x = str(uuid.uuid4())
    await device.push(filled(device, item, x, values))

    async def fail_after_the_row(*args: Any, **kwargs: Any) -> None:
        assert await Application.filter(draft_id=x).exists()  # the row was written inside the savepoint
        raise Conflict("refused after the application row was written", code="ITEM_SUSPENDED")

    monkeypatch.setattr(submission, "_record_submit", fail_after_the_row)
    answer = await device.push(submit(device, item, x, map_hash(values)))
    monkeypatch.undo()
    error = answer.results[0].error
    assert error is not None and error.code is SyncErrorCode.SERVICE_CLOSED, answer
    assert answer.last_mutation_id == 2
    assert not await Application.filter(draft_id=x).exists()
    assert (await SyncClient.get(client_id=device.client_id)).last_mutation_id == 2
    assert (
        await SyncMutationResult.get(client_id=device.client_id, mutation_id=2)
    ).status is SyncMutationStatus.REJECTED
    assert (await Draft.get(id=x)).status is DraftStatus.EDITING
    assert not await SyncQuarantine.filter(draft_id=x).exists()  # SUBMIT has no ops to set aside

    retry = await device.push(submit(device, item, x, map_hash(values)))
    assert retry.results[0].status is SyncMutationStatus.APPLIED


async def test_submit_checks_in_order(api: Api) -> None:
    item = await clone_item(min_level=3, with_photo=True)
    owner = await person(api)
    d1, d2 = Device(api, person_claims(api, owner)), Device(api, person_claims(api, owner))
    values = {path: v for path, v in flatten(valid_form(item)).items() if path != "photo"}  # optional, set below
    x = str(uuid.uuid4())
    created = await d1.push(filled(d1, item, x, values))
    assert created.results[0].status is SyncMutationStatus.APPLIED, created
    seen = created.results[0].draft_version or 0
    field = "applicant/name"
    assert field in values
    await d2.push(MutationIn(
        id=d2.next_id, draft_id=x, type=SyncMutationType.EDIT, form_version=item.form_version,
        ops=[op(field, "别的", values[field])],
    ))  # fmt: skip
    d2.next_id += 1

    stale = await d1.push(submit(d1, item, x, map_hash(values), seen))
    error = stale.results[0].error
    assert error is not None and error.code is SyncErrorCode.CONTENT_CHANGED and error.paths == [field]

    current = {**values, field: "别的"}
    photo = {"blobSha256": "ab" * 32, "name": "a.jpg", "size": 3, "mime": "image/jpeg"}
    await d1.push(MutationIn(
        id=d1.next_id, draft_id=x, type=SyncMutationType.EDIT, form_version=item.form_version,
        ops=[op("photo", photo)],
    ))  # fmt: skip
    d1.next_id += 1
    current["photo"] = photo
    pending = await d1.push(submit(d1, item, x, map_hash(current)))
    error = pending.results[0].error
    assert error is not None and error.code is SyncErrorCode.ATTACHMENT_INCOMPLETE and error.paths == ["photo"]

    await d1.push(MutationIn(
        id=d1.next_id, draft_id=x, type=SyncMutationType.EDIT, form_version=item.form_version,
        ops=[op("photo", None, photo)],
    ))  # fmt: skip
    d1.next_id += 1
    del current["photo"]
    low = await d1.push(submit(d1, item, x, map_hash(current)))
    error = low.results[0].error
    assert error is not None and error.code is SyncErrorCode.ASSURANCE_TOO_LOW

    d1.claims = person_claims(api, owner, level=3)
    missing = {path: value for path, value in current.items() if path != field}
    await d1.push(MutationIn(
        id=d1.next_id, draft_id=x, type=SyncMutationType.EDIT, form_version=item.form_version,
        ops=[op(field, None, "别的")],
    ))  # fmt: skip
    d1.next_id += 1
    invalid = await d1.push(submit(d1, item, x, map_hash(missing)))
    error = invalid.results[0].error
    assert error is not None and error.code is SyncErrorCode.VALIDATION_FAILED and error.paths == [field]
    assert not await Application.filter(draft_id=x).exists()


def test_form_data_nests_paths_and_flattens_back() -> None:
    values = {
        "applicant/name": "张三",
        "members/m1/name": "李四",
        "members/m1/_order": "a0",
        "photo": {"blobSha256": "ab" * 32, "name": "a.jpg", "size": 3, "mime": "image/jpeg"},
    }
    form = nested(values)
    assert form["members"] == {"m1": {"name": "李四", "_order": "a0"}}
    assert flatten(form) == values


async def test_precheck_return_reopens_the_draft_for_correction(api: Api) -> None:
    item = await clone_item()
    session = await api.sign_in()
    device = Device(api, person_claims(api, uuid.UUID(session.person_id)))
    values = flatten(valid_form(item))
    x = str(uuid.uuid4())
    answer = await device.push(filled(device, item, x, values), submit(device, item, x, map_hash(values)))
    application_id = answer.results[1].application_id
    assert application_id is not None
    handler = await handler_token(api, DEPARTMENT_OF[PROMISED_ITEM])
    items = [{"name": "申请表", "reason": "姓名写错了"}]
    await done(api, handler, "returnApplicationPrecheck", applicationId=str(application_id), items=items)
    submitted_version = (await Draft.get(id=x)).version

    # The return woke the relays, so the embedded run's in-process worker may reopen the draft first; this run does
    # it where no worker runs in the process (the server run).
    await corrections.relay_corrections({"clock": api.live.clock})
    draft = await Draft.get(id=x)
    for _ in range(100):
        if draft.status is DraftStatus.CORRECTION:
            break
        await asyncio.sleep(0.05)
        draft = await Draft.get(id=x)
    assert draft.status is DraftStatus.CORRECTION and draft.version > submitted_version
    assert await corrections.reopen(str(application_id), None) is None  # a second delivery changes nothing

    fixed = {**values, "applicant/name": "改正"}
    edit = device.edit(x, op("applicant/name", "改正", values["applicant/name"]), form=item.form_version)
    again = await device.push(edit, submit(device, item, x, map_hash(fixed)))
    assert [r.status for r in again.results] == [SyncMutationStatus.APPLIED] * 2, again
    assert again.results[1].application_id == application_id
    app = await Application.get(id=application_id)
    assert app.status.value == "SUBMITTED" and app.content_hash == map_hash(fixed)
    assert canonical(flatten(app.form_data)) == canonical(fixed)
    assert await Application.filter(draft_id=x).count() == 1
    assert (await Draft.get(id=x)).status is DraftStatus.SUBMITTED


async def test_enterprise_drafts_apply_in_the_enterprises_name_and_agents_need_scope(api: Api) -> None:
    item = await clone_item(source=await published(FOOD_LICENCE))
    tokens = api.live.app.state.services.identity.tokens
    representative = tokens.verify(await acting_for(api, 1, RESTAURANT))
    agent = tokens.verify(await acting_for(api, 4, RESTAURANT))  # authorized for other services, not the clone
    assert representative.acting_as_enterprise_id == agent.acting_as_enterprise_id is not None
    values = flatten(valid_form(item))
    x = str(uuid.uuid4())
    by_agent = Device(api, agent, platform=Platform.WECHAT_MP)
    refused = await by_agent.push(filled(by_agent, item, x, values), submit(by_agent, item, x, map_hash(values)))
    error = refused.results[1].error
    assert error is not None and error.code is SyncErrorCode.AGENT_OUT_OF_SCOPE, refused
    assert not await Application.filter(draft_id=x).exists()

    by_representative = Device(api, representative, platform=Platform.WECHAT_MP)
    done_ = await by_representative.push(submit(by_representative, item, x, map_hash(values)))
    result = done_.results[0]
    assert result.status is SyncMutationStatus.APPLIED and result.application_id is not None, done_
    app = await Application.get(id=result.application_id)
    assert app.applicant_enterprise_id == representative.acting_as_enterprise_id
    assert app.channel.value == "WECHAT_MP" and app.agent_person_id is None
