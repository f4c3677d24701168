"""Switching the UI language from the top bar; the choice sticks to the account."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from prm.i18n import translations
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, make_patient, make_user

pytestmark = pytest.mark.browser


def test_switching_language_changes_the_page_and_persists(page, live_server, session):
    nurse = make_user(session, role="nurse")  # accounts start in Thai
    patient = make_patient(session, segment_code="universal_coverage")
    log_in(page, live_server, nurse.username, PASSWORD)
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/patients/{patient.id}")

    html = page.locator("html")
    badge = page.locator(".patient-card .flags .badge[class*='seg-']")
    logout = page.locator("form[action='/logout'] button")
    expect(html).to_have_attribute("lang", "th")
    expect(badge).to_have_text("ผู้ป่วยบัตรประกันสุขภาพถ้วนหน้า (บัตรทอง)")
    # Thai catalogs may still be partial: expect whatever the Thai catalog says.
    logout_th = translations("th").gettext("Log out")
    expect(logout).to_have_text(logout_th)
    screenshot(page, "patient-page-thai")

    page.locator("#language-switch").select_option("en")  # submits itself

    expect(html).to_have_attribute("lang", "en")
    expect(page).to_have_url(f"{live_server.url}/patients/{patient.id}")
    expect(badge).to_have_text("Universal coverage")
    expect(logout).to_have_text("Log out")
    expect(page.locator("#language-switch")).to_have_value("en")

    page.reload()
    expect(html).to_have_attribute("lang", "en")
    expect(badge).to_have_text("Universal coverage")

    # Kept on the account: a new browser session after logging in again is in English.
    logout.click()
    expect(page).to_have_url(f"{live_server.url}/login")
    page.context.clear_cookies()
    log_in(page, live_server, nurse.username, PASSWORD)
    page.wait_for_url(f"{live_server.url}/")
    expect(html).to_have_attribute("lang", "en")

    page.locator("#language-switch").select_option("th")
    expect(html).to_have_attribute("lang", "th")
    expect(logout).to_have_text(logout_th)
