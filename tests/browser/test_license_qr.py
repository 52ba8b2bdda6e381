"""Journey f: the holder shows a licence's QR (亮证) and a verifier's device checks it (扫码核验) with the seeded
verifier app's credentials; the token is single-scan, so a second check of the same payload fails."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from api.seed.operators import VERIFIER_CLIENT_ID, VERIFIER_CREDENTIAL
from tests.browser.backend import Backend
from tests.browser.conftest import OpenDevice, Shot
from tests.browser.h5 import sign_in

# Resident 12 (孙演示十二, L2: showing a licence needs L2), holder of several seeded licences.
HOLDER = 12


def verify(page: Page, payload: str) -> None:
    page.get_by_test_id("verify-client-id").fill(VERIFIER_CLIENT_ID)
    page.get_by_test_id("verify-credential").fill(VERIFIER_CREDENTIAL)
    page.get_by_test_id("verify-token").fill(payload)
    page.get_by_test_id("verify-submit").click()


def test_f_show_a_licence_qr_and_verify_it_as_a_verifier(device: OpenDevice, backend: Backend, shot: Shot) -> None:
    valid = [lic for lic in backend.licenses(backend.resident_token(HOLDER)) if lic["status"] == "VALID"]
    assert valid, "the seed gives resident 12 valid licences"
    name = valid[0]["name"]

    # given the holder's wallet
    holder = device("holder")
    sign_in(holder.page, holder.h5, backend, HOLDER)
    page = holder.open("#/wallet")
    licence = page.locator('[data-testid="license-item"][data-status="VALID"]').filter(has_text=name).first
    expect(licence).to_be_visible()
    shot(page, "wallet")

    # when they open a valid licence and show its QR
    licence.click()
    page.get_by_test_id("license-show-qr").click()
    qr, payload_text = page.get_by_test_id("license-qr"), page.get_by_test_id("license-qr-payload")
    expect(qr).to_be_visible()
    expect(page.get_by_test_id("license-qr-expires")).to_be_visible()
    payload = (payload_text.text_content() or "").strip()
    assert payload, "the page shows the QR's payload"
    shot(page, "licence-qr")

    # then a verifier's own device, signed in as nobody, checks the scanned payload with the verifier app
    verifier = device("verifier").open("#/verify")
    verify(verifier, payload)
    result = verifier.get_by_test_id("verify-result")
    expect(result).to_have_attribute("data-valid", "true")
    expect(result).to_contain_text(name)
    shot(verifier, "verified")

    # and the same payload scanned again is refused: a QR token verifies once
    verifier.reload()
    verify(verifier, payload)
    expect(verifier.get_by_test_id("verify-result")).to_have_attribute("data-valid", "false")
    shot(verifier, "second-scan-refused")
