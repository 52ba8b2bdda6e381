"""A draft's materials (sync-protocol.md §5 `materials/{slotKey}/files/{itemId}`) become the application's material
claims at SUBMIT: uploaded files per requirement, or a wallet licence named instead of paper."""

from __future__ import annotations

import hashlib
import uuid

from api.models import Application, ApplicationMaterial, MaterialRequirement, ProvidedVia
from api.models.sync import Blob, BlobStatus, SyncMutationStatus
from sync.contract import SyncErrorCode
from sync.merge import canonical, map_hash
from sync.spaces import space_of
from sync.submit_form import flatten
from tests.applications.support import PROMISED_ITEM, item_row, valid_form
from tests.support.client import Api
from tests.sync.test_push_kit import Device, op, person_claims
from tests.sync.test_push_submit import filled, person, submit


def _file(name: str) -> dict[str, object]:
    data = f"synthetic scan {name}".encode()
    return {
        "blobSha256": hashlib.sha256(data).hexdigest(),
        "name": f"{name}.pdf",
        "size": len(data),
        "mime": "application/pdf",
    }


async def test_material_files_become_the_applications_materials(api: Api) -> None:
    item = await item_row(PROMISED_ITEM)
    device = Device(api, person_claims(api, await person(api), level=3))
    values = flatten(valid_form(item))
    x = str(uuid.uuid4())
    created = await device.push(filled(device, item, x, values))
    assert created.results[0].status is SyncMutationStatus.APPLIED, created

    needed = await MaterialRequirement.filter(service_item_id=item.id, necessity="REQUIRED").order_by("order")
    assert needed, "the seeded 承诺件 asks for materials"
    refused = await device.push(submit(device, item, x, map_hash(values)))
    error = refused.results[0].error
    assert error is not None and error.code is SyncErrorCode.VALIDATION_FAILED, refused
    # Requirements the platform fetches itself (数据共享) are not the person's to provide.
    missing = [r for r in needed if f"materials/{r.id}" in (error.paths or [])]
    assert missing and set(error.paths or []) == {f"materials/{r.id}" for r in missing}
    needed = missing
    assert not await Application.filter(draft_id=x).exists()

    # Two pages of the first material, one file for each other one; the blobs are complete in the space.
    files = {f"materials/{r.id}/files/{uuid.uuid4()}": _file(f"m{i}") for i, r in enumerate(needed)}
    first = needed[0]
    files[f"materials/{first.id}/files/{uuid.uuid4()}"] = _file("m0-page2")
    space = space_of(device.claims)
    for value in files.values():
        sha = str(value["blobSha256"])
        await Blob.get_or_create(
            space_id=space, sha256=sha,
            defaults={"storage_key": f"blobs/{sha}", "size": value["size"], "mime": value["mime"],
                      "status": BlobStatus.COMPLETE},
        )  # fmt: skip
    unknown = f"materials/{uuid.uuid4()}/files/{uuid.uuid4()}"
    stray = await device.push(device.edit(x, op(unknown, _file("stray")), form=item.form_version))
    assert stray.results[0].status is SyncMutationStatus.APPLIED
    with_stray = {**values, **files, unknown: _file("stray")}
    await device.push(device.edit(x, *(op(path, value) for path, value in files.items()), form=item.form_version))
    wrong = await device.push(submit(device, item, x, map_hash(with_stray)))
    error = wrong.results[0].error
    # The blob of the stray file is not in the space, so the attachment check names it first.
    assert error is not None and error.code is SyncErrorCode.ATTACHMENT_INCOMPLETE and error.paths == [unknown]

    await device.push(device.edit(x, op(unknown, None, _file("stray")), form=item.form_version))
    complete = {**values, **files}
    done = await device.push(submit(device, item, x, map_hash(complete)))
    result = done.results[0]
    assert result.status is SyncMutationStatus.APPLIED, done
    app = await Application.get(id=result.application_id)
    assert canonical(flatten(app.form_data)) == canonical(complete)  # the person's copy keeps every file
    rows = {m.requirement_id: m for m in await ApplicationMaterial.filter(application_id=app.id)}
    for requirement in needed:
        row = rows[requirement.id]
        mine = sorted(path for path in files if path.startswith(f"materials/{requirement.id}/"))
        assert row.provided_via is ProvidedVia.UPLOAD
        assert row.file_id == f"blob:{files[mine[0]]['blobSha256']}"
