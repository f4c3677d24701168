"""Every view, edit and export of a patient record is written to the audit log.

A view is any page or fragment that shows a patient's identity with clinical or contact
detail, or a list of patients (ARCHITECTURE.md, "What is audited"). The route test below
reads the GET routes from the app: each either shows no patient data (listed, with why)
or must write an audit row naming the patient it showed, so a new route fails until it is
classified.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from prm.admin.audit_labels import query_kind_labels
from prm.audit.service import Actor
from prm.models.audit import AuditAction, AuditEvent
from prm.models.integration import QuarantinedResource
from prm.models.types import utcnow
from prm.patients import service as patients
from prm.patients.search import QueryKind, query_kind
from tests.care_factories import make_appointment, make_clinic, make_worklist_item
from tests.factories import make_patient, sign_in
from tests.routes import served_routes


def _audit_rows(session, **where):
    query = select(func.count()).select_from(AuditEvent)
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return session.exec(query).one()


def _rows_after(session: Session, last_id: int) -> list[AuditEvent]:
    session.expire_all()
    return list(session.exec(select(AuditEvent).where(AuditEvent.id > last_id)
                             .order_by(col(AuditEvent.id))).all())


def _last_id(session: Session) -> int:
    return session.exec(select(func.coalesce(func.max(AuditEvent.id), 0))).one()


def test_opening_a_patient_page_writes_exactly_one_audit_row(nurse_client, session):
    patient = make_patient(session)
    before = _audit_rows(session)

    response = nurse_client.get(f"/patients/{patient.id}")

    assert response.status_code == 200
    assert _audit_rows(session) == before + 1
    event = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.action == AuditAction.view
    assert event.patient_id == patient.id
    assert event.username.startswith("nurse")
    assert event.ip
    assert event.request_id


# --- every GET route, read from the app ----------------------------------------------------

# GET routes that show no patient's data, and why. Every other GET route is requested
# below and must write an audit row naming the patient it showed.
SHOWS_NO_PATIENT_DATA = {
    "/login": "the login form",
    "/healthz": "the database's status",
    "/admin": "a redirect to the staff accounts",
    "/admin/users": "staff accounts",
    "/admin/audit": "the audit log: the HN and name of the patient a row names, no "
                    "clinical or contact detail",
    "/admin/audit/accounts": "accounts made or reset and the patients they opened first: "
                             "HN and name, no clinical or contact detail, like the audit "
                             "log",
    "/password": "the form to change one's own password",
    "/admin/rules": "the follow-up rules' settings",
    "/admin/fhir": "sync status, and quarantined resources by type, id and error (their "
                   "raw text is on the quarantine page, audited)",
    "/segments": "patients counted per payer segment",
    "/worklists/count": "a count",
    "/patients/new": "an empty registration form",
    "/appointments/clinicians": "clinicians' names for a select",
    "/appointments/slots": "a clinician's free times: times only, no patient or booking",
}
# Audited, but with no patient to name: the raw text of a resource that could not be
# read or mapped to one.
AUDITED_WITHOUT_PATIENT = {"/admin/fhir/quarantine/{row_id}"}
# The role that opens a route, where a nurse may not.
ROLE = {"/admin/fhir/quarantine/{row_id}": "admin"}
# Routes that show patients only when asked for some: the query string that asks.
SHOWING_QUERY = {
    "/patients": "q={hn}",
    "/patients/suggest": "q={hn}",
    "/appointments": "day={day}&clinic={clinic_id}",
    "/appointments/new": "patient_id={patient_id}",
}


def _get_routes(app) -> list[str]:
    return sorted({path for path, methods, _route in served_routes(app) if "GET" in methods})


def _showing(session: Session, settings, nurse) -> dict[str, object]:
    """One patient on every page: on today's worklist and a clinic's day, opened before
    (the start page lists them), and a quarantined resource for the admin's page."""
    patient = make_patient(session)
    clinic = make_clinic(session)
    starts_at = utcnow() + timedelta(minutes=5)
    appointment = make_appointment(session, patient=patient, clinic=clinic, starts_at=starts_at)
    item = make_worklist_item(session, patient=patient, due_at=utcnow() - timedelta(hours=1))
    patients.record_view(session, patient_id=patient.id, actor=Actor.for_user(nurse))
    quarantined = QuarantinedResource(server="test", origin="test", resource_type="Patient",
                                      resource_id="p1", error="unreadable", raw="{}")
    session.add(quarantined)
    session.commit()
    return {"patient_id": patient.id, "hn": patient.hn, "clinic_id": clinic.id,
            "appointment_id": appointment.id, "item_id": item.id, "row_id": quarantined.id,
            "day": starts_at.astimezone(settings.tz).date().isoformat()}


def _path(template: str, ids: dict[str, object]) -> str:
    """A real path for the route (unknown ids get 0: such a route fails until it is
    given its ids here), with the query that makes it show patients."""
    path = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(ids.get(m.group(1), 0)), template)
    query = SHOWING_QUERY.get(template, "").format(**ids)
    return f"{path}?{query}" if query else path


def test_every_route_that_shows_patient_data_audits_the_patients_it_showed(
        app, client, session, settings):
    nurse = sign_in(client, session, role="nurse")
    admin_client = TestClient(app, follow_redirects=False)
    admin = sign_in(admin_client, session, role="admin")
    ids = _showing(session, settings, nurse)
    wrong = []
    for template in _get_routes(app):
        if template in SHOWS_NO_PATIENT_DATA:
            continue
        browser, user = (admin_client, admin) if ROLE.get(template) else (client, nurse)
        for htmx in (False, True):  # one URL, two renderings: both audited
            last = _last_id(session)
            response = browser.get(_path(template, ids),
                                   headers={"HX-Request": "true"} if htmx else {})
            named = {row.patient_id for row in _rows_after(session, last)
                     if row.user_id == user.id}
            expected = {None} if template in AUDITED_WITHOUT_PATIENT else {ids["patient_id"]}
            if response.status_code != 200 or not expected <= named:
                wrong.append(f"GET {template} (htmx={htmx}): {response.status_code}, "
                             f"audited patients {named}")
    assert wrong == [], ("Audit these routes, or list them in SHOWS_NO_PATIENT_DATA with "
                         "a reason: " + "; ".join(wrong))


def test_the_routes_said_to_show_no_patient_data_are_routes_the_app_serves(app):
    served = set(_get_routes(app))

    assert set(SHOWS_NO_PATIENT_DATA) <= served
    assert AUDITED_WITHOUT_PATIENT | set(SHOWING_QUERY) <= served
    assert all(reason for reason in SHOWS_NO_PATIENT_DATA.values())


# --- search and suggestions ----------------------------------------------------------------

def test_a_search_writes_one_row_per_patient_shown_with_its_kind_never_its_text(
        nurse_client, session):
    shown = {make_patient(session).id for _ in range(3)}
    last = _last_id(session)

    assert nurse_client.get("/patients", params={"q": "somchai"}).status_code == 200

    rows = _rows_after(session, last)
    assert {row.patient_id for row in rows} == shown and len(rows) == 3
    assert {(row.action, row.entity_type, row.detail) for row in rows} == {
        (AuditAction.search, "patient_search", "kind=name shown=3")}
    assert len({row.request_id for row in rows}) == 1 and rows[0].request_id


def test_results_as_staff_type_and_the_suggestions_are_audited(nurse_client, session):
    patient = make_patient(session)
    last = _last_id(session)

    nurse_client.get("/patients", params={"q": patient.hn}, headers={"HX-Request": "true"})
    nurse_client.get("/patients/suggest", params={"q": patient.national_id})

    assert [(row.entity_type, row.patient_id, row.detail) for row in _rows_after(session, last)
            ] == [("patient_search", patient.id, "kind=hn shown=1"),
                  ("patient_suggest", patient.id, "kind=national_id shown=1")]


def test_a_search_that_finds_nobody_is_one_row_and_one_letter_is_none(nurse_client, session):
    last = _last_id(session)

    nurse_client.get("/patients", params={"q": "0899999999"})
    nurse_client.get("/patients/suggest", params={"q": "s"})

    assert [(row.patient_id, row.detail) for row in _rows_after(session, last)] == [
        (None, "kind=phone shown=0")]


@pytest.mark.parametrize(("query", "kind"), [
    ("69001234", QueryKind.hn), ("1-2345-67890-12-1", QueryKind.national_id),
    ("081 234 5678", QueryKind.phone), ("+66812345678", QueryKind.phone),
    ("AB1234567", QueryKind.passport), ("สมชาย", QueryKind.name), ("somchai sr", QueryKind.name),
    ("s", None), ("", None),
])
def test_a_query_has_a_kind(query, kind):
    assert query_kind(query) == kind


def test_every_query_kind_has_words_on_the_audit_page():
    assert set(query_kind_labels()) == {kind.value for kind in QueryKind}


def test_searches_and_lists_do_not_fill_the_recently_opened_list(nurse_client, session):
    opened, searched = make_patient(session), make_patient(session, given_name_en="Manee")
    nurse_client.get(f"/patients/{opened.id}")
    nurse_client.get("/patients", params={"q": "manee"})

    home = nurse_client.get("/").text

    assert f'href="/patients/{opened.id}"' in home
    assert f'href="/patients/{searched.id}"' not in home


# --- worklists and appointments -----------------------------------------------------------

def test_a_worklist_page_names_each_patient_shown_once(nurse_client, session):
    twice, once = make_patient(session), make_patient(session)
    for patient in (twice, twice, once):
        make_worklist_item(session, patient=patient, due_at=utcnow() - timedelta(hours=1))
    last = _last_id(session)

    assert nurse_client.get("/worklists").status_code == 200

    rows = _rows_after(session, last)
    assert sorted(row.patient_id for row in rows) == sorted([twice.id, once.id])
    assert {(row.action, row.entity_type, row.detail) for row in rows} == {
        (AuditAction.listing, "worklist", "queue=today shown=2")}


def test_an_empty_worklist_writes_nothing(nurse_client, session):
    last = _last_id(session)

    assert nurse_client.get("/worklists").status_code == 200

    assert _rows_after(session, last) == []


def test_the_next_page_of_a_worklist_is_audited(nurse_client, session):
    items = [make_worklist_item(session, patient=make_patient(session),
                                due_at=utcnow() - timedelta(hours=1)) for _ in range(26)]
    last = _last_id(session)

    response = nurse_client.get("/worklists", params={"after": items[24].id},
                                headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert [row.patient_id for row in _rows_after(session, last)] == [items[25].patient_id]


def test_the_outcome_form_of_a_worklist_item_is_a_view_of_the_patient(nurse_client, session):
    patient = make_patient(session)
    item = make_worklist_item(session, patient=patient)
    last = _last_id(session)

    assert nurse_client.get(f"/worklists/items/{item.id}").status_code == 200

    assert [(row.action, row.entity_type, row.entity_id, row.patient_id)
            for row in _rows_after(session, last)] == [
        (AuditAction.view, "worklist_item", str(item.id), patient.id)]


def test_the_booking_form_for_a_patient_is_audited_and_the_blank_one_is_not(
        nurse_client, session):
    patient = make_patient(session)
    last = _last_id(session)

    assert nurse_client.get("/appointments/new").status_code == 200
    assert nurse_client.get("/appointments/new", params={"patient_id": patient.id}
                            ).status_code == 200

    assert [(row.action, row.entity_type, row.patient_id)
            for row in _rows_after(session, last)] == [
        (AuditAction.view, "booking_form", patient.id)]


# --- the audit log page ---------------------------------------------------------------------

def test_the_audit_log_says_what_was_shown_and_finds_a_search_by_its_patient(
        app, nurse_client, session):
    found = make_patient(session)
    nurse_client.get("/patients", params={"q": found.hn})
    nurse_client.get(f"/worklists/items/{make_worklist_item(session, patient=found).id}")
    auditor = TestClient(app, follow_redirects=False, cookies={"prm_lang": "en"})
    sign_in(auditor, session, role="admin")

    page = auditor.get("/admin/audit", params={"patient_id": found.id}).text

    assert "search (HN) — 1 patient shown" in page
    assert "worklist item" in page
    assert f'href="/admin/audit?patient_id={found.id}"' in page and found.hn in page
    auditor.cookies.set("prm_lang", "th")
    thai = auditor.get("/admin/audit", params={"patient_id": found.id}).text
    assert "ค้นหา (HN) — แสดงผู้ป่วย 1 ราย" in thai and "รายการงานติดตาม" in thai


# --- a refused form shown again shows the record again -------------------------------------

# (route, a form the service or the form layer refuses) for every form whose refusal shows
# a patient's record again.
REFUSED_FORMS = [
    ("/patients/{patient_id}/contacts", {"channel": "phone_out", "note": "no outcome"}),
    ("/patients/{patient_id}/notes", {"text": ""}),
    ("/patients/{patient_id}", {"given_name_th": "", "family_name_th": ""}),
    ("/appointments", {"hn": "{hn}", "clinic_id": "{clinic_id}", "date": "2020-01-01",
                       "time": "09:00"}),
    ("/appointments/{appointment_id}/reschedule", {"date": "1899-01-01", "time": "09:00"}),
    ("/appointments/{appointment_id}/status", {"to_status": "no_such_status"}),
    ("/worklists/items/{item_id}/attempts", {"outcome": ""}),
]


@pytest.mark.parametrize(("template", "fields"), REFUSED_FORMS, ids=lambda v: str(v)[:40])
@pytest.mark.parametrize("htmx", [False, True])
def test_a_refused_form_that_shows_the_record_again_audits_it(client, session, settings,
                                                              template, fields, htmx):
    nurse = sign_in(client, session, role="nurse")
    ids = _showing(session, settings, nurse)
    data = {name: value.format(**ids) for name, value in fields.items()}
    last = _last_id(session)

    response = client.post(_path(template, ids), data=data,
                           headers={"HX-Request": "true"} if htmx else {})

    assert 400 <= response.status_code < 500
    named = {row.patient_id for row in _rows_after(session, last) if row.user_id == nurse.id}
    assert ids["patient_id"] in named
