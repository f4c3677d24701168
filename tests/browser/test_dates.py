"""Dates are typed the way pages show them: day/month/year, Buddhist era in Thai, times
on the 24-hour clock; never the browser's own mm/dd/yyyy and AM/PM pickers."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from prm.formatting import THAI_MONTHS
from prm.models.care import Appointment
from prm.models.patient import Patient
from prm.models.types import utcnow
from tests.browser.conftest import log_in, screenshot
from tests.browser.test_register import CHOSEN, TYPED, fill_the_form
from tests.care_factories import make_clinic
from tests.factories import PASSWORD, make_patient, make_user

pytestmark = pytest.mark.browser
BANGKOK = ZoneInfo("Asia/Bangkok")


def fits(page, selector: str) -> None:
    """The element is on screen across, not cut off at the right."""
    box = page.locator(selector).bounding_box()
    width = page.viewport_size["width"]
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box


@pytest.mark.parametrize("width", [1366, 360])
def test_a_thai_nurse_types_a_buddhist_era_birth_date(page, live_server, session, engine,
                                                       width):
    nurse = make_user(session, role="nurse")  # accounts start in Thai
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, live_server, nurse.username, PASSWORD)
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/patients/new")

    birth = page.locator("#f-birth_date")
    expect(birth).to_have_attribute("type", "text")
    expect(birth).to_have_attribute("placeholder", "วว/ดด/ปปปป")
    expect(birth).to_have_attribute("inputmode", "numeric")
    expect(page.locator("#h-birth_date")).to_contain_text("พ.ศ.")
    fits(page, "#f-birth_date")
    screenshot(page, f"dates-register-thai-{width}")

    fill_the_form(page, {**TYPED, "#f-national_id": "1-2345-67890-12-1",
                         "#f-birth_date": "06/12/2569"}, CHOSEN)
    page.locator("main form[action='/patients'] button[type=submit]").click()

    expect(page).to_have_url(re.compile(rf"{live_server.url}/patients/\d+$"))
    expect(page.locator(".patient-card .facts")).to_contain_text("6 ธ.ค. 2569")
    with Session(engine) as db:
        saved = db.exec(select(Patient).where(Patient.national_id == "1234567890121")).one()
    assert saved.birth_date == date(2026, 12, 6)

    # The edit form shows it again as it was typed: Buddhist era, day first.
    page.goto(f"{live_server.url}/patients/{saved.id}/edit")
    expect(page.locator("#f-birth_date")).to_have_value("06/12/2569")


def test_a_refused_date_is_shown_again_as_typed_with_a_clear_word(page, live_server,
                                                                   session, nurse):
    log_in(page, live_server, nurse.username, PASSWORD)  # English
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/patients/new")
    expect(page.locator("#f-birth_date")).to_have_attribute("placeholder", "dd/mm/yyyy")

    fill_the_form(page, {**TYPED, "#f-national_id": "1-2345-67890-12-1",
                         "#f-birth_date": "14/03/75"}, CHOSEN)
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator("#e-birth_date")).to_contain_text("Write the year in full")
    expect(page.locator("#f-birth_date")).to_have_value("14/03/75")
    expect(page.locator("#f-birth_date")).to_have_attribute(
        "aria-describedby", "e-birth_date h-birth_date")


@pytest.mark.parametrize("width", [1366, 360])
def test_a_time_typed_on_the_24_hour_clock_is_that_time(page, live_server, session, engine,
                                                        width):
    nurse = make_user(session, role="nurse")
    patient = make_patient(session)
    clinic = make_clinic(session, name_th="อายุรกรรม", name_en="Internal medicine")
    tomorrow = utcnow().astimezone(BANGKOK).date() + timedelta(days=1)
    typed_day = f"{tomorrow.day:02d}/{tomorrow.month:02d}/{tomorrow.year + 543}"
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, live_server, nurse.username, PASSWORD)
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/patients/{patient.id}")

    form = page.locator("form[action$='/contacts']")
    form.locator("#f-channel").select_option("phone_out")
    form.locator("#f-reason").select_option("appointment")
    form.locator("#f-outcome").select_option("appointment_booked")
    form.locator("#f-clinic_id").select_option(str(clinic.id))
    starts = form.locator("#f-starts_at")
    expect(starts).to_have_attribute("placeholder", "วว/ดด/ปปปป ชช:นน")
    starts.fill(f"{typed_day} 14:30")
    fits(page, "#f-starts_at")
    screenshot(page, f"dates-contact-booking-{width}")
    form.locator("button[type=submit]").click()

    expect(page.locator(".flash.error")).to_have_count(0)
    with Session(engine) as db:
        booked = db.exec(select(Appointment).where(Appointment.patient_id == patient.id)).one()
    starts_at = booked.starts_at.astimezone(BANGKOK)
    assert (starts_at.date(), starts_at.hour, starts_at.minute) == (tomorrow, 14, 30)
    shown = f"{tomorrow.day} {THAI_MONTHS[tomorrow.month - 1]} {tomorrow.year + 543} 14:30"
    expect(page.locator("main")).to_contain_text(shown)
