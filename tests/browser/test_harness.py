"""The harness the journeys stand on: the `make run`-style server, Debian's chromium and the operator side."""

from __future__ import annotations

import httpx
import pyotp
from playwright.sync_api import Browser

from api.seed.operators import DEMO_PASSWORD, demo_totp_secret
from tests.browser.backend import OPERATOR_SIGN_IN, Backend, replacement_card_form


def test_chromium_is_debians_and_renders_the_served_pages(browser: Browser, server: str) -> None:
    # given the browser the tests launched by path
    assert browser.browser_type.name == "chromium"
    assert browser.version
    page = browser.new_page()
    try:
        # when it opens the sandbox index of the server the test started
        page.goto(f"{server}/sandbox")
        # then it renders what the server sent (a JSON list of the provider sandboxes)
        assert '"name":"sms"' in page.content().replace(" ", "")
    finally:
        page.close()


def test_the_department_handler_moves_a_case_a_resident_submitted(backend: Backend) -> None:
    # given resident 16 submits 居民身份证补领 from another device (sync push)
    token = backend.resident_token(16)
    case_id = backend.submit_by_sync(token, "居民身份证补领", replacement_card_form(16))
    assert backend.application(case_id, token)["status"] == "SUBMITTED"

    # when 市公安局's handler passes the pre-review and accepts it
    backend.handle("ga", "passApplicationPrecheck", case_id)
    accepted = backend.handle("ga", "acceptApplication", case_id)

    # then the resident sees it in progress
    assert accepted["status"] == "IN_PROGRESS"
    assert backend.application(case_id, token)["status"] == "IN_PROGRESS"


def test_an_operator_with_a_wrong_totp_code_is_refused(server: str) -> None:
    wrong = f"{(int(pyotp.TOTP(demo_totp_secret('handler.ga')).now()) + 1) % 1_000_000:06d}"
    variables = {"input": {"username": "handler.ga", "password": DEMO_PASSWORD, "totpCode": wrong}}
    with httpx.Client(base_url=server) as http:
        answer = http.post("/graphql", json={"query": OPERATOR_SIGN_IN, "variables": variables}).json()
    assert answer["data"]["operatorSignIn"]["__typename"] == "AuthenticationError"
