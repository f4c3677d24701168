"""Browser fixtures: the real app served by uvicorn on 127.0.0.1, driven by Debian's
Chromium through Playwright's sync API.

The live server runs on every backend the ``settings`` fixture offers (SQLite, and
PostgreSQL when PRM_TEST_POSTGRES_URL is set). Playwright's own browser download does
not work here, so Chromium is always /usr/bin/chromium. Every test in this folder is
marked ``browser`` (``pytest -m "not browser"`` leaves them out); without Chromium they
are skipped with the reason.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import expect, sync_playwright

from tests.factories import PASSWORD, make_user

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    # Without these Chromium tries to reach the internet, which is closed here.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(tempfile.gettempdir()) / "prm-shots"
TIMEOUT_MS = 10_000
expect.set_options(timeout=TIMEOUT_MS)
# The app has no favicon yet; Chromium asks for one on every page and logs the 404.
IGNORED_CONSOLE = ("/favicon.ico",)

# Records CSP violations in the page; init scripts are injected by the browser, not the
# page, so the CSP does not block this one.
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def pytest_collection_modifyitems(items) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class LiveServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    """The app on a free port of 127.0.0.1, answering /healthz, stopped at teardown."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                            log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name=f"uvicorn-{port}", daemon=True)
    thread.start()
    live = LiveServer(f"http://127.0.0.1:{port}", server, thread)
    try:
        _wait_until_healthy(live)
        yield live
    finally:
        live.stop()
        sock.close()


def _wait_until_healthy(live: LiveServer, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        if not live.thread.is_alive():
            raise RuntimeError("the live server thread died while starting")
        try:
            response = httpx.get(f"{live.url}/healthz", timeout=1)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as error:
            last = repr(error)
        time.sleep(0.05)
    raise RuntimeError(f"the live server did not become healthy: {last}")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        reason = (f"{CHROMIUM} is missing: install Debian's chromium package "
                  "(.ci/run does) to run the browser tests")
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run them", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class ConsoleLog:
    """What the page complained about: console errors, uncaught exceptions."""
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # responses with status >= 400

    def record(self, message) -> None:
        source = message.location.get("url", "")
        if message.type == "error" and not source.endswith(IGNORED_CONSOLE):
            self.errors.append(f"console: {message.text} ({source})")


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def page(browser, console):
    """A fresh context (no cookies) and page per test; English UI unless a test switches."""
    context = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(CSP_RECORDER)
    tab = context.new_page()
    tab.on("console", console.record)
    tab.on("pageerror", lambda error: console.errors.append(f"pageerror: {error}"))
    tab.on("response", lambda response: console.failed.append(
        f"{response.status} {response.request.method} {response.url}")
        if response.status >= 400 else None)
    yield tab
    context.close()


def log_in(page, live_server: LiveServer, username: str, password: str) -> None:
    """Log in through the real form, the way staff do (selectors survive translation)."""
    page.goto(f"{live_server.url}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("form[action='/login'] button[type=submit]").click()


@pytest.fixture
def nurse(session):
    """A nurse whose account is set to English, so tests can read the words on screen."""
    user = make_user(session, role="nurse")
    user.language = "en"
    session.add(user)
    session.commit()
    return user


@pytest.fixture
def nurse_page(page, live_server, nurse):
    """A page logged in as a nurse, on the start page."""
    log_in(page, live_server, nurse.username, PASSWORD)
    page.wait_for_url(f"{live_server.url}/")
    return page


def screenshot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
