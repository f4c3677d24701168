"""The 360° patient page: header card, timeline, logging a contact, no console errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.factories import make_patient

pytestmark = pytest.mark.browser


@pytest.fixture
def patient(session):
    return make_patient(session, given_name_th="บุญมี", family_name_th="รักษ์ดี",
                        given_name_en="Boonmee", family_name_en="Rakdee",
                        segment_code="universal_coverage", sms_consent=True)


def open_patient(page, live_server, patient) -> None:
    page.goto(f"{live_server.url}/patients/{patient.id}")
    expect(page.locator(".patient-card")).to_be_visible()


def test_header_card_shows_who_the_patient_is(nurse_page, live_server, patient):
    open_patient(nurse_page, live_server, patient)

    card = nurse_page.locator(".patient-card")
    expect(card.locator("h1")).to_have_text("บุญมี รักษ์ดี")
    expect(card.locator(".en")).to_contain_text("Boonmee Rakdee")
    expect(card.locator(".facts")).to_contain_text(f"HN{patient.hn}")
    expect(card.locator(".flags .badge[class*='seg-']")).to_have_text("Universal coverage")
    expect(card.locator(".flags .badge.ok")).to_contain_text("SMS consent")
    expect(nurse_page).to_have_title(f"HN {patient.hn} · PRM")
    screenshot(nurse_page, "patient-page")


def test_header_card_shows_missing_sms_consent(nurse_page, live_server, session):
    patient = make_patient(session, sms_consent=False)
    open_patient(nurse_page, live_server, patient)

    expect(nurse_page.locator(".patient-card .flags .badge.off")).to_contain_text(
        "No SMS consent")
    expect(nurse_page.locator(".patient-card .flags .badge.ok")).to_have_count(0)


def test_timeline_shows_the_registration(nurse_page, live_server, patient):
    open_patient(nurse_page, live_server, patient)

    entries = nurse_page.locator("#timeline ol.timeline > li")
    expect(entries).to_have_count(1)
    expect(entries.first.locator(".title")).to_have_text(f"Registered with HN {patient.hn}")
    expect(entries.first.locator(".icon")).to_have_text("★")


def test_logging_a_contact_puts_it_on_top_of_the_timeline(nurse_page, live_server, patient,
                                                          nurse):
    open_patient(nurse_page, live_server, patient)
    form = nurse_page.locator(f"form[action='/patients/{patient.id}/contacts']")
    expect(form).to_be_visible()  # the side panel opens on "Log a contact"

    form.get_by_label("How").select_option("phone_in")
    form.get_by_label("Reason").select_option("medication")
    form.get_by_label("Outcome").select_option("answered")
    note = "Asked whether to take metformin before the fasting blood test: told to wait"
    form.get_by_label("Note").fill(note)
    form.get_by_role("button", name="Save contact").click()

    expect(nurse_page).to_have_url(f"{live_server.url}/patients/{patient.id}")
    entries = nurse_page.locator("#timeline ol.timeline > li")
    expect(entries).to_have_count(2)
    top = entries.first
    expect(top.locator(".icon")).to_have_text("☎")
    expect(top.locator(".title")).to_have_text(
        "Phone call in · Medicines → Question answered")
    expect(top.locator(".body")).to_have_text(note)
    expect(top.locator(".meta")).to_contain_text(nurse.full_name)
    expect(entries.nth(1).locator(".title")).to_contain_text("Registered with HN")


def test_a_contact_without_an_outcome_is_refused_and_keeps_the_note(nurse_page, live_server,
                                                                    patient):
    open_patient(nurse_page, live_server, patient)
    form = nurse_page.locator(f"form[action='/patients/{patient.id}/contacts']")
    form.get_by_label("Reason").select_option("medication")
    form.get_by_label("Note").fill("Asked about metformin dose")
    form.get_by_role("button", name="Save contact").click()

    expect(nurse_page.locator("aside .flash.error")).to_be_visible()
    expect(nurse_page.locator("#e-outcome")).to_be_visible()
    form = nurse_page.locator(f"form[action='/patients/{patient.id}/contacts']")
    expect(form.get_by_label("Reason")).to_have_value("medication")
    expect(form.get_by_label("Note")).to_have_value("Asked about metformin dose")
    expect(nurse_page.locator("#timeline ol.timeline > li")).to_have_count(1)


def test_patient_page_has_no_console_errors_or_csp_violations(nurse_page, live_server,
                                                              patient, console):
    open_patient(nurse_page, live_server, patient)
    nurse_page.wait_for_load_state("networkidle")
    # Exercise htmx on the page: the timeline filter and the top bar search.
    nurse_page.locator("#timeline nav.filters a").nth(1).click()
    expect(nurse_page.locator("#timeline nav.filters a").nth(1)).to_have_attribute(
        "aria-current", "true")
    box = nurse_page.locator("#top-search")
    box.click()
    box.press_sequentially("boon", delay=20)
    expect(nurse_page.locator("#top-suggest a")).to_have_count(1)
    nurse_page.wait_for_load_state("networkidle")

    assert nurse_page.evaluate("window.__cspViolations") == []
    assert console.errors == [], console.failed
    # htmx and the app script loaded from /static (i.e. the CSP did not block them).
    assert nurse_page.evaluate("typeof window.htmx") == "object"
