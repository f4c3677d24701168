"""How the audit log reads: every part of a row in the page's language, the patient by HN
and name (read with the rows, in one statement), and new records logged as created."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import col, select

from prm.admin.audit_labels import action_labels, describe, detail
from prm.audit import service as audit
from prm.audit.service import Actor, AuditFilter
from prm.contacts.service import log_contact
from prm.i18n import current_language, gettext, ngettext
from prm.models.audit import AuditAction, AuditEvent
from prm.models.types import utcnow
from prm.patients import service as patients
from tests.factories import make_patient, make_staff, shown, sign_in


@pytest.fixture
def admin_client(client, session):
    sign_in(client, session, role="admin")
    return client


@pytest.fixture
def thai():
    token = current_language.set("th")
    yield
    current_language.reset(token)


def _row(action=AuditAction.update, entity_type="", entity_id="", text="") -> AuditEvent:
    return AuditEvent(action=action, entity_type=entity_type, entity_id=entity_id,
                      detail=text, username="nurse1")


def _th(message: str, **params) -> str:
    token = current_language.set("th")
    try:
        return gettext(message, **params)
    finally:
        current_language.reset(token)


# (row, what its detail reads in Thai): every detail the services write as a code.
DETAILS = [
    (_row(entity_type="appointment", text="booked->arrived"),
     lambda: f"{_th('Booked')} → {_th('Checked in')}"),
    (_row(entity_type="appointment", text="rescheduled"), lambda: _th("moved to another time")),
    (_row(entity_type="worklist_item", text="claimed"), lambda: _th("taken")),
    (_row(entity_type="worklist_item", text="released"), lambda: _th("given back")),
    (_row(entity_type="worklist_item", text="no_answer"), lambda: _th("No answer")),
    (_row(entity_type="coverage", text="ended"), lambda: _th("ended")),
    (_row(entity_type="patient", text="sms_consent"), lambda: _th("SMS consent")),
    (_row(entity_type="patient", text="phone_e164,given_name_th"),
     lambda: f"{_th('phone')}, {_th('name')}"),
    (_row(entity_type="staff_user", text="password reset"), lambda: _th("password reset")),
    (_row(entity_type="staff_user", text="active=no"), lambda: _th("account deactivated")),
    (_row(AuditAction.login_failed, "staff_user", text="ghost"),
     lambda: _th("username typed: %(name)s", name="ghost")),
    (_row(entity_type="rule_setting", entity_id="no_show", text="enabled=True threshold=3"),
     lambda: _th("on, threshold %(threshold)s", threshold="3")),
    (_row(entity_type="fhir_records", text="scheduled sync: 12 records written, 1 quarantined"),
     lambda: _th("%(written)s records written, %(quarantined)s quarantined",
                 written="12", quarantined="1")),
    (_row(entity_type="segment_rule", text="off"), lambda: _th("switched off")),
    (_row(entity_type="segment_rule", text="payor_name สำนักงานประกันสังคม → social_security"),
     lambda: _th("%(kind)s “%(pattern)s” → %(segment)s", kind=_th("Words in the payor's name"),
                 pattern="สำนักงานประกันสังคม", segment="social_security")),
    (_row(entity_type="lab_result", text="acknowledged"), lambda: _th("acknowledged")),
    # A list's facts are said in the "what" column; a FHIR reference is shown as it is.
    (_row(AuditAction.search, "patient_search", text="kind=hn shown=3"), lambda: ""),
    (_row(AuditAction.view, "fhir_quarantine", text="Coverage/c1"), lambda: "Coverage/c1"),
]


@pytest.mark.parametrize(("row", "words"), DETAILS, ids=lambda v: getattr(v, "detail", ""))
def test_each_detail_the_services_write_reads_in_thai(thai, row, words):
    assert detail(row) == words()


def test_actions_record_names_and_lists_read_in_thai(thai):
    assert action_labels()[AuditAction.create] == _th("Added") != "Added"
    assert describe(_row(entity_type="note", entity_id="7")) == f"{_th('note')} 7"
    assert describe(_row(entity_type="rule_setting", entity_id="no_show")) == \
        f"{_th('follow-up rule')}: {_th('No-shows to rebook')}"
    assert describe(_row(AuditAction.listing, "worklist", text="queue=today shown=2")) == \
        _th("worklist (%(queue)s) — %(shown)s", queue=_th("Today (all lists)"),
            shown=ngettext("%(num)s patient shown", "%(num)s patients shown", 2))


def test_every_action_has_words():
    assert set(action_labels()) == set(AuditAction)


def test_a_new_note_contact_or_coverage_is_audited_as_created_and_a_change_as_updated(
        session):
    patient = make_patient(session)
    actor = Actor.for_user(make_staff(session))
    last = session.exec(select(col(AuditEvent.id)).order_by(col(AuditEvent.id).desc())).first()

    patients.add_note(session, patient=patient, text="แพ้ยา", actor=actor)
    log_contact(session, patient=patient, channel="phone_in", reason="appointment",
                outcome="answered", actor=actor)
    coverage = patients.add_coverage(session, patient=patient, segment_code="civil_servant",
                                     actor=actor)
    patients.end_coverage(session, patient=patient, coverage_id=coverage.id, actor=actor)
    session.commit()

    rows = session.exec(select(AuditEvent).where(AuditEvent.id > (last or 0))
                        .order_by(col(AuditEvent.id))).all()
    assert [(row.action, row.entity_type) for row in rows] == [
        (AuditAction.create, "note"), (AuditAction.create, "contact"),
        (AuditAction.create, "coverage"), (AuditAction.update, "coverage")]


def test_the_log_names_each_patient_by_hn_and_name_read_with_the_rows(session, engine):
    """One statement for the page and one for the count, however many patients."""
    actor = Actor(user_id=None, username="nurse1")
    named = [make_patient(session) for _ in range(12)]
    for patient in named:
        audit.record(session, actor=actor, action=AuditAction.view, entity_type="patient",
                     entity_id=patient.id, patient_id=patient.id)
    audit.record(session, actor=actor, action=AuditAction.logout)
    session.commit()
    statements = []

    def count(_connection, _cursor, statement, *_rest):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        rows, total = audit.search(session, filters=AuditFilter(
            username="nurse1", since=utcnow() - timedelta(hours=1)))
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert total == 13 and len(statements) == 2
    assert rows[0].patient is None  # the logout names nobody
    assert {(r.patient.id, r.patient.hn, r.patient.given_name_th) for r in rows[1:]} == {
        (p.id, p.hn, p.given_name_th) for p in named}


def test_the_patient_column_links_to_every_event_about_the_patient(admin_client, session):
    patient = make_patient(session)
    audit.record(session, actor=Actor(user_id=None, username="nurse1"),
                 action=AuditAction.view, entity_type="patient", entity_id=patient.id,
                 patient_id=patient.id)
    session.commit()

    page = admin_client.get("/admin/audit").text

    assert f'<a href="/admin/audit?patient_id={patient.id}"' in page
    assert patient.hn in page
    assert f"{patient.given_name_th} {patient.family_name_th}" in page
    assert shown("Opened") in page and ">view<" not in page


def test_a_payer_rule_row_names_its_segment_as_the_hospital_calls_it(admin_client, session):
    audit.record(session, actor=Actor(user_id=None, username="admin9"),
                 action=AuditAction.create, entity_type="segment_rule", entity_id=1,
                 detail="code *|OFC → civil_servant")
    session.commit()

    page = admin_client.get("/admin/audit").text

    assert "“*|OFC” → ผู้ป่วยสิทธิข้าราชการ" in page and "civil_servant" not in page


def test_the_records_a_new_account_opened_first_are_named_by_hn_and_name(admin_client, session):
    nurse = make_staff(session, username="somsri")
    made = Actor(user_id=None, username="admin9")
    audit.record(session, actor=made, action=AuditAction.create, entity_type="staff_user",
                 entity_id=nurse.id)
    opened = make_patient(session, given_name_th="มะลิ", family_name_th="ทองดี")
    audit.record(session, actor=Actor.for_user(nurse), action=AuditAction.view,
                 entity_type="patient", entity_id=opened.id, patient_id=opened.id)
    session.commit()

    page = admin_client.get("/admin/audit/accounts").text

    assert f'<a href="/admin/audit?patient_id={opened.id}"' in page
    assert opened.hn in page and "มะลิ ทองดี" in page
    assert shown("Patient %(id)s", id=opened.id) not in page
