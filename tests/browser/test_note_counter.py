"""A note shows how much of its 4,000 characters is used as one types, and says clearly
when the limit is near; without script the browser still holds the limit."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, make_patient, make_user

pytestmark = pytest.mark.browser


def _open_the_note(page, live_server, patient):
    page.goto(f"{live_server.url}/patients/{patient.id}")
    page.locator("form[action$='/notes']").locator("xpath=ancestor::details/summary").click()
    return page.locator("form[action$='/notes'] textarea")


@pytest.mark.parametrize("width", [1366, 360])
def test_the_note_counts_its_characters_as_one_types(nurse_page, live_server, session, width):
    patient = make_patient(session)
    nurse_page.set_viewport_size({"width": width, "height": 800})
    note = _open_the_note(nurse_page, live_server, patient)
    counter = nurse_page.locator("#f-text-count")

    expect(note).to_have_attribute("maxlength", "4000")
    expect(counter).to_have_text("0 / 4,000")
    note.press_sequentially("Called")
    expect(counter).to_have_text("6 / 4,000")
    expect(counter).not_to_have_class("char-count near")

    note.fill("x" * 3_700)
    expect(counter).to_have_text("3,700 / 4,000 · 300 characters left")
    expect(counter).to_have_class("char-count near")
    note.fill("x" * 3_999)
    expect(counter).to_have_text("3,999 / 4,000 · 1 character left")
    box = counter.bounding_box()
    assert box is not None and box["x"] + box["width"] <= width
    screenshot(nurse_page, f"note-counter-{width}")

    note.fill("x" * 4_000)
    note.press_sequentially("more")  # the browser holds the limit
    expect(note).to_have_value("x" * 4_000)
    expect(counter).to_have_text("4,000 / 4,000 · 0 characters left")


def test_the_counter_speaks_thai(page, live_server, session):
    nurse = make_user(session, role="nurse")  # accounts start in Thai
    patient = make_patient(session)
    log_in(page, live_server, nurse.username, PASSWORD)
    page.wait_for_url(f"{live_server.url}/")
    note = _open_the_note(page, live_server, patient)

    note.fill("ก" * 3_800)
    expect(page.locator("#f-text-count")).to_have_text("3,800 / 4,000 · เหลืออีก 200 ตัวอักษร")


def test_without_script_the_limit_still_holds(browser, live_server, session, nurse):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        patient = make_patient(session)
        log_in(page, live_server, nurse.username, PASSWORD)
        page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}/patients/{patient.id}")
        note = page.locator("form[action$='/notes'] textarea")
        expect(note).to_have_attribute("maxlength", "4000")
        expect(page.locator(".char-count")).to_have_count(0)
    finally:
        context.close()
