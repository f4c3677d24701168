"""A front-desk clerk opens the day: how every clinic stands, then her clinic's list a
page at a time; she checks a patient in without leaving the list."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from prm.models.types import utcnow
from tests.browser.conftest import log_in, screenshot
from tests.care_factories import make_appointment, make_clinic
from tests.factories import PASSWORD, make_patient, make_user

pytestmark = pytest.mark.browser
BANGKOK = ZoneInfo("Asia/Bangkok")


@pytest.fixture
def busy_day(session):
    """A medicine clinic with more than a page of patients today, a quieter eye clinic."""
    today = utcnow().astimezone(BANGKOK).date()
    medicine = make_clinic(session, name_th="อายุรกรรม", name_en="Internal medicine")
    eye = make_clinic(session, name_th="จักษุ", name_en="Ophthalmology")
    make_clinic(session, name_th="ทันตกรรม", name_en="Dental")
    patients = [make_patient(session) for _ in range(6)]
    first = datetime.combine(today, time(8, 0), tzinfo=BANGKOK)
    for n in range(104):
        make_appointment(session, patient=patients[n % 6], clinic=medicine,
                         starts_at=first + timedelta(minutes=5 * n), reason="ตรวจติดตาม")
    for n in range(3):
        make_appointment(session, patient=patients[n], clinic=eye,
                         starts_at=first + timedelta(minutes=30 * n))
    return medicine, eye


@pytest.mark.parametrize("width", [1366, 360])
def test_a_clerk_goes_from_the_overview_to_her_clinic_and_checks_a_patient_in(
        page, live_server, session, busy_day, console, width):
    medicine, _eye = busy_day
    clerk = make_user(session, role="front_desk")  # Thai, as the demo hospital works
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, live_server, clerk.username, PASSWORD)
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/appointments")
    expect(page.locator(".appt-overview tbody tr")).to_have_count(3)
    expect(page.locator(".appt-row")).to_have_count(0)
    screenshot(page, f"appointments-overview-{width}")

    page.locator(f".appt-overview a[href*='clinic={medicine.id}']").click()
    expect(page.locator(".appt-row")).to_have_count(100)
    expect(page.locator(".appt-pager")).to_contain_text("1–100")
    first_row = page.locator(".appt-row").first
    first_row.locator("button[value=arrived]").click()
    expect(first_row.locator(".badge")).to_have_class("badge st-arrived")
    expect(first_row.locator("button[value=fulfilled]")).to_be_visible()
    screenshot(page, f"appointments-clinic-{width}")

    page.goto(f"{live_server.url}/appointments")  # the menu link: her clinic again
    expect(page.locator(".appt-row")).to_have_count(100)
    page.locator(".appt-pager a[rel=next]").click()
    expect(page.locator(".appt-row")).to_have_count(4)
    screenshot(page, f"appointments-clinic-page-2-{width}")
    assert console.errors == []
