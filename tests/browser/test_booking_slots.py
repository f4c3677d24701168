"""A nurse books without guessing: she chooses the clinic and the clinician, the day is
full, the picker offers the next day with free times; she taps a free time and presses
Book, and the appointment is saved at that time. On a phone the times wrap, no sideways
scroll."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from prm.models.care import Appointment
from prm.models.types import utcnow
from tests.browser.conftest import screenshot
from tests.care_factories import make_appointment, make_clinic, make_clinician
from tests.factories import make_patient

pytestmark = pytest.mark.browser
BANGKOK = ZoneInfo("Asia/Bangkok")


@pytest.mark.parametrize("width", [1366, 360])
def test_a_nurse_taps_a_free_time_and_books_it(nurse_page, live_server, session, console,
                                                 width):
    page = nurse_page
    page.set_viewport_size({"width": width, "height": 800})
    clinic = make_clinic(session, name_en="Internal medicine")
    doctor = make_clinician(session, clinic=clinic, name_en="Dr Somchai")
    patient, other = make_patient(session), make_patient(session)
    full_day = utcnow().astimezone(BANGKOK).date() + timedelta(days=7)
    next_day = full_day + timedelta(days=1)
    make_appointment(session, patient=other, clinic=clinic, clinician_id=doctor.id,
                     starts_at=datetime.combine(full_day, time(8, 0), tzinfo=BANGKOK),
                     minutes=480)  # the whole of the clinic's day
    make_appointment(session, patient=other, clinic=clinic, clinician_id=doctor.id,
                     starts_at=datetime.combine(next_day, time(9, 0), tzinfo=BANGKOK))

    page.goto(f"{live_server.url}/appointments/new?patient_id={patient.id}"
              f"&day={full_day.isoformat()}")
    expect(page.locator("#slots")).to_contain_text("Choose a clinician")
    with page.expect_response("**/appointments/clinicians?*"):  # the clinic's clinicians
        page.locator("#f-clinic_id").select_option(str(clinic.id))
    page.locator("#f-clinician_id").select_option(str(doctor.id))

    expect(page.locator("#slots")).to_contain_text("No free time")
    page.locator("#slots .slot-next").click()
    slots = page.locator("#slots .slot")
    expect(slots.first).to_have_text("08:00")
    expect(page.locator("#slots [data-fill-time='09:00']")).to_have_count(0)  # taken
    chosen = page.locator("#slots [data-fill-time='10:30']")
    chosen.click()
    expect(page.locator("#f-time")).to_have_value("10:30")
    expect(chosen).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#slots [aria-pressed='true']")).to_have_count(1)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    if width == 360:  # the grid wraps onto several rows rather than running off the side
        tops = {round(box["y"]) for box in
                (slot.bounding_box() for slot in slots.all()[:8])}
        assert len(tops) > 1
    screenshot(page, f"booking-slots-{width}")

    page.locator("form[action='/appointments'] button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/patients/{patient.id}")
    session.expire_all()
    booked = session.exec(select(Appointment).where(Appointment.patient_id == patient.id)).one()
    assert booked.starts_at == datetime.combine(next_day, time(10, 30), tzinfo=BANGKOK)
    assert booked.clinician_id == doctor.id
    assert console.errors == []


@pytest.mark.parametrize("width", [1366, 360])
def test_a_nurse_moves_an_appointment_to_a_free_time_with_a_tap(
        nurse_page, live_server, session, console, width):
    page = nurse_page
    page.set_viewport_size({"width": width, "height": 800})
    clinic = make_clinic(session, name_en="Internal medicine")
    doctor = make_clinician(session, clinic=clinic, name_en="Dr Somchai")
    day = utcnow().astimezone(BANGKOK).date() + timedelta(days=7)
    moved = make_appointment(session, patient=make_patient(session), clinic=clinic,
                             clinician_id=doctor.id, minutes=30,
                             starts_at=datetime.combine(day, time(9, 0), tzinfo=BANGKOK))
    make_appointment(session, patient=make_patient(session), clinic=clinic,
                     clinician_id=doctor.id,
                     starts_at=datetime.combine(day, time(10, 0), tzinfo=BANGKOK))

    page.goto(f"{live_server.url}/appointments/{moved.id}")
    picker = page.locator("#reschedule #slots")
    expect(picker.locator("[data-fill-time='09:00']")).to_have_attribute("aria-pressed", "true")
    expect(picker.locator("[data-fill-time='10:00']")).to_have_count(0)  # someone else's
    picker.locator("[data-fill-time='09:15']").click()
    expect(page.locator("#f-time")).to_have_value("09:15")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    screenshot(page, f"reschedule-slots-{width}")

    page.locator("#reschedule button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/appointments/{moved.id}")
    session.expire_all()
    assert session.get(Appointment, moved.id).starts_at == datetime.combine(
        day, time(9, 15), tzinfo=BANGKOK)
    assert console.errors == []
