"""Browser journeys: Debian's chromium, driven by Playwright through its executable path (never a downloaded
browser), against one `make run`-style server (migrate, seed, serve in subprocesses) shared by this package: the
server, the browser and Playwright's event loop end with the last journey, before the rest of the suite goes on.

Each test gets fresh browser contexts (`device`): a phone-sized viewport, its own storage, so its own clientId.
`shot(page, name)` saves numbered PNGs to var/test-artifacts/browser/<test>/; a failed test also leaves a screenshot
and the console log of every page it opened there (ZSB_BROWSER_TRACE=1 adds a Playwright trace per device).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Response,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.browser.backend import Backend
from tests.support.make_run import make_run_server

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("ZSB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
PHONE: ViewportSize = {"width": 390, "height": 844}
# How long Playwright waits for an element, a navigation or an assertion: the live updates come within seconds.
WAIT_MS = 15_000
expect.set_options(timeout=WAIT_MS)

Shot = Callable[[Page, str], Path]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The journeys start their own embedded `make run` servers: running them again against PostgreSQL would only
    # repeat the same browser work inside CI's time limit.
    if os.environ.get("ZSB_TEST_BACKEND", "embedded") != "server":
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason="browser journeys run in the embedded run only (they start their own servers)")
    for item in items:
        if here in item.path.parents:
            item.add_marker(skip)


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True
    return report


@pytest.fixture(scope="package")
def chromium_path() -> str:
    if Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = f"no chromium at {CHROMIUM} (`make test` installs Debian's; or set ZSB_CHROMIUM)"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)  # CI must run the journeys, never skip them silently
    pytest.skip(message)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright, chromium_path: str) -> Iterator[Browser]:
    # --no-sandbox: CI and this machine run as root, where chromium refuses its sandbox.
    browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=["--no-sandbox"])
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[str]:
    # A second device signs the same resident in seconds after the first: no resend wait for the SMS sandbox.
    yield from make_run_server(tmp_path_factory, {"APP_AUTH__OTP_RESEND_SECONDS": "0"}, reseed=False)


@pytest.fixture(scope="package")
def backend(server: str) -> Iterator[Backend]:
    with httpx.Client(base_url=server, timeout=30.0) as http:
        yield Backend(server, http)


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    directory = ARTIFACTS / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


@pytest.fixture
def shot(artifacts: Path) -> Shot:
    """shot(page, "signed-in") -> var/test-artifacts/browser/<test>/01-signed-in.png"""
    taken: list[Path] = []

    def take(page: Page, name: str) -> Path:
        path = artifacts / f"{len(taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path))
        taken.append(path)
        return path

    return take


@dataclass
class Device:
    """One phone: a browser context of its own (storage, so clientId and session), with one page on the H5 app."""

    name: str
    context: BrowserContext
    page: Page
    h5: str
    console: list[str] = field(default_factory=list)

    def record_console(self) -> None:
        """Console lines, page errors and failed responses, for the log a failed test leaves behind."""
        self.page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        self.page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))
        self.page.on("response", self._record_failed_response)

    def _record_failed_response(self, response: Response) -> None:
        if response.status >= 400:
            self.console.append(f"http {response.status}: {response.request.method} {response.url}")

    def open(self, route: str = "#/") -> Page:
        self.page.goto(f"{self.h5}{route}")
        return self.page


OpenDevice = Callable[[str], Device]


@pytest.fixture
def device(browser: Browser, server: str, artifacts: Path, request: pytest.FixtureRequest) -> Iterator[OpenDevice]:
    """device("phone") opens a new phone; several in one test are several devices of the same or other people."""
    opened: list[Device] = []
    trace = os.environ.get("ZSB_BROWSER_TRACE") == "1"

    def open_device(name: str) -> Device:
        context = browser.new_context(
            viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True, locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )  # fmt: skip
        context.set_default_timeout(WAIT_MS)
        if trace:
            context.tracing.start(screenshots=True, snapshots=True)
        page = context.new_page()
        phone = Device(name, context, page, f"{server}/h5/")
        phone.record_console()
        opened.append(phone)
        return phone

    yield open_device
    failed = request.node.stash.get(_FAILED, False)
    for phone in opened:
        (artifacts / f"console-{phone.name}.log").write_text("\n".join(phone.console) + "\n", encoding="utf-8")
        if failed and not phone.page.is_closed():
            phone.page.screenshot(path=str(artifacts / f"failed-{phone.name}.png"))
        if trace:
            phone.context.tracing.stop(path=str(artifacts / f"trace-{phone.name}.zip"))
        phone.context.close()
