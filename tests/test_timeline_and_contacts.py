"""Logging contacts and notes, and reading them back on the patient's timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from markupsafe import escape
from sqlmodel import Session, func, select

from prm import timeline
from prm.contacts import labels
from prm.i18n import current_language
from prm.models.audit import AuditEvent
from prm.models.contact import ContactLog, PatientNote
from prm.models.patient import Patient
from prm.models.timeline import TimelineEntry
from prm.models.types import utcnow
from tests.factories import TEST_ACTOR, make_patient, shown

CALL = {"channel": "phone_out", "reason": "appointment", "outcome": "reached",
        "note": "explained the follow-up appointment"}


def contact_title(channel: str, reason: str, outcome: str, language: str = "th") -> str:
    token = current_language.set(language)
    try:
        return str(escape(f"{labels.channel_labels()[channel]} · "
                          f"{labels.reason_labels()[reason]} → "
                          f"{labels.outcome_labels()[outcome]}"))
    finally:
        current_language.reset(token)


def _count(session: Session, model, **where) -> int:
    session.expire_all()
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return session.exec(query).one()


def _timeline(client, patient: Patient, group: str = "") -> str:
    response = client.get(f"/patients/{patient.id}/timeline", params={"group": group},
                          headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.text


def test_a_logged_contact_lands_on_the_timeline_with_its_title_and_note(nurse_client, session):
    patient = make_patient(session)

    response = nurse_client.post(f"/patients/{patient.id}/contacts", data=CALL)

    assert response.status_code == 303
    assert response.headers["location"] == f"/patients/{patient.id}"
    page = nurse_client.get(f"/patients/{patient.id}").text
    assert contact_title("phone_out", "appointment", "reached") in page
    assert CALL["note"] in page
    assert "Test nurse" in page  # who logged it
    contact = session.exec(select(ContactLog)).one()
    assert contact.patient_id == patient.id
    assert contact.note == CALL["note"]
    entry = session.exec(select(TimelineEntry).where(TimelineEntry.kind == "contact")).one()
    assert (entry.ref_type, entry.ref_id) == ("contact", contact.id)
    assert _count(session, AuditEvent, entity_type="contact", patient_id=patient.id) == 1


def test_the_contact_title_follows_the_language_staff_chose(nurse_client, session):
    patient = make_patient(session)
    nurse_client.post(f"/patients/{patient.id}/contacts", data=CALL)

    switched = nurse_client.post("/language", data={"language": "en",
                                                    "next": f"/patients/{patient.id}"})

    assert switched.status_code == 303
    page = nurse_client.get(f"/patients/{patient.id}").text
    assert "Phone call out · Appointment → Reached the patient" in page
    assert '<html lang="en">' in page


def test_the_timeline_shows_the_newest_entry_first(nurse_client, session):
    patient = make_patient(session)
    nurse_client.post(f"/patients/{patient.id}/contacts", data={**CALL, "note": "first call"})
    nurse_client.post(f"/patients/{patient.id}/notes", data={"text": "a note in between"})
    nurse_client.post(f"/patients/{patient.id}/contacts", data={
        "channel": "phone_in", "reason": "result_question", "outcome": "answered",
        "note": "second call"})

    html = _timeline(nurse_client, patient)

    assert html.index("second call") < html.index("a note in between") < html.index(
        "first call") < html.index(shown("Registered with HN %(hn)s", hn=patient.hn))


def test_an_invalid_outcome_re_renders_with_the_error_and_keeps_the_note(nurse_client, session):
    patient = make_patient(session)

    response = nurse_client.post(f"/patients/{patient.id}/contacts",
                                 data={**CALL, "outcome": "teleported"})

    assert response.status_code == 422
    assert shown("Please correct the marked fields.") in response.text
    assert 'id="e-outcome"' in response.text  # the error sits beside the outcome
    assert CALL["note"] in response.text  # what was typed is still there
    assert _count(session, ContactLog) == 0
    assert _count(session, TimelineEntry, kind="contact") == 0


def test_a_contact_without_a_reason_is_refused(nurse_client, session):
    patient = make_patient(session)

    response = nurse_client.post(f"/patients/{patient.id}/contacts",
                                 data={**CALL, "reason": ""})

    assert response.status_code == 422
    assert 'id="e-reason"' in response.text
    assert _count(session, ContactLog) == 0


def test_a_note_is_added_to_the_timeline(nurse_client, session):
    patient = make_patient(session)

    response = nurse_client.post(f"/patients/{patient.id}/notes",
                                 data={"text": "  prefers calls after 5 pm  "})

    assert response.status_code == 303
    note = session.exec(select(PatientNote)).one()
    assert note.text == "prefers calls after 5 pm"
    assert "prefers calls after 5 pm" in _timeline(nurse_client, patient, "notes")
    assert _count(session, AuditEvent, entity_type="note", patient_id=patient.id) == 1


def test_an_empty_note_is_refused(nurse_client, session):
    patient = make_patient(session)

    response = nurse_client.post(f"/patients/{patient.id}/notes", data={"text": "   "})

    assert response.status_code == 422
    assert shown("The note is empty.") in response.text
    assert _count(session, PatientNote) == 0


def test_an_overlong_note_is_refused_and_kept_for_editing(nurse_client, session):
    patient = make_patient(session)
    text = "ก" * 4001

    response = nurse_client.post(f"/patients/{patient.id}/notes", data={"text": text})

    assert response.status_code == 422
    assert text in response.text
    assert _count(session, PatientNote) == 0


def test_the_group_filter_shows_only_that_group(nurse_client, session):
    patient = make_patient(session)
    nurse_client.post(f"/patients/{patient.id}/contacts", data=CALL)
    nurse_client.post(f"/patients/{patient.id}/notes", data={"text": "a plain note"})
    registered = shown("Registered with HN %(hn)s", hn=patient.hn)

    contacts_page = nurse_client.get(f"/patients/{patient.id}", params={"group": "contacts"})
    contacts_only = _timeline(nurse_client, patient, "contacts")
    notes_only = _timeline(nurse_client, patient, "notes")
    everything = _timeline(nurse_client, patient)

    for html in (contacts_page.text, contacts_only):
        assert CALL["note"] in html
        assert "a plain note" not in html
        assert registered not in html
    assert "a plain note" in notes_only
    assert CALL["note"] not in notes_only
    assert all(text in everything for text in (CALL["note"], "a plain note", registered))


def test_the_htmx_timeline_is_a_fragment_and_the_plain_one_a_page(nurse_client, session):
    patient = make_patient(session)

    fragment = _timeline(nurse_client, patient, "contacts")
    page = nurse_client.get(f"/patients/{patient.id}", params={"group": "contacts"}).text

    assert "<html" not in fragment
    assert 'id="timeline"' in fragment
    assert "<html" in page and 'id="timeline"' in page


def test_one_patients_timeline_never_shows_anothers_entries(nurse_client, session):
    mine = make_patient(session)
    theirs = make_patient(session)
    nurse_client.post(f"/patients/{theirs.id}/notes", data={"text": "their private note"})
    nurse_client.post(f"/patients/{theirs.id}/contacts", data={**CALL, "note": "their call"})
    nurse_client.post(f"/patients/{mine.id}/notes", data={"text": "my note"})

    for html in (nurse_client.get(f"/patients/{mine.id}").text,
                 _timeline(nurse_client, mine), _timeline(nurse_client, mine, "contacts")):
        assert "their private note" not in html
        assert "their call" not in html
        assert shown("Registered with HN %(hn)s", hn=theirs.hn) not in html
    assert "my note" in _timeline(nurse_client, mine)


def test_the_timeline_pages_backwards(session):
    patient = make_patient(session)
    start = utcnow() + timedelta(minutes=1)  # after the registration entry
    for n in range(5):
        timeline.record(session, patient=patient, kind="note", actor=TEST_ACTOR,
                        body=f"note {n}", occurred_at=start + timedelta(minutes=n))
    session.commit()

    first = timeline.entries(session, patient=patient, limit=3)
    rest = timeline.entries(session, patient=patient, limit=3, before=first[-1].occurred_at)

    assert [item.body for item in first] == ["note 4", "note 3", "note 2"]
    assert [item.body for item in rest] == ["note 1", "note 0", ""]  # "" is the registration
    assert rest[-1].title == shown("Registered with HN %(hn)s", hn=patient.hn)


def test_the_timeline_refuses_kinds_nobody_registered(session):
    patient = make_patient(session)

    with pytest.raises(ValueError):
        timeline.record(session, patient=patient, kind="no_such_kind", actor=TEST_ACTOR)


def test_a_contact_on_an_unknown_patient_is_a_404(nurse_client, session):
    response = nurse_client.post("/patients/999999/contacts", data=CALL)

    assert response.status_code == 404
    assert _count(session, ContactLog) == 0
