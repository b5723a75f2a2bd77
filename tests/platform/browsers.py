"""Real-browser tests: Playwright driving Debian's Chromium, a screenshot of every open page when a
test fails.

Playwright cannot download its own browsers on the project's machines, so it launches the
Chromium that `apt-get install chromium` puts at /usr/bin/chromium (`executable_path`; never
`playwright install`). Where it is missing the browser tests fail in CI (CI=true) and are skipped
with the reason elsewhere. The fixtures and the hook are imported into conftest.py; this module
imports no Django, so a bare `pytest -p browsers` can use it too (the screenshot test does).
"""
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Generator, Iterator

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser as PlaywrightBrowser, Page

CHROMIUM = os.environ.get("PROOFBOARD_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT_DIR = Path(os.environ.get("PROOFBOARD_SCREENSHOT_DIR")
                      or Path(__file__).resolve().parents[2] / "var" / "test-screenshots")
TIMEOUT_MS = 15_000  # one page action or expectation; waits on background work pass their own


class Browser:
    """One headless Chromium for one test: each `new_page` is a fresh browser context (own cookies,
    downloads accepted), so a logged-in and a logged-out visitor can sit side by side."""

    def __init__(self, browser: "PlaywrightBrowser"):
        self.browser = browser
        self.pages: list["Page"] = []

    def new_page(self, **context_options) -> "Page":
        """A page in a new context; `context_options` go to Playwright's `new_context` (viewport, …)."""
        context = self.browser.new_context(accept_downloads=True, **context_options)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        self.pages.append(page)
        return page

    def screenshot_all(self, folder: Path, name: str) -> list[Path]:
        """Save a full-page PNG of every page still open; the paths written."""
        folder.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        saved = []
        for number, page in enumerate(self.pages, 1):
            if page.is_closed():
                continue
            path = folder / f"{stem}-{number}.png"
            try:
                page.screenshot(path=str(path), full_page=True, timeout=TIMEOUT_MS)
            except Exception as exc:  # noqa: BLE001 -- a report must not hide the test's own failure
                print(f"no screenshot of {page.url}: {exc}")
                continue
            saved.append(path)
        return saved


def require_chromium() -> None:
    """Fail (in CI) or skip (elsewhere) the calling test when Debian's Chromium is not installed."""
    if os.access(CHROMIUM, os.X_OK):
        return
    reason = (f"no Chromium at {CHROMIUM}: install Debian's package (`apt-get install chromium`); "
              "Playwright cannot download its own browsers here")
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI runs the browser tests: {reason}")
    pytest.skip(reason)


@pytest.fixture
def chromium(monkeypatch) -> Iterator[Browser]:
    """Headless Debian Chromium under Playwright, closed after the test.

    Playwright's sync API keeps an asyncio loop running in the test's thread, and Django refuses
    ORM calls from a thread with a running loop (SynchronousOnlyOperation); the test's own ORM
    calls are plain synchronous ones, so that guard is lifted for the duration of the test. Django
    also keeps the connections opened meanwhile apart (per context, not per thread): they are
    closed before the loop stops, or they would outlive the test and hold the test database.
    """
    require_chromium()
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield Browser(browser)
        finally:
            browser.close()
            if "django.db" in sys.modules:
                sys.modules["django.db"].connections.close_all()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Generator[None, None, None]:
    """A failing browser test saves a screenshot of each of its pages and names the files in its report."""
    outcome = yield
    report = outcome.get_result()
    browser = getattr(item, "funcargs", {}).get("chromium")
    if report.when == "call" and report.failed and isinstance(browser, Browser):
        paths = browser.screenshot_all(SCREENSHOT_DIR, item.name)
        text = "\n".join(str(p) for p in paths) or "(no page open)"
        report.sections.append(("browser screenshots", text))
