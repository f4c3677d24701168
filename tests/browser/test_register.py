"""Registering a patient through the form: a bad national ID, then a good one."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func
from sqlmodel import Session, select

from prm.models.patient import Patient
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

TYPED = {
    "#f-national_id": "1234567890122",  # check digit should be 1
    "#f-title_th": "นาง",
    "#f-given_name_th": "สุดา",
    "#f-family_name_th": "แสงทอง",
    "#f-given_name_en": "Suda",
    "#f-family_name_en": "Saengthong",
    "#f-birth_date": "14/03/1975",
    "#f-phone": "081 234 5678",
    "#f-payer_name": "สปสช.",
}
CHOSEN = {"#f-sex": "female", "#f-segment_code": "universal_coverage",
          "#f-preferred_channel": "sms"}


def patient_count(engine) -> int:
    with Session(engine) as db:
        return db.exec(select(func.count()).select_from(Patient)).one()


def open_the_form(page):
    page.locator("main a[href='/patients/new']").click()
    expect(page.locator("main form[action='/patients'][method=post]")).to_be_visible()


def fill_the_form(page, typed: dict, chosen: dict) -> None:
    for selector, value in typed.items():
        page.locator(selector).fill(value)
    for selector, value in chosen.items():
        page.locator(selector).select_option(value)
    page.locator("input[name=sms_consent]").check()


def test_a_bad_national_id_is_refused_and_nothing_typed_is_lost(nurse_page, engine):
    before = patient_count(engine)
    open_the_form(nurse_page)
    fill_the_form(nurse_page, TYPED, CHOSEN)
    nurse_page.get_by_role("button", name="Save", exact=True).click()

    error = nurse_page.locator("#e-national_id")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Not a valid Thai national ID")
    expect(nurse_page.locator("#f-national_id")).to_have_attribute("aria-invalid", "true")
    # the error sits next to its field, inside the same .field block
    expect(nurse_page.locator(".field.has-error #f-national_id")).to_have_count(1)
    expect(nurse_page.locator(".field.has-error")).to_have_count(1)
    expect(nurse_page.locator(".flash.error[role=alert]")).to_be_visible()
    for selector, value in {**TYPED, **CHOSEN}.items():
        expect(nurse_page.locator(selector)).to_have_value(value)
    expect(nurse_page.locator("input[name=sms_consent]")).to_be_checked()
    assert patient_count(engine) == before
    screenshot(nurse_page, "register-bad-national-id")


def test_a_valid_patient_lands_on_their_page(nurse_page, live_server, engine):
    open_the_form(nurse_page)
    fill_the_form(nurse_page, {**TYPED, "#f-national_id": "1-2345-67890-12-1"}, CHOSEN)
    nurse_page.get_by_role("button", name="Save", exact=True).click()

    expect(nurse_page).to_have_url(re.compile(rf"{live_server.url}/patients/\d+$"))
    card = nurse_page.locator(".patient-card")
    expect(card.locator("h1")).to_have_text("นางสุดา แสงทอง")
    expect(card.locator(".facts")).to_contain_text("1234567890121")
    expect(card.locator(".flags .badge.ok")).to_be_visible()
    expect(nurse_page.locator("#timeline ol.timeline > li").first).to_contain_text(
        "Registered with HN")
    assert patient_count(engine) == 1
