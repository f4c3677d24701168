"""Appointments that cannot lie: time decides which status changes the desk is offered,
and the day's header adds up to its status chips."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlmodel import Session

from prm.models.care import Appointment, AppointmentStatus
from prm.models.types import utcnow
from tests.browser.conftest import log_in, screenshot
from tests.care_factories import make_appointment, make_clinic
from tests.factories import PASSWORD, make_patient, make_user

pytestmark = pytest.mark.browser
S = AppointmentStatus


def _status_buttons(page) -> list[str]:
    return page.locator(".appt-head button[name=to_status]").evaluate_all(
        "buttons => buttons.map(b => b.value)")


@pytest.mark.parametrize("width", [1366, 360])
def test_next_weeks_booking_offers_neither_arrived_nor_no_show(
        page, live_server, session, engine, width):
    nurse = make_user(session, role="nurse")
    next_week = make_appointment(session, patient=make_patient(session),
                                 starts_at=utcnow() + timedelta(days=7))
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, live_server, nurse.username, PASSWORD)
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/appointments/{next_week.id}")

    offered = _status_buttons(page)
    assert "arrived" not in offered and "noshow" not in offered, offered
    # A form posted anyway (a stale page, a crafted request) is refused and changes nothing.
    page.evaluate("""id => {
        const form = document.createElement("form");
        form.method = "post"; form.action = `/appointments/${id}/status`;
        const csrf = document.querySelector("input[name=csrf_token]").cloneNode();
        const to = document.createElement("input");
        to.name = "to_status"; to.value = "noshow";
        form.append(csrf, to); document.body.append(form); form.submit();
    }""", next_week.id)
    page.wait_for_load_state()
    expect(page.locator("[role=alert]").first).to_be_visible()
    with Session(engine) as db:
        assert db.get(Appointment, next_week.id).status == S.booked
    screenshot(page, f"appointment-next-week-{width}")


def test_a_slot_that_is_over_offers_no_show_and_the_day_adds_up(page, live_server, session):
    nurse = make_user(session, role="nurse")
    clinic = make_clinic(session, name_en="Medicine")
    now = utcnow()
    over = make_appointment(session, patient=make_patient(session), clinic=clinic,
                            starts_at=now - timedelta(hours=2))
    statuses = [S.proposed, S.booked, S.confirmed, S.fulfilled, S.cancelled]
    for n, status in enumerate(statuses):
        make_appointment(session, patient=make_patient(session), clinic=clinic,
                         starts_at=now + timedelta(minutes=20 * (n + 1)), status=status)
    log_in(page, live_server, nurse.username, PASSWORD)
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/appointments/{over.id}")
    assert "noshow" in _status_buttons(page)

    page.goto(f"{live_server.url}/appointments?clinic={clinic.id}")
    counts = page.locator("ul.appt-counts").first
    total = int(counts.locator("li").first.locator("strong").inner_text())
    chips = [int(text) for text in counts.locator("li:not(:first-child) strong").all_inner_texts()]
    assert total == 6 == sum(chips), (total, chips)  # "awaiting confirmation" has its chip
