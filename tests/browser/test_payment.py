"""Journey d: a case awaiting its fee; the resident pays it on Alipay WAP in the sandbox cashier, comes back to the
app and watches the case leave 待缴费."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.backend import Backend, seeded_application
from tests.browser.conftest import OpenDevice, Shot
from tests.browser.h5 import sign_in

# Resident 8 (黄演示八, L2: paying needs L2) and the seed's case `payment-1` of theirs: 普通护照签发, accepted, then
# charged ¥140.00 by 市公安局 (api/seed/bills.py).
RESIDENT, CASE = 8, "payment-1"
BILLS = "query { myBills(first: 20) { edges { node { id status amountYuan applicationId } } } }"


def test_d_pay_the_fee_in_the_sandbox_cashier_and_the_case_moves_on(
    device: OpenDevice, backend: Backend, shot: Shot
) -> None:
    # given the case awaiting its fee, and the fee's bill unpaid
    token = backend.resident_token(RESIDENT)
    case_id = seeded_application(CASE)
    assert backend.application(case_id, token)["status"] == "PENDING_PAYMENT"
    bills = [edge["node"] for edge in backend.graphql(BILLS, token=token)["myBills"]["edges"]]
    [bill] = [bill for bill in bills if bill["applicationId"] == case_id]
    assert (bill["status"], bill["amountYuan"]) == ("UNPAID", "140.00")

    # when the resident opens the case: 待缴费 with a pay button
    phone = device("phone")
    sign_in(phone.page, phone.h5, backend, RESIDENT)
    page = phone.open("#/applications")
    case = page.locator(f'[data-testid="application-item"][data-id="{case_id}"]')
    expect(case).to_have_attribute("data-status", "PENDING_PAYMENT")
    case.get_by_role("link").click()
    expect(page.get_by_test_id("app-status")).to_have_attribute("data-status", "PENDING_PAYMENT")
    shot(page, "case-awaits-payment")
    page.get_by_test_id("app-pay").click()
    expect(page.get_by_test_id("pay-amount")).to_contain_text(bill["amountYuan"])
    shot(page, "bill")

    # and pays with Alipay (WAP): the browser goes to the sandbox cashier
    page.get_by_test_id("pay-channel-alipay").click()
    page.get_by_test_id("pay-submit").click()
    page.wait_for_url("**/sandbox/alipay/**")
    expect(page.locator("#amount")).to_have_text(bill["amountYuan"])
    shot(page, "sandbox-cashier")
    page.locator("#pay").click()
    expect(page.get_by_text("支付成功")).to_be_visible()
    shot(page, "cashier-paid")

    # and comes back the way Alipay sends a WAP payer back: the cashier leads to the merchant's return page, then
    # the payer returns to the app
    page.wait_for_url(f"{backend.base_url}/pay/return", timeout=10_000)
    page.get_by_test_id("pay-return-back").click()
    expect(page.get_by_test_id("pay-status")).to_have_attribute("data-status", "PAID")
    shot(page, "payment-confirmed")

    # then the case has left 待缴费 (applications' relay read payments.bill_paid)
    page.get_by_test_id("pay-back-to-application").click()
    status = page.get_by_test_id("app-status")
    expect(status).to_be_visible()
    for _ in range(30):
        if status.get_attribute("data-status") != "PENDING_PAYMENT":
            break
        page.wait_for_timeout(1000)
        page.reload()
    expect(status).to_have_attribute("data-status", "IN_PROGRESS")
    expect(page.get_by_test_id("app-pay")).to_have_count(0)
    shot(page, "case-moved-on")
