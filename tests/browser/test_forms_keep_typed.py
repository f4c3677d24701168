"""Forms that keep exactly what was typed: countries chosen from ISO 3166 (not cut to two
letters), a name of markup refused beside its field, the keypad a field needs, and an
appointment's length in its range and steps."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from prm.models.patient import Patient
from tests.browser.conftest import screenshot
from tests.browser.test_register import CHOSEN, TYPED, fill_the_form, open_the_form

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1366, 360])
def test_a_chinese_passport_holder_is_saved_as_china_not_switzerland(
        nurse_page, live_server, engine, width):
    nurse_page.set_viewport_size({"width": width, "height": 800})
    open_the_form(nurse_page)
    expect(nurse_page.locator("#f-national_id")).to_have_attribute("inputmode", "numeric")
    nationality = nurse_page.locator("#f-nationality")
    assert nationality.evaluate("select => select.options[0].value") == "TH"  # Thailand first
    expect(nationality.locator("option[value=CN]")).to_have_text("China")
    expect(nationality.locator("option[value=CH]")).to_have_text("Switzerland")

    typed = {**TYPED, "#f-national_id": "", "#f-passport_no": "EA1234567",
             "#f-given_name_th": "", "#f-family_name_th": "", "#f-title_th": "",
             "#f-given_name_en": "Wei", "#f-family_name_en": "Zhang"}
    chosen = {**CHOSEN, "#f-nationality": "CN", "#f-passport_country": "CN",
              "#f-segment_code": "self_pay"}
    fill_the_form(nurse_page, typed, chosen)
    assert nurse_page.evaluate("document.scrollingElement.scrollWidth") <= width
    nurse_page.get_by_role("button", name="Save", exact=True).click()

    expect(nurse_page).to_have_url(re.compile(rf"{live_server.url}/patients/\d+$"))
    with Session(engine) as db:
        patient = db.exec(select(Patient).where(Patient.passport_no == "EA1234567")).one()
    assert (patient.nationality, patient.passport_country) == ("CN", "CN")
    screenshot(nurse_page, f"register-chinese-passport-{width}")


def test_a_name_made_of_markup_is_refused_and_kept_as_typed(nurse_page, engine):
    markup = "<script>alert(1)</script>"
    open_the_form(nurse_page)
    fill_the_form(nurse_page, {**TYPED, "#f-national_id": "1-2345-67890-12-1",
                               "#f-given_name_th": markup}, CHOSEN)
    nurse_page.get_by_role("button", name="Save", exact=True).click()

    error = nurse_page.locator("#e-given_name_th")
    expect(error).to_contain_text("letters, spaces, dots, hyphens and apostrophes")
    expect(nurse_page.locator("#f-given_name_th")).to_have_value(markup)
    with Session(engine) as db:
        assert db.exec(select(Patient)).all() == []


def test_an_appointment_length_keeps_to_its_range_and_steps(nurse_page, live_server):
    nurse_page.goto(f"{live_server.url}/appointments/new")
    minutes = nurse_page.locator("#f-minutes")
    expect(minutes).to_have_attribute("min", "5")
    expect(minutes).to_have_attribute("max", "480")
    expect(minutes).to_have_attribute("step", "5")
    expect(minutes).to_have_attribute("inputmode", "numeric")

    minutes.fill("7")
    nurse_page.locator("main form button[type=submit]").last.click()

    expect(nurse_page.locator("#e-minutes")).to_contain_text("Use steps of 5")
    expect(nurse_page.locator("#f-minutes")).to_have_value("7")
