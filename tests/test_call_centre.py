"""The call centre: a call that ends with an appointment books and links it, and the
call-to-appointment conversion the seed measures (Cedars-Sinai: 22 % → 48 %)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from prm.audit.service import Actor
from prm.contacts.service import Booking, call_conversion, log_contact
from prm.errors import Conflict, ValidationFailed
from prm.models.care import Appointment, AppointmentStatus
from prm.models.contact import ContactLog
from prm.models.patient import Patient
from prm.models.timeline import TimelineEntry
from prm.models.types import utcnow
from tests.care_factories import make_appointment, make_clinic, make_clinician
from tests.factories import TEST_ACTOR, make_patient


@pytest.fixture
def now() -> datetime:
    return utcnow().replace(microsecond=0)


def count(session: Session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def call(session: Session, patient: Patient, *, channel: str = "phone_in",
         outcome: str = "answered", booking: Booking | None = None,
         actor: Actor = TEST_ACTOR) -> ContactLog:
    contact = log_contact(session, patient=patient, channel=channel, reason="appointment",
                          outcome=outcome, note="asked about the diabetes clinic",
                          actor=actor, booking=booking)
    session.commit()
    return contact


def test_an_inbound_call_that_books_links_the_appointment_to_the_call(session, now):
    patient = make_patient(session)
    clinic = make_clinic(session)
    doctor = make_clinician(session, clinic=clinic)

    contact = call(session, patient, outcome="appointment_booked", booking=Booking(
        clinic_id=clinic.id, starts_at=now + timedelta(days=3), clinician_id=doctor.id))

    appointment = session.get(Appointment, contact.appointment_id)
    assert (appointment.patient_id, appointment.clinic_id, appointment.clinician_id) == (
        patient.id, clinic.id, doctor.id)
    assert (appointment.status, appointment.booked_via) == (AppointmentStatus.booked,
                                                           "call_centre")
    assert appointment.starts_at == now + timedelta(days=3)
    entry = session.exec(select(TimelineEntry).where(TimelineEntry.kind == "contact")).one()
    assert (entry.patient_id, entry.ref_id) == (patient.id, contact.id)
    assert entry.data["outcome"] == "appointment_booked"


def test_a_call_without_that_outcome_books_nothing_even_with_a_slot(session, now):
    patient = make_patient(session)
    clinic = make_clinic(session)

    contact = call(session, patient, outcome="answered",
                   booking=Booking(clinic_id=clinic.id, starts_at=now + timedelta(days=3)))

    assert contact.appointment_id is None
    assert count(session, Appointment) == 0


def test_call_conversion_counts_inbound_calls_and_those_that_booked(session, now):
    patient = make_patient(session)
    clinic = make_clinic(session)

    def slot(days: int) -> Booking:
        return Booking(clinic_id=clinic.id, starts_at=now + timedelta(days=days))

    call(session, patient, outcome="appointment_booked", booking=slot(1))
    call(session, patient, outcome="answered")
    call(session, patient, outcome="no_answer")
    call(session, patient, channel="phone_out", outcome="appointment_booked", booking=slot(2))
    call(session, patient, channel="walk_in", outcome="appointment_booked", booking=slot(3))
    last_month = call(session, patient, outcome="appointment_booked", booking=slot(4))
    last_month.occurred_at = now - timedelta(days=40)
    session.add(last_month)
    session.commit()

    this_month = call_conversion(session, since=now - timedelta(days=30),
                                 until=now + timedelta(hours=1))
    before = call_conversion(session, since=now - timedelta(days=60),
                             until=now - timedelta(days=30))

    assert (this_month.inbound_calls, this_month.with_appointment) == (3, 1)
    assert this_month.rate == pytest.approx(1 / 3)
    assert (before.inbound_calls, before.with_appointment, before.rate) == (1, 1, 1.0)


def test_call_conversion_of_a_period_without_calls_has_no_rate(session, now):
    empty = call_conversion(session, since=now - timedelta(days=1), until=now)

    assert (empty.inbound_calls, empty.with_appointment, empty.rate) == (0, 0, None)


def test_call_conversion_periods_include_their_start_and_exclude_their_end(session, now):
    patient = make_patient(session)
    contact = call(session, patient)
    at = contact.occurred_at

    assert call_conversion(session, since=at, until=at + timedelta(seconds=1)).inbound_calls \
        == 1
    assert call_conversion(session, since=at - timedelta(hours=1), until=at).inbound_calls == 0


def test_a_booking_into_a_taken_slot_saves_neither_the_call_nor_an_appointment(session, now):
    clinic = make_clinic(session)
    doctor = make_clinician(session, clinic=clinic)
    slot = now + timedelta(days=2)
    make_appointment(session, patient=make_patient(session), clinic=clinic,
                     clinician_id=doctor.id, starts_at=slot)
    patient = make_patient(session)

    with pytest.raises(Conflict) as refused:
        log_contact(session, patient=patient, channel="phone_in", reason="appointment",
                    outcome="appointment_booked", actor=TEST_ACTOR,
                    booking=Booking(clinic_id=clinic.id, starts_at=slot, clinician_id=doctor.id))
    session.rollback()

    assert "starts_at" in refused.value.field_errors
    assert count(session, ContactLog) == 0
    assert count(session, Appointment) == 1
    assert count(session, TimelineEntry, TimelineEntry.kind == "contact") == 0


def test_a_booking_without_a_clinic_is_refused_naming_the_field(session, now):
    patient = make_patient(session)

    with pytest.raises(ValidationFailed) as refused:
        log_contact(session, patient=patient, channel="phone_in", reason="appointment",
                    outcome="appointment_booked", actor=TEST_ACTOR,
                    booking=Booking(clinic_id=None, starts_at=now + timedelta(days=1)))
    session.rollback()

    assert set(refused.value.field_errors) == {"clinic_id"}
    assert count(session, ContactLog) == 0


def test_two_callers_booking_the_same_slot_at_once_one_call_books_and_one_is_refused(
        engine, session, now):
    clinic = make_clinic(session)
    doctor = make_clinician(session, clinic=clinic)
    patients = [make_patient(session), make_patient(session)]
    slot = now + timedelta(days=5)
    barrier = threading.Barrier(2, timeout=10)
    outcomes: dict[int, object] = {}

    def book_for(patient: Patient) -> None:
        with Session(engine, expire_on_commit=False) as own:
            mine = own.get(Patient, patient.id)
            barrier.wait()
            try:
                log_contact(own, patient=mine, channel="phone_in", reason="appointment",
                            outcome="appointment_booked", actor=TEST_ACTOR,
                            booking=Booking(clinic_id=clinic.id, starts_at=slot,
                                            clinician_id=doctor.id))
                own.commit()
                outcomes[patient.id] = "booked"
            except Exception as error:  # the test inspects what it was
                own.rollback()
                outcomes[patient.id] = error

    threads = [threading.Thread(target=book_for, args=(p,)) for p in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(map(str, outcomes.values())).count("booked") == 1, outcomes
    refused = [o for o in outcomes.values() if o != "booked"]
    assert len(refused) == 1 and isinstance(refused[0], Conflict), outcomes
    session.expire_all()
    assert count(session, Appointment) == 1
    assert count(session, ContactLog) == 1
    contact = session.exec(select(ContactLog)).one()
    assert outcomes[contact.patient_id] == "booked"
    assert session.get(Appointment, contact.appointment_id).patient_id == contact.patient_id
