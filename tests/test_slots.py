"""Booking without guessing: a clinician's free times on a day, by the same clash rule as
booking itself, and the slot picker the booking form fetches."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from prm.care import appointments, slots
from prm.config import Settings
from prm.errors import Conflict
from prm.models.audit import AuditEvent
from prm.models.care import AppointmentStatus
from tests.care_factories import make_appointment, make_clinic, make_clinician
from tests.factories import TEST_ACTOR, make_patient

BANGKOK = ZoneInfo("Asia/Bangkok")
HOURS = (time(8, 0), time(12, 0))
DAY = date(2031, 3, 4)  # a Tuesday, far enough ahead that nothing of it is past
BEFORE_THE_DAY = datetime(2031, 3, 1, tzinfo=UTC)


def _at(clock: str, day: date = DAY) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=BANGKOK).astimezone(UTC)


def _clocks(starts: list[datetime]) -> list[str]:
    return [start.astimezone(BANGKOK).strftime("%H:%M") for start in starts]


@pytest.fixture
def desk(session):
    """A clinic, two of its clinicians and a patient."""
    clinic = make_clinic(session)
    return (clinic, make_clinician(session, clinic=clinic), make_clinician(session, clinic=clinic),
            make_patient(session))


def _booked(session, desk, clock: str, *, minutes: int = 15, clinician=None,
            status=AppointmentStatus.booked, day: date = DAY):
    clinic, first, _second, patient = desk
    return make_appointment(session, patient=patient, clinic=clinic,
                            clinician_id=(clinician or first).id, starts_at=_at(clock, day),
                            minutes=minutes, status=status)


def _free(session, clinician, *, minutes: int = 15, now: datetime = BEFORE_THE_DAY,
          day: date = DAY) -> list[str]:
    return _clocks(slots.free_slots(session, clinician_id=clinician.id, day=day,
                                           minutes=minutes, hours=HOURS, tz=BANGKOK, now=now))


def test_an_empty_day_offers_every_quarter_hour_that_ends_by_closing_time(session, desk):
    free = _free(session, desk[1])

    assert free[0] == "08:00" and free[-1] == "11:45" and len(free) == 16
    assert _free(session, desk[1], minutes=60)[-1] == "11:00"


def test_a_booking_takes_its_slot_and_the_times_next_to_it_stay_free(session, desk):
    _booked(session, desk, "09:00", minutes=30)

    free = _free(session, desk[1])
    assert "09:00" not in free and "09:15" not in free
    assert "08:45" in free and "09:30" in free  # ends as it starts / starts as it ends


def test_a_longer_booking_does_not_fit_before_a_taken_slot(session, desk):
    _booked(session, desk, "09:00")

    free = _free(session, desk[1], minutes=45)
    assert "08:15" in free and "08:30" not in free and "08:45" not in free
    assert "09:15" in free


def test_the_end_of_an_off_grid_booking_is_offered_so_no_gap_is_lost(session, desk):
    _booked(session, desk, "09:05", minutes=20)

    free = _free(session, desk[1])
    assert "09:25" in free and "09:00" not in free and "09:15" not in free


def test_a_booking_from_the_evening_before_reaches_into_the_morning(session, desk):
    _booked(session, desk, "07:30", minutes=60)

    assert _free(session, desk[1])[0] == "08:30"


def test_past_times_today_are_not_offered(session, desk):
    now = _at("09:10")

    assert _free(session, desk[1], now=now)[0] == "09:15"
    assert _free(session, desk[1], now=_at("13:00")) == []


def test_cancelled_and_missed_bookings_free_their_slot(session, desk):
    _booked(session, desk, "09:00", status=AppointmentStatus.cancelled)
    _booked(session, desk, "10:00", status=AppointmentStatus.noshow)
    _booked(session, desk, "11:00", status=AppointmentStatus.fulfilled)

    free = _free(session, desk[1])
    assert "09:00" in free and "10:00" in free and "11:00" not in free


def test_other_clinicians_bookings_and_other_days_do_not_block(session, desk):
    _booked(session, desk, "09:00", clinician=desk[2])
    _booked(session, desk, "10:00", day=DAY + timedelta(days=1))

    assert len(_free(session, desk[1])) == 16


def test_every_offered_time_can_be_booked_and_every_other_one_is_refused(session, desk):
    """The slot picker and booking share one clash rule: what is offered books, the rest
    of the grid clashes."""
    clinic, clinician, _second, patient = desk
    _booked(session, desk, "08:20", minutes=25)
    _booked(session, desk, "10:00", minutes=60)
    free = set(_free(session, clinician, minutes=30))
    for n in range(15):
        clock = (datetime.combine(DAY, HOURS[0]) + timedelta(minutes=15 * n)).strftime("%H:%M")
        savepoint = session.begin_nested()
        try:
            appointments.book(session, patient=patient, clinic_id=clinic.id,
                              clinician_id=clinician.id, starts_at=_at(clock), minutes=30,
                              actor=TEST_ACTOR)
            booked = True
        except Conflict:
            booked = False
        savepoint.rollback()
        assert booked == (clock in free), clock


def test_a_full_day_offers_the_next_day_with_free_times(session, desk):
    clinic, clinician, _second, _patient = desk
    for day in (DAY, DAY + timedelta(days=1)):
        _booked(session, desk, "08:00", minutes=240, day=day)

    offer = slots.offer_slots(session, clinic_id=clinic.id, clinician_id=clinician.id,
                                     day=DAY, minutes=15, hours=HOURS, tz=BANGKOK,
                                     now=BEFORE_THE_DAY)

    assert offer.starts == [] and offer.next_free_day == DAY + timedelta(days=2)


def test_no_slots_are_offered_without_a_clinician_of_the_clinic(session, desk):
    clinic, clinician, _second, _patient = desk
    elsewhere = make_clinician(session, clinic=make_clinic(session))
    for chosen in (None, elsewhere.id):
        assert slots.offer_slots(
            session, clinic_id=clinic.id, clinician_id=chosen, day=DAY, minutes=15,
            hours=HOURS, tz=BANGKOK, now=BEFORE_THE_DAY) is None


def test_clinic_hours_are_a_setting_that_must_open_before_closing():
    assert Settings(environment="test").clinic_day == (time(8, 0), time(16, 0))
    assert Settings(environment="test", clinic_hours="07:30-20:00").clinic_day == (
        time(7, 30), time(20, 0))
    for wrong in ("16:00-08:00", "8-16", "08:00-25:00"):
        with pytest.raises(ValueError):
            Settings(environment="test", clinic_hours=wrong)


# --- the slot picker's route --------------------------------------------------------------

def _slots(client, desk, **params):
    clinic, clinician, _second, _patient = desk
    query = {"clinic_id": clinic.id, "clinician_id": clinician.id, "date": DAY.isoformat(),
             "minutes": "15", **params}
    return client.get("/appointments/slots", params=query, headers={"HX-Request": "true"})


def test_the_slot_picker_lists_free_times_as_buttons_and_marks_the_chosen_one(
        nurse_client, session, desk):
    _booked(session, desk, "09:00")

    response = _slots(nurse_client, desk, time="09:15")

    assert response.status_code == 200
    assert 'data-fill-time="08:45"' in response.text
    assert 'data-fill-time="09:00"' not in response.text
    assert 'data-fill-time="09:15"\n            aria-pressed="true"' in response.text
    assert "2574" in response.text  # the day's heading, in the Buddhist era for Thai staff
    assert desk[3].hn not in response.text and desk[3].given_name_th not in response.text


def test_the_slot_picker_offers_the_next_free_day_when_the_day_is_full(
        nurse_client, session, desk):
    for clock in ("08:00", "12:00"):
        _booked(session, desk, clock, minutes=240)

    response = _slots(nurse_client, desk)

    next_day = (DAY + timedelta(days=1)).isoformat()
    assert "data-fill-time" not in response.text
    assert f'data-fill-date="{next_day}"' in response.text


def test_the_slot_picker_asks_for_a_clinician_and_a_date(nurse_client, session, desk):
    assert "data-fill-time" not in _slots(nurse_client, desk, clinician_id="").text
    assert "data-fill-time" not in _slots(nurse_client, desk, date="").text
    assert _slots(nurse_client, desk, date="not a date").status_code == 200


def test_the_slot_picker_writes_nothing_to_the_audit_log(nurse_client, session, desk):
    _booked(session, desk, "09:00")
    before = len(session.exec(select(AuditEvent)).all())

    _slots(nurse_client, desk)

    session.expire_all()
    assert len(session.exec(select(AuditEvent)).all()) == before


def test_the_booking_form_fetches_the_slot_picker(nurse_client, session, desk):
    page = nurse_client.get("/appointments/new", params={"patient_id": desk[3].id})

    assert 'hx-get="/appointments/slots"' in page.text


def test_an_appointment_being_moved_is_offered_its_own_time_and_the_ones_it_overlaps(
        session, desk):
    moved = _booked(session, desk, "09:00", minutes=30)
    _booked(session, desk, "10:00")

    free = _clocks(slots.free_slots(
        session, clinician_id=desk[1].id, day=DAY, minutes=30, hours=HOURS, tz=BANGKOK,
        now=BEFORE_THE_DAY, moving=moved.id))

    assert "09:00" in free and "09:15" in free  # its own time no longer blocks it
    assert "10:00" not in free and "09:45" not in free  # the other booking still does
    for clock in ("09:15", "09:30"):  # and what is offered, reschedule takes
        appointments.reschedule(session, appointment=moved, starts_at=_at(clock),
                                actor=TEST_ACTOR)


def test_the_reschedule_form_fetches_the_slot_picker_for_the_appointment_it_moves(
        nurse_client, session, desk):
    moved = _booked(session, desk, "09:00")

    page = nurse_client.get(f"/appointments/{moved.id}").text
    picker = _slots(nurse_client, desk, moving=str(moved.id)).text

    assert 'hx-get="/appointments/slots"' in page and f'"moving": {moved.id}' in page
    assert 'data-fill-time="09:00"' in picker
    assert 'data-fill-time="09:00"' not in _slots(nurse_client, desk).text
