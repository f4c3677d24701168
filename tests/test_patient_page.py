"""The 360° page reads everything it shows in one go: every timeline source, the side
panel, the audit row, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from prm import timeline
from prm.models.audit import AuditEvent
from prm.models.care import AppointmentStatus, Interpretation
from prm.models.segment import Segment
from prm.models.types import utcnow
from prm.patients import service
from tests.care_factories import (
    make_appointment,
    make_clinic,
    make_discharge,
    make_dispense,
    make_encounter,
    make_lab_result,
    make_medication_order,
)
from tests.factories import TEST_ACTOR, make_patient, shown


def _care_history(session, patient):
    """One of each kind of record, a day apart, oldest first; and a booking to come."""
    day = timedelta(days=1)
    start = utcnow() - 30 * day
    clinic = make_clinic(session, name_th="อายุรกรรม", name_en="Medicine")
    make_appointment(session, patient=patient, clinic=clinic, starts_at=start,
                     status=AppointmentStatus.fulfilled, reason="check-up")
    make_encounter(session, patient=patient, started_at=start + day)
    make_lab_result(session, patient=patient, released_at=start + 2 * day,
                    interpretation=Interpretation.high)
    order = make_medication_order(session, patient=patient, ordered_at=start + 3 * day)
    make_dispense(session, order=order, prepared_at=start + 4 * day)
    make_discharge(session, patient=patient, discharged_at=start + 9 * day)
    timeline.record(session, patient=patient, kind="note", actor=TEST_ACTOR, body="called back",
                    occurred_at=start + 10 * day)
    session.commit()
    return make_appointment(session, patient=patient, clinic=clinic,
                            starts_at=utcnow() + 3 * day)


def test_the_page_shows_every_source_newest_first_and_the_side_panel(nurse_client, session):
    patient = make_patient(session)
    upcoming = _care_history(session, patient)

    page = nurse_client.get(f"/patients/{patient.id}").text

    timeline_html = page[page.index('<ol class="timeline">'):page.index("</ol>")]
    newest_first = [
        f'href="/appointments/{upcoming.id}"',  # booked, in three days
        shown("Registered with HN %(hn)s", hn=patient.hn),  # today
        "called back",  # the note
        f'class="body">{shown("Went home")}<',  # the admission: where the patient went
        "Metformin 500 mg",
        "HbA1c",
        shown("Outpatient visit"),
        "check-up",  # the first appointment's reason
    ]
    positions = [timeline_html.find(text) for text in newest_first]
    assert -1 not in positions, dict(zip(newest_first, positions, strict=True))
    assert positions == sorted(positions)
    side_panel = page[page.index("<aside"):]
    assert f'href="/appointments/{upcoming.id}"' in side_panel  # next appointments
    assert "อายุรกรรม" in side_panel  # its clinic, in the language staff chose


def test_each_group_and_every_page_of_the_timeline_reads_every_source(session):
    patient = make_patient(session)
    _care_history(session, patient)
    everything = timeline.entries(session, patient=patient, limit=50)

    paged, before = [], None
    while page := timeline.entries(session, patient=patient, limit=3, before=before):
        paged += page
        before = page[-1].occurred_at

    assert len(everything) == 8  # registration, five care records, the note, the booking
    assert [item.title for item in paged] == [item.title for item in everything]
    for group in timeline.GROUPS:
        assert timeline.entries(session, patient=patient, group=group) == [
            item for item in everything if item.group == group]


def test_an_unknown_patient_is_a_404_without_an_audit_row(nurse_client, session):
    before = session.exec(select(func.count()).select_from(AuditEvent)).one()

    assert nurse_client.get("/patients/999999").status_code == 404
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == before


def test_each_view_of_the_page_writes_one_audit_row_for_that_patient(nurse_client, session):
    patient = make_patient(session)
    audit_rows = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.patient_id == patient.id, AuditEvent.action == "view")

    for _ in range(2):
        page = nurse_client.get(f"/patients/{patient.id}")
        assert page.status_code == 200 and patient.hn in page.text

    assert session.execute(audit_rows).scalar_one() == 2


def test_a_connection_the_server_dropped_is_replaced_without_an_error(nurse_client,
                                                                      session, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL behaviour")
    patient = make_patient(session)
    assert nurse_client.get(f"/patients/{patient.id}").status_code == 200
    session.commit()
    # As a server restart would: every other connection to this database is cut.
    session.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    session.commit()

    page = nurse_client.get(f"/patients/{patient.id}")

    assert page.status_code == 200 and patient.hn in page.text


def test_the_overview_finds_the_segment_even_when_it_is_no_longer_offered(session):
    patient = make_patient(session)
    segment = session.get(Segment, patient.segment_code)
    segment.active = False
    session.add(segment)
    session.commit()
    try:
        page = service.overview(session, patient_id=patient.id)
    finally:  # segments are seed data that outlive a PostgreSQL test
        segment.active = True
        session.add(segment)
        session.commit()

    assert page.segment.code == patient.segment_code
    assert patient.segment_code not in page.segment_names
    assert page.patient.hn == patient.hn




def test_the_side_panel_forms_act_on_this_patient_with_the_users_csrf_token(nurse_client,
                                                                            session):
    patients = [make_patient(session, sms_consent=False), make_patient(session, sms_consent=True)]

    pages = [nurse_client.get(f"/patients/{p.id}").text for p in patients]

    for patient, page in zip(patients, pages, strict=True):
        for action in ("contacts", "notes", "coverages", "consent"):
            assert f'action="/patients/{patient.id}/{action}"' in page
        assert page.count(f'value="{nurse_client.headers["X-CSRF-Token"]}"') >= 6
    assert shown("Record withdrawal of consent") in pages[1]
    assert shown("Record withdrawal of consent") not in pages[0]


def test_what_was_typed_into_a_failed_action_is_shown_and_not_kept(nurse_client, session):
    patient = make_patient(session)
    typed = "prefers a call after 5 pm (typed)"

    response = nurse_client.post(f"/patients/{patient.id}/contacts",
                                 data={"channel": "phone_out", "reason": "", "note": typed})

    assert response.status_code == 422
    assert typed in response.text
    assert typed not in nurse_client.get(f"/patients/{patient.id}").text


def test_where_a_patient_went_reads_in_the_staffs_words_and_unknown_text_as_sent(
        nurse_client, session):
    patient = make_patient(session)
    make_discharge(session, patient=patient, discharged_at=utcnow() - timedelta(days=9),
                   discharge_disposition="other-hcf")
    make_discharge(session, patient=patient, discharged_at=utcnow() - timedelta(days=2),
                   discharge_disposition="ส่งกลับ รพ.ต้นสังกัด")

    page = nurse_client.get(f"/patients/{patient.id}").text

    assert f'class="body">{shown("Transferred to another facility")}<' in page
    assert 'class="body">ส่งกลับ รพ.ต้นสังกัด<' in page
