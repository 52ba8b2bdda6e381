"""Journey c: one draft on two devices. Phone A keeps editing offline while phone B changes the same field; back
online, A sees the conflict, keeps its own value, both devices agree, and A submits exactly what it shows."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.backend import Backend, replacement_card_form
from tests.browser.conftest import OpenDevice, Shot
from tests.browser.h5 import field_id, set_field, sign_in, submit_draft

# Resident 13 (胡演示十三, L2), the README's worked example of draft sync: the same item, the same field in conflict.
RESIDENT = 13
ITEM = "居民身份证补领"


def sync_state(page: Page, state: str) -> None:
    expect(page.get_by_test_id("sync-status")).to_have_attribute("data-state", state)


def test_c_offline_edits_meet_another_devices_edit_as_a_conflict_resolved_then_submitted(
    device: OpenDevice, backend: Backend, shot: Shot
) -> None:
    form = replacement_card_form(RESIDENT)
    phone_a, phone_b = device("phone-a"), device("phone-b")

    # given phone A starts the form from the item's guide and fills it in
    sign_in(phone_a.page, phone_a.h5, backend, RESIDENT)
    a = phone_a.open(f"#/guide/{backend.service_code(ITEM)}")
    a.get_by_test_id("guide-apply").click()
    expect(a).to_have_url(re.compile(r"#/form/[0-9a-f-]+$"))
    draft_id = a.url.rsplit("/", 1)[1]
    for path in ("applicant/name", "applicant/id_number", "applicant/mobile", "card/lost_date"):
        set_field(a, path, form[path])
    sync_state(a, "synced")
    shot(a, "a-filled-and-synced")

    # and phone B, the same person signed in on a second device, opens the same draft
    sign_in(phone_b.page, phone_b.h5, backend, RESIDENT)
    b = phone_b.open(f"#/form/{draft_id}")
    expect(b.get_by_test_id(field_id("applicant/name"))).to_have_value(form["applicant/name"])
    shot(b, "b-opens-the-draft")

    # when A goes offline and keeps editing: 邮寄, and a corrected 丢失日期
    phone_a.context.set_offline(True)
    set_field(a, "delivery/method", "邮寄")
    set_field(a, "card/lost_date", "2026-11-19")
    sync_state(a, "offline")
    expect(a.get_by_test_id("sync-status")).not_to_have_attribute("data-pending", "0")
    shot(a, "a-offline-edits-kept")

    # and B, online, chooses 窗口领取 for the same field
    set_field(b, "delivery/method", "窗口领取")
    sync_state(b, "synced")
    shot(b, "b-chooses-window")

    # then back online, A's 领取方式 meets B's: an open conflict, while the date (nobody else's edit) just applies
    phone_a.context.set_offline(False)
    conflict = a.get_by_test_id("conflict")
    expect(conflict).to_have_count(1)
    expect(conflict).to_have_attribute("data-path", "delivery/method")
    expect(conflict.get_by_test_id("conflict-server")).to_have_text("窗口领取")
    expect(conflict.get_by_test_id("conflict-candidate")).to_have_text("邮寄")
    shot(a, "a-sees-the-conflict")

    # and submitting is refused while it is open
    a.get_by_test_id("form-submit").click()
    expect(a.get_by_test_id("form-error")).to_have_attribute("data-code", "UNRESOLVED_CONFLICTS")

    # when A keeps its own value
    conflict.get_by_test_id("conflict-candidate").click()
    expect(a.get_by_test_id("conflict")).to_have_count(0)
    sync_state(a, "synced")
    expect(a.get_by_test_id(field_id("delivery/method"))).to_have_value("邮寄")
    shot(a, "a-resolved")

    # then B follows without a reload: the chosen value, no conflict left
    expect(b.get_by_test_id(field_id("delivery/method"))).to_have_value("邮寄")
    expect(b.get_by_test_id("conflict")).to_have_count(0)
    shot(b, "b-follows")

    # when A submits what it shows
    application_id = submit_draft(a)
    shot(a, "a-submitted")

    # then the application holds exactly that, once
    case = backend.application(application_id, backend.resident_token(RESIDENT))
    assert case["status"] == "SUBMITTED"
    assert case["formData"]["delivery"]["method"] == "邮寄"
    assert case["formData"]["card"]["lost_date"] == "2026-11-19"
