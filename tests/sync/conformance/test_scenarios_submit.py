"""S14–S17 (sync-protocol.md §14): SUBMIT in the mutation stream (§10) and attachments that block it (§11)."""

from __future__ import annotations

from datetime import timedelta

from api.models import Application, ApplicationChannel
from api.models.sync import Upload
from sync.merge import canonical, map_hash
from tests.support.client import Session
from tests.support.sync_device import SyncDevice
from tests.support.sync_invariants import check_invariants, field_map, flatten
from tests.sync.conformance.conftest import OpenDevice
from tests.sync.conformance.gc import expire_uploads_at
from tests.sync.conformance.support import SyncItem, error_code, result, seeded_draft, server_draft, statuses
from tests.sync.conformance.uploads import (
    MIB,
    complete_upload,
    create_upload,
    photo,
    read_upload,
    reference,
    send_chunks,
)

FILLED = {"f1": "张三", "f2": "110101199001011234", "members/m1/name": "李四"}


async def submitted_draft(item: SyncItem, d1: SyncDevice, *others: SyncDevice) -> tuple[str, str]:
    """S14: an EDIT and the SUBMIT of the content it produces, in one batch."""
    draft_id = await seeded_draft(item, d1, FILLED, *others)
    edit = d1.set(draft_id, "f5", "x")
    expected = d1.content_hash(draft_id)
    assert expected == map_hash({**FILLED, "f5": "x"})
    submit = d1.submit(draft_id)
    assert d1.mutations[submit]["expectedContentHash"] == expected
    answer = await d1.push()
    assert statuses(answer) == [(edit, "APPLIED"), (submit, "APPLIED")]
    application_id = result(answer, submit)["applicationId"]
    assert application_id, answer
    return draft_id, application_id


async def test_s14_submit_with_pending_edits_in_the_same_batch(
    sync_item: SyncItem, person: Session, open_device: OpenDevice
) -> None:
    d1 = await open_device(person, "WECHAT_MP")
    draft_id, application_id = await submitted_draft(sync_item, d1)
    app = await Application.get(id=application_id)
    draft = await server_draft(draft_id)
    fields = await field_map(draft_id)
    assert fields == {**FILLED, "f5": "x"}
    assert str(app.draft_id) == draft_id and app.task_code == sync_item.service_code
    assert app.content_hash == draft.content_hash == map_hash(fields)
    assert canonical(flatten(app.form_data)) == canonical(fields)
    assert app.channel is ApplicationChannel.WECHAT_MP
    assert str(app.applicant_person_id) == person.person_id
    pulled = await d1.pull()
    change = pulled.draft(draft_id)
    assert change is not None and (change["status"], change["applicationId"]) == ("SUBMITTED", application_id)
    await check_invariants(d1)


async def test_s15_submit_of_an_unseen_change(sync_item: SyncItem, person: Session, open_device: OpenDevice) -> None:
    d1, d2 = await open_device(person, "APP_IOS"), await open_device(person, "WECHAT_MP")
    draft_id = await seeded_draft(sync_item, d1, FILLED, d2)
    expected = d1.content_hash(draft_id)
    change = d2.set(draft_id, "f2", "110101199001015678")
    assert result(await d2.push(), change)["status"] == "APPLIED"

    submit = d1.submit(draft_id, expected)
    answer = await d1.push()
    assert error_code(answer, submit) == "CONTENT_CHANGED"
    assert result(answer, submit)["error"]["paths"] == ["f2"]
    assert result(answer, submit)["applicationId"] is None
    assert not await Application.exists(draft_id=draft_id)
    assert (await server_draft(draft_id)).status.value == "EDITING"
    await check_invariants(d1, d2)


async def test_s16_edit_after_the_other_device_submitted(
    sync_item: SyncItem, person: Session, open_device: OpenDevice
) -> None:
    d1, d2 = await open_device(person, "APP_IOS"), await open_device(person, "ALIPAY_MP")
    draft_id, application_id = await submitted_draft(sync_item, d1, d2)
    before = await Application.get(id=application_id)

    edit = d2.set(draft_id, "f1", "王五")
    answer = await d2.push()
    assert error_code(answer, edit) == "DRAFT_SUBMITTED"
    assert result(answer, edit)["applicationId"] == application_id
    [entry] = await d2.quarantined(draft_id)
    assert (entry["mutationId"], entry["reason"]) == (edit, "DRAFT_SUBMITTED")
    after = await Application.get(id=application_id)
    assert (after.form_data, after.content_hash, after.status) == (before.form_data, before.content_hash, before.status)
    assert (await field_map(draft_id))["f1"] == "张三"
    await check_invariants(d1, d2)


async def test_s17_submit_blocked_by_an_attachment(
    sync_item: SyncItem, person: Session, open_device: OpenDevice
) -> None:
    d1 = await open_device(person)
    draft_id = await seeded_draft(sync_item, d1, FILLED)
    data = photo(2 * MIB + 17)
    upload = await create_upload(d1, data)
    assert upload["status"] == "PENDING", upload
    await send_chunks(d1, upload["id"], data, range(1))
    d1.set(draft_id, "photo", reference(data))
    blocked = d1.submit(draft_id)
    answer = await d1.push()
    assert error_code(answer, blocked) == "ATTACHMENT_INCOMPLETE"
    assert result(answer, blocked)["error"]["paths"] == ["photo"]
    await d1.pull()
    assert d1.base[draft_id].attachments == [
        {"path": "photo", "blobSha256": reference(data)["blobSha256"], "status": "PENDING"}
    ]

    await send_chunks(d1, upload["id"], data, range(1, 3))
    assert (await complete_upload(d1, upload["id"]))["status"] == "COMPLETE"
    await d1.pull()
    assert [a["status"] for a in d1.base[draft_id].attachments] == ["COMPLETE"]
    retry = d1.submit(draft_id)
    submitted = result(await d1.push(), retry)
    assert submitted["status"] == "APPLIED" and submitted["applicationId"], submitted
    await check_invariants(d1)


async def test_s17_variant_expired_upload_still_blocks(
    sync_item: SyncItem, person: Session, open_device: OpenDevice
) -> None:
    d1 = await open_device(person)
    draft_id = await seeded_draft(sync_item, d1, FILLED)
    data = photo(MIB + 3)
    upload = await create_upload(d1, data)
    await send_chunks(d1, upload["id"], data, range(1))
    d1.set(draft_id, "photo", reference(data))
    assert [s for _, s in statuses(await d1.push())] == ["APPLIED"]
    await d1.pull()
    version_before = d1.base[draft_id].version

    row = await Upload.get(id=upload["id"])
    assert await expire_uploads_at(d1.api.live, row.expires_at + timedelta(minutes=1)) >= 1
    found = await read_upload(d1, upload["id"])
    assert found is not None and found["status"] == "EXPIRED"
    blocked = d1.submit(draft_id)
    answer = await d1.push()
    assert error_code(answer, blocked) == "ATTACHMENT_INCOMPLETE"
    assert result(answer, blocked)["error"]["paths"] == ["photo"]
    assert not await Application.exists(draft_id=draft_id)
    await d1.pull()
    assert d1.base[draft_id].version > version_before  # the status change bumped the referencing draft
    assert [a["status"] for a in d1.base[draft_id].attachments] == ["EXPIRED"], "the upload itself is EXPIRED"
    await check_invariants(d1)
