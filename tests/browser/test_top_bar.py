"""The top bar on a phone, a tablet and a desktop: search first and across the bar; on a
phone the pages, language and account fold behind one button."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, make_patient, make_user

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [360, 768, 1366])
def test_the_top_bar_puts_search_first_and_fits_the_screen(page, live_server, session,
                                                           console, width):
    nurse = make_user(session, role="nurse")
    patient = make_patient(session, given_name_th="มะลิ", family_name_th="ทองดี")
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, live_server, nurse.username, PASSWORD)
    page.goto(f"{live_server.url}/worklists")

    search = page.locator("#top-search").bounding_box()
    bar = page.locator("header.topbar").bounding_box()
    assert search["width"] >= 200, search  # the report: ~40 px wide at 390 px
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    nav = page.locator("header nav")
    if width <= 1023:  # phones and tablets held upright (static/css/app.css)
        assert bar["height"] < 70, bar  # one row, not a fifth of the screen
        expect(nav).to_be_hidden()
        page.locator(".menu-toggle").click()
        expect(nav).to_be_visible()
        expect(page.locator(".menu-toggle")).to_have_attribute("aria-expanded", "true")
        page.locator(".menu-toggle").click()
        expect(nav).to_be_hidden()
    else:
        expect(nav).to_be_visible()
        expect(page.locator(".menu-toggle")).to_be_hidden()

    page.locator("#top-search").fill("มะลิ")
    suggestion = page.locator("#top-suggest a").first
    expect(suggestion).to_contain_text("ทองดี")
    assert suggestion.bounding_box()["width"] >= 200  # names on a line, not a syllable each
    screenshot(page, f"top-bar-{width}")
    suggestion.click()
    expect(page).to_have_url(f"{live_server.url}/patients/{patient.id}")
    assert not console.errors
