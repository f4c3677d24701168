"""The login page follows the browser's language and offers a switch, for a visitor who
is not logged in yet (CSRF as for any anonymous form)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1366, 360])
def test_a_visitor_switches_the_login_page_to_english_and_back(browser, live_server, nurse,
                                                               console, width):
    context = browser.new_context(locale="th-TH", viewport={"width": width, "height": 800})
    page = context.new_page()
    page.on("console", console.record)
    try:
        page.goto(f"{live_server.url}/login")
        html = page.locator("html")
        switch = page.locator("nav.login-language")
        expect(html).to_have_attribute("lang", "th")
        expect(switch).to_have_text("ไทย | English")
        expect(switch.locator("[aria-current=true]")).to_have_text("ไทย")
        box = switch.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width
        screenshot(page, f"login-language-thai-{width}")

        switch.get_by_role("button", name="English").click()

        expect(html).to_have_attribute("lang", "en")
        expect(page).to_have_url(f"{live_server.url}/login")
        expect(page.locator("label[for=username]")).to_have_text("Username")
        expect(switch.locator("[aria-current=true]")).to_have_text("English")
        screenshot(page, f"login-language-english-{width}")

        # The form still logs in after the switch (its CSRF token is still good).
        page.locator("#username").fill(nurse.username)
        page.locator("#password").fill(PASSWORD)
        page.locator("form[action='/login'] button[type=submit]").click()
        expect(page).to_have_url(f"{live_server.url}/")
        assert console.errors == []
    finally:
        context.close()
