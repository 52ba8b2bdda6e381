"""Journey g: the issue's sequence on one enterprise application. The restaurant owner searches 开饭店, applies for
食品经营许可 for the company, fills it in and uploads the two materials (hashed in JS, sent in chunks), keeps editing
offline while a second phone acting for the same company changes the same field, resolves the conflict back online
and submits: the application belongs to the company, holds the chosen value and references both files by hash."""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from typing import Any

from playwright.sync_api import FilePayload, Page, expect

from tests.browser.backend import Backend, resident_phone
from tests.browser.conftest import OpenDevice, Shot
from tests.browser.h5 import field_id, set_field, sign_in, submit_draft

# Resident 1 (张演示一) is the 法定代表人 of 云溪演示餐饮有限公司 (api/seed/enterprises.py).
OWNER = 1
COMPANY = "云溪演示餐饮有限公司"
ITEM = "食品经营许可"
CONFLICTED = "business/premises_address"
APPLICATION = """
query A($id: ID!) {
  application(id: $id) {
    id status itemName formData applicant { name enterpriseId } materials { requirementId fileId }
  }
}
"""


def png() -> bytes:
    """A valid 2×2 PNG, made here so its hash is known without a file on disk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def pdf() -> bytes:
    """A minimal one-page PDF with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def sync_state(page: Page, state: str) -> None:
    expect(page.get_by_test_id("sync-status")).to_have_attribute("data-state", state)


def upload(page: Page, material: str, payload: FilePayload) -> str:
    """Chooses a file for the material whose name contains `material`, waits for its upload to finish and answers
    the material's requirement id (its file input is `field-materials--<requirementId>--files`)."""
    block = page.get_by_test_id("form-material").filter(has_text=material).first
    requirement = block.get_attribute("data-id") or ""
    block.get_by_test_id(f"field-materials--{requirement}--files").set_input_files(payload)
    expect(block.get_by_test_id("material-upload-status")).to_have_attribute("data-state", "done")
    expect(block.get_by_test_id("material-file").filter(has_text=payload["name"])).to_have_count(1)
    return requirement


def file_references(form_data: dict[str, Any]) -> dict[str, str]:
    """{requirementId: blobSha256} of every file a submitted form references (materials/<req>/files/<item>)."""
    found: dict[str, str] = {}
    for requirement, material in (form_data.get("materials") or {}).items():
        for reference in ((material or {}).get("files") or {}).values():
            found[reference["blobSha256"]] = requirement
    return found


def test_g_enterprise_draft_with_uploads_offline_conflict_resolved_and_submitted(
    device: OpenDevice, backend: Backend, shot: Shot
) -> None:
    layout, form_scan = png(), pdf()
    phone_a, phone_b = device("phone-a"), device("phone-b")

    # given the owner on phone A searches in their own words and opens 食品经营许可
    sign_in(phone_a.page, phone_a.h5, backend, OWNER)
    a = phone_a.open("#/search")
    a.get_by_test_id("search-input").fill("开饭店")
    a.get_by_test_id("search-submit").click()
    hit = a.get_by_test_id("search-hit").filter(has_text=ITEM).first
    expect(hit).to_be_visible()
    shot(a, "a-search-kaifandian")
    hit.click()
    expect(a.get_by_test_id("guide-title")).to_contain_text(ITEM)
    expect(a.get_by_test_id("guide-enterprise-only")).to_be_visible()
    shot(a, "a-guide")

    # when they apply: the H5 acts for the company and opens a draft in its space
    a.get_by_test_id("guide-apply").click()
    expect(a).to_have_url(re.compile(r"#/form/[0-9a-f-]+$"))
    draft_id = a.url.rsplit("/", 1)[1]
    expect(a.get_by_test_id("header-acting-as")).to_contain_text(COMPANY)
    expect(a.get_by_test_id(field_id("enterprise/name"))).to_have_value(COMPANY)
    expect(a.get_by_test_id(field_id("enterprise/uscc"))).not_to_have_value("")
    expect(a.get_by_test_id(field_id("contact/name"))).to_have_value("张演示一")
    set_field(a, "contact/mobile", resident_phone(OWNER))
    set_field(a, CONFLICTED, "云溪市演示路1号")
    set_field(a, "business/category", "餐饮服务经营者")
    sync_state(a, "synced")
    shot(a, "a-form-filled")

    # and upload the two materials through the page's file inputs: hashed in JS, sent in chunks, done
    form_requirement = upload(a, "申请表", {"name": "申请表.pdf", "mimeType": "application/pdf", "buffer": form_scan})
    layout_requirement = upload(a, "平面布局图", {"name": "平面布局图.png", "mimeType": "image/png", "buffer": layout})
    sync_state(a, "synced")
    a.get_by_test_id("form-materials").scroll_into_view_if_needed()
    shot(a, "a-materials-uploaded")

    # and phone B, the owner signed in separately and acting for the same company, opens that draft from its list
    sign_in(phone_b.page, phone_b.h5, backend, OWNER)
    b = phone_b.open("#/")
    b.get_by_test_id("my-enterprise").filter(has_text=COMPANY).get_by_test_id("my-act-as").click()
    expect(b.get_by_test_id("my-acting-as")).to_contain_text(COMPANY)
    b = phone_b.open("#/drafts")
    b.locator(f'[data-testid="draft-item"][data-id="{draft_id}"]').get_by_test_id("draft-open").click()
    expect(b.get_by_test_id(field_id(CONFLICTED))).to_have_value("云溪市演示路1号")
    expect(b.get_by_test_id("material-file")).to_have_count(2)
    shot(b, "b-opens-the-company-draft")

    # when A goes offline and keeps editing the address
    phone_a.context.set_offline(True)
    set_field(a, CONFLICTED, "云溪市演示路2号（A）")
    sync_state(a, "offline")
    expect(a.get_by_test_id("sync-status")).not_to_have_attribute("data-pending", "0")
    shot(a, "a-offline-edit-kept")

    # and B, online, changes the same field
    set_field(b, CONFLICTED, "云溪市演示路3号（B）")
    sync_state(b, "synced")
    shot(b, "b-changes-the-address")

    # then back online, A shows the conflict between the two addresses
    phone_a.context.set_offline(False)
    conflict = a.get_by_test_id("conflict")
    expect(conflict).to_have_count(1)
    expect(conflict).to_have_attribute("data-path", CONFLICTED)
    expect(conflict.get_by_test_id("conflict-server")).to_have_text("云溪市演示路3号（B）")
    expect(conflict.get_by_test_id("conflict-candidate")).to_have_text("云溪市演示路2号（A）")
    shot(a, "a-sees-the-conflict")

    # when A keeps its own address
    conflict.get_by_test_id("conflict-candidate").click()
    expect(a.get_by_test_id("conflict")).to_have_count(0)
    sync_state(a, "synced")
    expect(a.get_by_test_id(field_id(CONFLICTED))).to_have_value("云溪市演示路2号（A）")
    expect(b.get_by_test_id(field_id(CONFLICTED))).to_have_value("云溪市演示路2号（A）")
    shot(a, "a-resolved")

    # and submits
    application_id = submit_draft(a)
    shot(a, "a-submitted")

    # then the 市场监管 handler sees the company's application with the chosen address and both files by hash
    token = backend.operator_token("handler.scjg")
    case = backend.graphql(APPLICATION, {"id": application_id}, token)["application"]
    assert case["itemName"] == ITEM and case["status"] == "SUBMITTED", case
    assert case["applicant"]["name"] == COMPANY and case["applicant"]["enterpriseId"], case["applicant"]
    assert case["formData"]["business"]["premises_address"] == "云溪市演示路2号（A）"
    expected = {
        hashlib.sha256(form_scan).hexdigest(): form_requirement,
        hashlib.sha256(layout).hexdigest(): layout_requirement,
    }
    assert file_references(case["formData"]) == expected
    attached = {m["requirementId"]: m["fileId"] for m in case["materials"] if m["fileId"]}
    assert attached == {requirement: f"blob:{sha}" for sha, requirement in expected.items()}, case["materials"]
