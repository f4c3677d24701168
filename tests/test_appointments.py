"""The appointments desk: booking, double booking, status changes, rescheduling, the day."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import func
from sqlmodel import Session, col, select

from prm.care import appointments
from prm.errors import Conflict
from prm.models.audit import AuditAction, AuditEvent
from prm.models.care import Appointment, AppointmentChange, AppointmentStatus, Clinic, Clinician
from tests.care_factories import make_appointment, make_clinic
from tests.factories import TEST_ACTOR, csrf_token, login, make_patient, make_user

BANGKOK = ZoneInfo("Asia/Bangkok")
TAKEN = "This clinician already has a patient at that time"


def _day(days: int = 10) -> date:
    return datetime.now(BANGKOK).date() + timedelta(days=days)


def _at(hour: int, minute: int = 0, days: int = 10) -> datetime:
    """A time on a coming day, in Bangkok."""
    return datetime.combine(_day(days), time(hour, minute), tzinfo=BANGKOK)


def _log_in(client: TestClient, session: Session, role: str) -> TestClient:
    """Log in with an English account, so the tests read the words staff see."""
    user = make_user(session, role=role)
    user.language = "en"
    session.add(user)
    session.commit()
    assert login(client, user.username).status_code == 303
    # The token is bound to the login session: any page hands out the new one.
    client.headers["X-CSRF-Token"] = csrf_token(client, "/login")
    return client


@pytest.fixture
def desk(client, session) -> TestClient:
    return _log_in(client, session, "front_desk")


@pytest.fixture
def clinic(session) -> Clinic:
    clinic = Clinic(code="MED", name_th="อายุรกรรม", name_en="Medicine clinic")
    session.add(clinic)
    session.commit()
    return clinic


@pytest.fixture
def doctors(session, clinic) -> list[Clinician]:
    rows = [Clinician(name_th="นพ.หนึ่ง", name_en="Dr One", clinic_id=clinic.id),
            Clinician(name_th="พญ.สอง", name_en="Dr Two", clinic_id=clinic.id)]
    session.add_all(rows)
    session.commit()
    return rows


def _book(client, patient, clinic, clinician=None, *, day=None, at="09:00", minutes="15",
          **extra):
    return client.post("/appointments", data={
        "patient_id": patient.id, "clinic_id": clinic.id,
        "clinician_id": clinician.id if clinician else "",
        "date": (day or _day()).isoformat(), "time": at, "minutes": minutes,
        "reason": "blood pressure check", **extra})


def _appointments(session) -> list[Appointment]:
    session.expire_all()
    return list(session.exec(select(Appointment).order_by(col(Appointment.id))))


def _count(session, model) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(model)).one()


def _service_book(session, patient, clinic, clinician, local: datetime) -> Appointment:
    appointment = appointments.book(session, patient=patient, clinic_id=clinic.id,
                                    clinician_id=clinician.id if clinician else None,
                                    starts_at=local.astimezone(UTC), actor=TEST_ACTOR)
    session.commit()
    return appointment


def _set_status(client, appointment, to_status, *, reason="", htmx=False, next="/appointments"):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/appointments/{appointment.id}/status", headers=headers,
                       data={"to_status": to_status, "cancel_reason": reason, "next": next})


def test_it_books_an_appointment_in_the_hospital_zone(desk, session, clinic, doctors):
    patient = make_patient(session)

    response = _book(desk, patient, clinic, doctors[0], at="09:00")

    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/patients/{patient.id}"
    [booked] = _appointments(session)
    assert booked.starts_at == _at(9)
    assert booked.starts_at.utcoffset() == timedelta(0)  # stored as UTC
    assert (booked.patient_id, booked.clinician_id, booked.status) == (
        patient.id, doctors[0].id, AppointmentStatus.booked)
    assert _count(session, AppointmentChange) == 1


def test_it_books_by_exact_hn_and_refuses_an_unknown_hn(desk, session, clinic):
    patient = make_patient(session)
    form = {"clinic_id": clinic.id, "date": _day().isoformat(), "time": "10:00",
            "minutes": "15"}

    unknown = desk.post("/appointments", data={**form, "hn": "99999999"})
    known = desk.post("/appointments", data={**form, "hn": patient.hn})

    assert unknown.status_code == 422
    assert "No patient has this HN." in unknown.text
    assert known.status_code == 303
    assert [a.patient_id for a in _appointments(session)] == [patient.id]


def test_it_refuses_double_booking_a_clinicians_slot_and_saves_nothing(desk, session, clinic,
                                                                      doctors):
    first, second = make_patient(session), make_patient(session)
    assert _book(desk, first, clinic, doctors[0], at="09:00").status_code == 303

    response = _book(desk, second, clinic, doctors[0], at="09:00", reason="typed by hand")

    assert response.status_code == 409
    assert 'id="e-time"' in response.text  # the message sits by the time field
    assert TAKEN in response.text.split('id="e-time"')[1].split("</div>")[0]
    assert "typed by hand" in response.text  # what was typed is kept
    assert [a.patient_id for a in _appointments(session)] == [first.id]
    assert _count(session, AppointmentChange) == 1


def test_it_refuses_a_slot_that_overlaps_a_longer_one(desk, session, clinic, doctors):
    assert _book(desk, make_patient(session), clinic, doctors[0], at="09:00",
                 minutes="15").status_code == 303

    response = _book(desk, make_patient(session), clinic, doctors[0], at="09:10")

    assert response.status_code == 409
    assert TAKEN in response.text
    assert len(_appointments(session)) == 1


def test_another_clinician_may_see_a_patient_at_the_same_time(desk, session, clinic, doctors):
    assert _book(desk, make_patient(session), clinic, doctors[0], at="09:00").status_code == 303

    response = _book(desk, make_patient(session), clinic, doctors[1], at="09:00")

    assert response.status_code == 303
    assert len(_appointments(session)) == 2


def test_it_refuses_a_booking_with_missing_fields_next_to_each_field(desk, session):
    patient = make_patient(session)

    response = desk.post("/appointments", data={"patient_id": patient.id, "clinic_id": "",
                                                 "date": "", "time": "", "minutes": "15"})

    assert response.status_code == 422
    assert 'id="e-clinic_id"' in response.text
    assert 'id="e-time"' in response.text
    assert _appointments(session) == []


def test_cancelling_needs_a_reason(desk, session, clinic, doctors):
    appointment = _service_book(session, make_patient(session), clinic, doctors[0], _at(9))

    refused = _set_status(desk, appointment, "cancelled", reason="  ")
    refused_in_row = _set_status(desk, appointment, "cancelled", htmx=True)

    assert refused.status_code == 422
    assert "Say why the appointment is cancelled." in refused.text
    assert refused_in_row.status_code == 422
    assert "Say why the appointment is cancelled." in refused_in_row.text
    assert _appointments(session)[0].status == AppointmentStatus.booked


def test_a_cancelled_slot_can_be_booked_again(desk, session, clinic, doctors):
    assert _book(desk, make_patient(session), clinic, doctors[0], at="09:00").status_code == 303
    [first] = _appointments(session)

    cancelled = _set_status(desk, first, "cancelled", reason="patient asked")
    rebooked = _book(desk, make_patient(session), clinic, doctors[0], at="09:00")

    assert cancelled.status_code == 303
    assert rebooked.status_code == 303, rebooked.text
    assert [a.status for a in _appointments(session)] == [AppointmentStatus.cancelled,
                                                          AppointmentStatus.booked]
    assert _appointments(session)[0].cancel_reason == "patient asked"


def test_it_follows_the_allowed_transitions_and_refuses_the_rest(desk, session, clinic,
                                                                 doctors):
    appointment = _service_book(session, make_patient(session), clinic, doctors[0],
                                _at(9, days=0))  # checked in: on its day

    for to_status in ("confirmed", "arrived", "fulfilled"):
        assert _set_status(desk, appointment, to_status).status_code == 303
    refused = _set_status(desk, appointment, "booked", htmx=True)

    assert refused.status_code == 409
    assert "An appointment that is fulfilled cannot become booked." in refused.text
    assert _appointments(session)[0].status == AppointmentStatus.fulfilled
    assert [c.to_status for c in appointments.history(session, appointment=appointment)] == [
        "booked", "confirmed", "arrived", "fulfilled"]


def test_a_refused_change_from_the_day_page_shows_the_day_with_the_message(desk, session,
                                                                          clinic):
    appointment = _service_book(session, make_patient(session), clinic, None, _at(9))
    target = f"/appointments?day={_day().isoformat()}&clinic={clinic.id}"

    response = _set_status(desk, appointment, "fulfilled", next=target)

    assert response.status_code == 409
    assert "<html" in response.text
    assert "An appointment that is booked cannot become fulfilled." in response.text
    assert f'id="appt-{appointment.id}"' in response.text


def test_a_refused_change_from_the_appointment_page_stays_on_that_page(desk, session, clinic):
    appointment = _service_book(session, make_patient(session), clinic, None, _at(9))
    page = f"/appointments/{appointment.id}"

    refused = _set_status(desk, appointment, "cancelled", next=page)
    done = _set_status(desk, appointment, "cancelled", reason="moved away", next=page)
    too_late = desk.post(f"{page}/reschedule", data={"date": _day().isoformat(),
                                                     "time": "10:00"})

    assert refused.status_code == 422
    assert "Say why the appointment is cancelled." in refused.text
    assert 'id="history-title"' in refused.text
    assert done.headers["location"] == page
    assert too_late.status_code == 409
    assert "Only an upcoming or missed appointment can be rescheduled." in too_late.text


def test_a_status_change_by_htmx_returns_only_the_row(desk, session, clinic, doctors):
    appointment = _service_book(session, make_patient(session), clinic, doctors[0],
                                _at(9, days=0))

    response = _set_status(desk, appointment, "arrived", htmx=True)

    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.strip().startswith(f'<tr id="appt-{appointment.id}"')
    assert "Checked in" in response.text
    assert 'value="fulfilled"' in response.text  # the next step is offered in place


def test_a_status_change_without_htmx_goes_back_to_the_day_it_came_from(desk, session, clinic):
    appointment = _service_book(session, make_patient(session), clinic, None, _at(9, days=0))
    target = f"/appointments?day={_day(0).isoformat()}"

    kept = _set_status(desk, appointment, "confirmed", next=target)
    off_site = _set_status(desk, appointment, "arrived", next="https://evil.example/")

    assert kept.headers["location"] == target
    assert off_site.headers["location"] == "/appointments"


def test_rescheduling_keeps_the_old_time_in_the_history(desk, session, clinic, doctors):
    nine = _at(9)
    appointment = _service_book(session, make_patient(session), clinic, doctors[0], nine)

    response = desk.post(f"/appointments/{appointment.id}/reschedule", data={
        "date": _day(11).isoformat(), "time": "11:30", "reason": "doctor in theatre"})

    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/appointments/{appointment.id}"
    changes = appointments.history(session, appointment=appointment)
    assert [(c.from_status, c.to_status) for c in changes] == [("", "booked"),
                                                                ("booked", "booked")]
    assert changes[1].from_starts_at == nine
    assert changes[1].to_starts_at == nine + timedelta(days=1, hours=2, minutes=30)
    page = desk.get(f"/appointments/{appointment.id}").text
    assert f"<s>{nine.day} {nine:%b} {nine.year} 09:00</s>" in page
    assert "doctor in theatre" in page


def test_rescheduling_into_a_taken_slot_says_so_by_the_time_field(desk, session, clinic,
                                                                  doctors):
    nine = _at(9)
    _service_book(session, make_patient(session), clinic, doctors[0], nine)
    moving = _service_book(session, make_patient(session), clinic, doctors[0],
                           nine + timedelta(hours=1))

    response = desk.post(f"/appointments/{moving.id}/reschedule", data={
        "date": _day().isoformat(), "time": "09:05", "reason": "earlier"})

    assert response.status_code == 409
    assert TAKEN in response.text.split('id="e-time"')[1].split("</div>")[0]
    assert 'value="09:05"' in response.text
    assert _appointments(session)[1].starts_at == nine + timedelta(hours=1)


def test_the_day_is_the_hospitals_day(desk, session, clinic):
    late, early = make_patient(session), make_patient(session)
    day = _day()
    midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=BANGKOK)
    last = _service_book(session, late, clinic, None, midnight - timedelta(minutes=30))
    _service_book(session, early, clinic, None, midnight + timedelta(minutes=30))

    page = desk.get(f"/appointments?day={day.isoformat()}").text

    assert last.starts_at.astimezone(UTC).strftime("%H:%M") == "16:30"
    assert f"HN {late.hn}" in page and ">23:30<" in page
    assert f"HN {early.hn}" not in page


@pytest.fixture
def eye_clinic(session) -> Clinic:
    return make_clinic(session, code="EYE", name_th="จักษุ", name_en="Eye clinic")


def test_without_a_clinic_the_day_shows_how_each_clinic_stands_and_no_rows(
        desk, session, clinic, doctors, eye_clinic):
    nine = _at(9)
    mine = _service_book(session, make_patient(session), clinic, doctors[0], nine)
    _service_book(session, make_patient(session), clinic, doctors[1], nine)
    theirs = _service_book(session, make_patient(session), eye_clinic, None, nine)
    appointments.change_status(session, appointment=theirs, to_status="arrived",
                               actor=TEST_ACTOR, tz=BANGKOK, now=nine.astimezone(UTC))
    session.commit()

    page = desk.get(f"/appointments?day={_day().isoformat()}").text

    assert 'class="appt-row' not in page and f'id="appt-{mine.id}"' not in page
    medicine = page.split(f"clinic={clinic.id}")[1].split("</tr>")[0]
    eye = page.split(f"clinic={eye_clinic.id}")[1].split("</tr>")[0]
    assert "<strong>2</strong>" in medicine and "Booked" in medicine
    assert "<strong>1</strong>" in eye and "Checked in" in eye and "Booked" not in eye
    assert "Choose a clinic to see its patients and check them in." in page


def test_a_chosen_clinic_shows_its_own_rows_and_counts(desk, session, clinic, doctors,
                                                      eye_clinic):
    nine = _at(9)
    mine = _service_book(session, make_patient(session), clinic, doctors[0], nine)
    theirs = _service_book(session, make_patient(session), eye_clinic, None, nine)
    query = f"day={_day().isoformat()}&clinic={clinic.id}"

    page = desk.get(f"/appointments?{query}")
    partial = desk.get(f"/appointments?{query}", headers={"HX-Request": "true"})
    one_doctor = desk.get(f"/appointments?{query}&clinician={doctors[1].id}").text

    assert f'id="appt-{mine.id}"' in page.text and f'id="appt-{theirs.id}"' not in page.text
    assert "<html" not in partial.text and partial.text.count('class="appt-row') == 1
    assert "<strong>1</strong> in all" in partial.text
    assert f'id="appt-{mine.id}"' not in one_doctor
    assert "No appointments in this clinic on this day." in one_doctor


def test_the_desk_remembers_the_clinic_chosen_last_until_all_clinics_is_chosen(
        desk, session, clinic, eye_clinic):
    theirs = _service_book(session, make_patient(session), eye_clinic, None, _at(9))
    day = _day().isoformat()

    desk.get(f"/appointments?day={day}&clinic={eye_clinic.id}")
    remembered = desk.get(f"/appointments?day={day}").text
    desk.get(f"/appointments?day={day}&clinic=")
    forgotten = desk.get(f"/appointments?day={day}").text

    assert f'id="appt-{theirs.id}"' in remembered
    assert f'<option value="{eye_clinic.id}" selected>' in remembered
    assert 'class="appt-row' not in forgotten


def test_a_clinics_long_day_comes_a_hundred_rows_a_page(desk, session, clinic):
    patient = make_patient(session)
    first = _at(7)
    for minute in range(105):
        make_appointment(session, patient=patient, clinic=clinic,
                         starts_at=first + timedelta(minutes=minute))
    query = f"/appointments?day={_day().isoformat()}&clinic={clinic.id}"

    page_one = desk.get(query).text
    page_two = desk.get(f"{query}&page=2").text
    past_the_end = desk.get(f"{query}&page=9").text

    assert page_one.count('class="appt-row') == 100
    assert "<strong>105</strong> in all" in page_one
    assert "Appointments 1–100 of 105" in page_one and "page=2" in page_one
    assert page_two.count('class="appt-row') == 5 and ">08:44<" in page_two
    assert "Appointments 101–105 of 105" in page_two
    assert past_the_end.count('class="appt-row') == 5


def test_a_reason_longer_than_the_record_holds_is_a_field_error_and_nothing_is_saved(
        desk, session, clinic):
    too_long = "ก" * 301

    response = _book(desk, make_patient(session), clinic, reason=too_long)

    assert response.status_code == 422
    assert "At most 300 characters." in response.text.split('id="e-reason"')[1]
    assert too_long in response.text  # kept whole, as typed, never cut
    assert _appointments(session) == []


def test_a_date_that_is_not_one_is_a_field_error_showing_what_was_typed(desk, session,
                                                                          clinic):
    response = _book(desk, make_patient(session), clinic, day=None, date="30/02/2568")

    assert response.status_code == 422
    error = response.text.split('id="e-date"')[1].split("</div>")[0]
    assert "Type the date as day/month/year" in error
    assert 'value="30/02/2568"' in response.text
    assert _appointments(session) == []


def test_a_cancel_reason_too_long_is_refused_in_the_row_and_kept(desk, session, clinic):
    appointment = _service_book(session, make_patient(session), clinic, None, _at(9))
    too_long = "x" * 301

    response = _set_status(desk, appointment, "cancelled", reason=too_long, htmx=True)

    assert response.status_code == 422
    assert "At most 300 characters." in response.text
    assert f'value="{too_long}"' in response.text
    assert _appointments(session)[0].status == AppointmentStatus.booked


def test_the_patient_page_offers_booking_and_lists_the_next_appointments(desk, session,
                                                                        clinic):
    patient = make_patient(session)
    _service_book(session, patient, clinic, None, _at(14))

    page = desk.get(f"/patients/{patient.id}").text
    form = desk.get(f"/appointments/new?patient_id={patient.id}").text

    assert f'href="/appointments/new?patient_id={patient.id}"' in page
    assert "Medicine clinic" in page and "14:00" in page
    assert f"HN {patient.hn}" in form and f'name="patient_id" value="{patient.id}"' in form


def test_it_escapes_what_staff_typed(desk, session, clinic):
    payload = '<script>alert("x")</script>'
    patient = make_patient(session)

    _book(desk, patient, clinic, reason=payload)
    [appointment] = _appointments(session)

    for path in (f"/appointments?day={_day().isoformat()}", f"/appointments/{appointment.id}"):
        html = desk.get(path).text
        assert payload not in html and str(escape(payload)) in html


@pytest.mark.parametrize("role", ["front_desk", "nurse"])
def test_the_desk_is_open_to_front_desk_and_nurses(client, session, clinic, role):
    _log_in(client, session, role)

    assert client.get("/appointments").status_code == 200
    assert client.get("/appointments/new").status_code == 200
    assert _book(client, make_patient(session), clinic).status_code == 303


@pytest.mark.parametrize("role", ["quality", "admin"])
def test_the_desk_is_closed_to_quality_and_admin(client, session, clinic, role):
    appointment = _service_book(session, make_patient(session), clinic, None, _at(9))
    _log_in(client, session, role)

    assert client.get("/appointments").status_code == 403
    assert client.get(f"/appointments/{appointment.id}").status_code == 403
    assert _book(client, make_patient(session), clinic, at="10:00").status_code == 403
    assert _set_status(client, appointment, "confirmed").status_code == 403
    assert len(_appointments(session)) == 1
    assert _appointments(session)[0].status == AppointmentStatus.booked


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/appointments?day=2030-01-01")

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2Fappointments")


def test_an_unknown_appointment_is_not_found(desk):
    assert desk.get("/appointments/999999").status_code == 404


def test_opening_an_appointment_or_a_clinics_day_is_audited_without_names(desk, session,
                                                                          clinic):
    patient = make_patient(session)
    appointment = make_appointment(session, patient=patient, clinic=clinic, starts_at=_at(9))

    assert desk.get(f"/appointments/{appointment.id}").status_code == 200
    assert desk.get(f"/appointments?day={_day().isoformat()}&clinic={clinic.id}"
                    ).status_code == 200
    make_clinic(session)  # with two clinics, no clinic chosen is the overview
    assert desk.get(f"/appointments?day={_day().isoformat()}&clinic=").status_code == 200

    rows = session.exec(select(AuditEvent).where(
        col(AuditEvent.entity_type).in_(["appointment", "appointment_day"]))
        .order_by(col(AuditEvent.id))).all()
    # The overview (every clinic's counts) names nobody: no row for it.
    assert [(row.action, row.entity_type, row.patient_id) for row in rows] == [
        (AuditAction.view, "appointment", patient.id),
        (AuditAction.listing, "appointment_day", patient.id)]
    assert rows[0].entity_id == str(appointment.id)
    assert rows[1].detail == f"day={_day().isoformat()} clinic={clinic.id} page=1 shown=1"


# --- what the clock allows ------------------------------------------------------------------

def test_a_booking_next_week_offers_and_accepts_neither_check_in_nor_no_show(desk, session,
                                                                            clinic):
    appointment = _service_book(session, make_patient(session), clinic, None, _at(9, days=7))

    row = desk.get(f"/appointments?day={_day(7).isoformat()}&clinic={clinic.id}").text
    arrived = _set_status(desk, appointment, "arrived", htmx=True)
    no_show = _set_status(desk, appointment, "noshow", htmx=True)

    own_row = row.split(f'id="appt-{appointment.id}"')[1].split("</tr>")[0]
    assert 'value="confirmed"' in own_row
    assert 'value="arrived"' not in own_row and 'value="noshow"' not in own_row
    assert arrived.status_code == 409
    assert "A patient can be checked in only on the day of the appointment." in arrived.text
    assert no_show.status_code == 409
    assert "A no-show can be recorded only after the appointment&#39;s time is over." in (
        no_show.text)
    session.expire_all()
    assert _appointments(session)[0].status == AppointmentStatus.booked


def test_a_no_show_is_recorded_only_once_the_slot_is_over(session, clinic):
    appointment = _service_book(session, make_patient(session), clinic, None, _at(9))
    during = _at(9, 10).astimezone(UTC)  # ten minutes into a fifteen-minute slot
    after = _at(9, 15).astimezone(UTC)

    assert "noshow" not in appointments.allowed_changes(appointment, now=during, tz=BANGKOK)
    with pytest.raises(Conflict) as refused:
        appointments.change_status(session, appointment=appointment, to_status="noshow",
                                   actor=TEST_ACTOR, tz=BANGKOK, now=during)
    assert refused.value.message == appointments.time_refusal(
        appointment, "noshow", now=during, tz=BANGKOK) != ""
    appointments.change_status(session, appointment=appointment, to_status="noshow",
                               actor=TEST_ACTOR, tz=BANGKOK, now=after)
    assert appointment.status == AppointmentStatus.noshow


def test_check_in_follows_the_hospitals_day_not_utcs(session, clinic):
    """A 06:30 slot in Bangkok is 23:30 the day before in UTC: the hospital's day counts."""
    appointment = _service_book(session, make_patient(session), clinic, None, _at(6, 30))
    early_morning = _at(8).astimezone(UTC)  # already the next day in UTC
    evening_before = _at(23, 0, days=9).astimezone(UTC)

    assert "arrived" in appointments.allowed_changes(appointment, now=early_morning,
                                                     tz=BANGKOK)
    assert "arrived" not in appointments.allowed_changes(appointment, now=evening_before,
                                                         tz=BANGKOK)


def test_the_status_chips_add_up_to_the_days_total(desk, session, clinic):
    statuses = ["proposed", "booked", "booked", "confirmed", "cancelled"]
    for minute, status in enumerate(statuses):
        appointment = _service_book(session, make_patient(session), clinic, None,
                                    _at(9 + minute))
        appointment.status = AppointmentStatus(status)
        session.add(appointment)
    session.commit()

    page = desk.get(f"/appointments?day={_day().isoformat()}&clinic={clinic.id}").text

    counts = page.split('class="appt-counts"')[1].split("</ul>")[0]
    numbers = [int(n) for n in re.findall(r"<strong>(\d+)</strong>", counts)]
    assert numbers[0] == len(statuses)  # "in all"
    assert sum(numbers[1:]) == numbers[0]
    assert "st-proposed" in counts


def test_an_appointment_length_off_the_five_minute_step_is_refused(desk, session, clinic):
    patient = make_patient(session)

    response = desk.post("/appointments", data={
        "hn": patient.hn, "clinic_id": str(clinic.id), "date": _day().isoformat(),
        "time": "09:00", "minutes": "7"})

    assert response.status_code == 422
    assert "Use steps of 5." in response.text
    assert _appointments(session) == []
