"""Journey e: the inbox is open when the department accepts the case; the notice and the unread badge arrive
live (subscription), without a reload."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, expect

from tests.browser.backend import Backend, eventually, seeded_application
from tests.browser.conftest import OpenDevice, Shot
from tests.browser.h5 import sign_in

# Resident 10 (吴演示十, L1) and the seed's case `submitted-1` of theirs: 失业保险金申领, 市人社局, awaiting 预审.
RESIDENT, CASE, DEPARTMENT = 10, "submitted-1", "rsj"
INBOX = "query { myInbox(first: 50) { unreadCount edges { node { id title body readAt } } } }"


def test_e_the_acceptance_notice_arrives_in_the_open_inbox_live(
    device: OpenDevice, backend: Backend, shot: Shot
) -> None:
    token = backend.resident_token(RESIDENT)
    case_id = seeded_application(CASE)
    project_no = backend.application(case_id, token)["projectNo"]

    def inbox() -> dict[str, Any]:
        found: dict[str, Any] = backend.graphql(INBOX, token=token)["myInbox"]
        return found

    def badge_matches_the_server(badge: Locator) -> None:
        # Notices of the seed's own history may still be landing: the badge must follow the server, whatever it says.
        eventually(lambda: badge.get_attribute("data-count") == str(inbox()["unreadCount"]), 15.0, "the badge count")

    # given the resident's phone open on the inbox, the badge counting what is unread
    phone = device("phone")
    sign_in(phone.page, phone.h5, backend, RESIDENT)
    page = phone.open("#/inbox")
    badge = page.get_by_test_id("nav-inbox-badge")
    expect(page.get_by_test_id("inbox-list")).to_be_visible()
    badge_matches_the_server(badge)
    shot(page, "inbox-before")
    page.evaluate("window.__sameDocument = true")

    # when 市人社局's handler passes the pre-review and accepts the case, over there
    backend.handle(DEPARTMENT, "passApplicationPrecheck", case_id)
    backend.handle(DEPARTMENT, "acceptApplication", case_id)

    def acceptance_notice() -> str | None:
        for edge in inbox()["edges"]:
            if edge["node"]["title"] == "办件已受理" and project_no in edge["node"]["body"]:
                notice_id: str = edge["node"]["id"]
                return notice_id
        return None

    notice_id = eventually(acceptance_notice, 15.0, "the acceptance notice")

    # then it appears, unread, with the badge counting it, in the same document (no reload, no navigation)
    notice = page.locator(f'[data-testid="inbox-item"][data-id="{notice_id}"]')
    expect(notice).to_be_visible()
    expect(notice).to_have_attribute("data-read", "false")
    expect(notice.get_by_test_id("inbox-item-title")).to_have_text("办件已受理")
    badge_matches_the_server(badge)
    assert page.evaluate("window.__sameDocument === true")
    shot(page, "notice-arrived-live")

    # when the resident opens it, it is read and the badge follows
    notice.get_by_test_id("inbox-item-open").click()
    expect(notice.get_by_test_id("inbox-item-body")).to_contain_text(project_no)
    expect(notice).to_have_attribute("data-read", "true")
    assert next(e for e in inbox()["edges"] if e["node"]["id"] == notice_id)["node"]["readAt"]
    badge_matches_the_server(badge)
    shot(page, "notice-read")

    # and 全部已读 leaves nothing unread
    page.get_by_test_id("inbox-mark-read").click()
    expect(badge).to_have_attribute("data-count", "0")
    expect(page.locator('[data-testid="inbox-item"][data-read="false"]')).to_have_count(0)
