"""Journeys a and b: sign in with the SMS sandbox; search "开饭店" and be guided to 食品经营许可."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.backend import Backend, resident_phone
from tests.browser.conftest import OpenDevice, Shot
from tests.browser.h5 import sign_in

# Resident 2 (李演示二, L3): nobody else in these journeys signs in as them.
SIGNING_IN = 2
# Resident 1 (张演示一) is the 法定代表人 of 云溪演示餐饮有限公司 (api/seed/enterprises.py): the restaurant owner.
RESTAURANT_OWNER = 1


def test_a_resident_signs_in_with_the_sms_sandbox(device: OpenDevice, backend: Backend, shot: Shot) -> None:
    phone = resident_phone(SIGNING_IN)
    page = device("phone").open("#/signin")
    shot(page, "signin-page")

    # given the phone typed and a code requested: the sandbox "sends" it
    page.get_by_test_id("signin-phone").fill(phone)
    seen = len(backend.sms_codes(phone))
    page.get_by_test_id("signin-request-code").click()
    code = backend.next_sms_code(phone, seen)
    shot(page, "code-requested")

    # when a wrong code is typed first, it is refused and the person stays on the sign-in page
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    page.get_by_test_id("signin-code").fill(wrong)
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("signin-error")).to_be_visible()
    expect(page.get_by_test_id("my-name")).to_have_count(0)
    shot(page, "wrong-code-refused")

    # and then the code the sandbox sent
    page.get_by_test_id("signin-code").fill(code)
    page.get_by_test_id("signin-submit").click()

    # then the person's own page greets them by their seeded name
    expect(page.get_by_test_id("my-name")).to_contain_text("李演示二")
    shot(page, "my-page")

    # and the session survives a reload (kept in the browser's storage)
    page.reload()
    expect(page.get_by_test_id("my-name")).to_contain_text("李演示二")


def test_b_search_kaifandian_and_navigate_to_food_business_licence(
    device: OpenDevice, backend: Backend, shot: Shot
) -> None:
    phone = device("phone")
    sign_in(phone.page, phone.h5, backend, RESTAURANT_OWNER)
    page = phone.open("#/search")

    # when the person searches in their own words
    page.get_by_test_id("search-input").fill("开饭店")
    page.get_by_test_id("search-submit").click()

    # then 食品经营许可 is among the hits (the 常用语 synonym of the catalog)
    hit = page.get_by_test_id("search-hit").filter(has_text="食品经营许可").first
    expect(hit).to_be_visible()
    shot(page, "search-hits")

    # when they open it
    hit.click()
    expect(page.get_by_test_id("guide-title")).to_contain_text("食品经营许可")
    shot(page, "guide")

    # and let the guided navigation ask its questions, answering each with its first option, until it says what
    # to prepare
    page.get_by_test_id("guide-navigate").click()
    unanswered = page.locator('[data-testid="nav-question"][data-chosen=""]')
    for _ in range(10):
        expect(page.get_by_test_id("nav-result").or_(page.get_by_test_id("nav-pending"))).to_be_visible()
        if page.get_by_test_id("nav-result").count():
            break
        asked = unanswered.count()
        # each question's options follow it in the same block
        unanswered.first.locator("xpath=following-sibling::*[1]").get_by_test_id("nav-option").first.click()
        expect(unanswered).not_to_have_count(asked)
    result = page.get_by_test_id("nav-result")
    expect(result).to_be_visible()
    result.scroll_into_view_if_needed()
    shot(page, "navigation-result")

    # then applying opens the form for the restaurant company, which the owner now acts for
    page.get_by_test_id("guide-apply").click()
    expect(page).to_have_url(re.compile(r"#/form/[0-9a-f-]+$"))
    expect(page.get_by_test_id("header-acting-as")).to_contain_text("云溪演示餐饮有限公司")
    shot(page, "form-for-the-company")
