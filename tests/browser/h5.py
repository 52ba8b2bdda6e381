"""Steps every journey shares, done the way a person does them on the H5 app (data-testids of the issue 8 contract)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.backend import Backend, resident_phone


def sign_in(page: Page, h5: str, backend: Backend, n: int) -> None:
    """Seeded resident n signs in with the SMS sandbox: phone, 获取验证码, the code the sandbox "sent", 登录."""
    phone = resident_phone(n)
    page.goto(f"{h5}#/signin")
    page.get_by_test_id("signin-phone").fill(phone)
    seen = len(backend.sms_codes(phone))
    page.get_by_test_id("signin-request-code").click()
    page.get_by_test_id("signin-code").fill(backend.next_sms_code(phone, seen))
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("header-name")).to_be_visible()


def field_id(path: str) -> str:
    """The form's input for a field path: `delivery/method` -> data-testid `field-delivery--method`."""
    return "field-" + path.replace("/", "--")


def set_field(page: Page, path: str, value: str) -> None:
    """Types (or picks) a value as a person does, then leaves the field: the form hands it to the draft on blur."""
    field = page.get_by_test_id(field_id(path))
    if field.evaluate("element => element.tagName") == "SELECT":
        field.select_option(value)
    else:
        field.fill(value)
    field.blur()


def submit_draft(page: Page) -> str:
    """提交申请 on the open form: waits for 已提交 and answers the new application's id from its link."""
    page.get_by_test_id("form-submit").click()
    submitted = page.get_by_test_id("form-submitted")
    expect(submitted).to_be_visible()
    link = submitted.get_by_test_id("form-application-link").get_attribute("href") or ""
    return link.rsplit("/", 1)[1]
