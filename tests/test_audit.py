"""Every view, edit and export of a patient record is written to the audit log."""

from __future__ import annotations

from sqlmodel import func, select

from prm.models.audit import AuditAction, AuditEvent
from tests.factories import make_patient


def _audit_rows(session, **where):
    query = select(func.count()).select_from(AuditEvent)
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return session.exec(query).one()


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
