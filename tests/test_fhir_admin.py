"""The hospital-records admin page: sync status, the quarantine (view with audit, retry,
dismiss) and the payer → segment rules, fed by a real sync from the fake FHIR server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from fhir_adapter.client import FhirClient
from fhir_adapter.settings import connection
from fhir_adapter.sync import run_sync
from prm.config import Settings
from prm.models.audit import AuditAction, AuditEvent
from prm.models.integration import QuarantinedResource, SegmentRule
from prm.models.patient import Patient
from tests.factories import shown, sign_in
from tests.fhir_server import FakeFhirServer
from tests.test_fhir_sync import coverage, patient


@pytest.fixture
def server() -> Iterator[FakeFhirServer]:
    with FakeFhirServer() as fake:
        fake.lenient = True  # the fake knows no _sort (it sorts by _lastUpdated anyway)
        yield fake


@pytest.fixture
def settings(settings: Settings, server: FakeFhirServer) -> Settings:
    return settings.model_copy(update={"fhir_base_url": server.base_url,
                                       "fhir_sync_types": "Patient,Coverage"})


@pytest.fixture
def synced(engine, settings, server) -> QuarantinedResource:
    """Two patients synced; p2's coverage names a payer code no rule knows: quarantined."""
    server.put(patient(1))
    server.put(patient(2))
    server.put(coverage(1, "p1"))
    server.put(coverage(2, "p2", code="ZZZ"))
    with FhirClient(connection(settings), sleep=lambda seconds: None) as client:
        summary = run_sync(engine, settings, client=client)
    assert summary["errors"] == {}
    with engine.connect() as db:
        (row,) = db.execute(select(QuarantinedResource)).all()
    return row


def audit_rows(engine: Engine, entity_type: str) -> list:
    with engine.connect() as db:
        return db.execute(select(AuditEvent).where(AuditEvent.entity_type == entity_type)
                          .order_by(AuditEvent.id)).all()


def rule_count(engine: Engine) -> int:
    with engine.connect() as db:
        return db.execute(select(func.count()).select_from(SegmentRule)).scalar_one()


def quarantine_status(engine: Engine, row_id: int) -> str:
    with engine.connect() as db:
        return db.execute(select(QuarantinedResource.status).where(
            QuarantinedResource.id == row_id)).scalar_one()


def test_the_admin_sees_sync_status_and_the_open_quarantine(client, session, synced,
                                                            settings):
    sign_in(client, session, role="admin")

    page = client.get("/admin/fhir")

    assert page.status_code == 200
    server_name = connection(settings).name
    assert page.text.count(f'<td class="small">{server_name}</td>') == 2  # Patient, Coverage
    assert "<td>Patient</td>" in page.text and "<td>Coverage</td>" in page.text
    assert f'href="/admin/fhir/quarantine/{synced.id}"' in page.text
    assert "No segment rule matches this coverage" in page.text
    assert '<span class="badge">1</span>' in page.text


def test_a_nurse_may_not_open_the_page_or_a_quarantined_resource(client, session, synced,
                                                                 engine):
    sign_in(client, session, role="nurse")

    assert client.get("/admin/fhir").status_code == 403
    assert client.get(f"/admin/fhir/quarantine/{synced.id}").status_code == 403
    assert client.post(f"/admin/fhir/quarantine/{synced.id}/retry").status_code == 403
    assert audit_rows(engine, "fhir_quarantine") == []


def test_opening_a_quarantined_resource_shows_its_raw_text_and_is_audited(
        client, session, synced, engine):
    admin = sign_in(client, session, role="admin")

    page = client.get(f"/admin/fhir/quarantine/{synced.id}")

    assert page.status_code == 200
    assert "Coverage/c2" in page.text
    assert "No segment rule matches this coverage" in page.text
    assert "ZZZ" in page.text and '<pre class="raw">' in page.text
    (event,) = audit_rows(engine, "fhir_quarantine")
    assert (event.action, event.entity_id, event.user_id) == (
        AuditAction.view, str(synced.id), admin.id)
    assert event.detail == "Coverage/c2"


def test_a_new_rule_and_a_retry_put_the_patient_in_the_rule_segment(client, session, synced,
                                                                    engine):
    assert "No segment rule" in synced.error and "ZZZ" in synced.error
    sign_in(client, session, role="admin")
    rules_before = rule_count(engine)

    saved = client.post("/admin/fhir/rules", data={
        "kind": "code", "pattern": "*|ZZZ", "segment_code": "life_insurance",
        "position": "5", "note": "Test payer"})

    assert saved.status_code == 200
    assert rule_count(engine) == rules_before + 1
    assert "*|ZZZ" in saved.text

    retried = client.post(f"/admin/fhir/quarantine/{synced.id}/retry")

    assert retried.status_code == 200
    assert shown("Retried: %(resolved)s went through, %(failed)s still failing.",
                 resolved=1, failed=0) in retried.text
    assert quarantine_status(engine, synced.id) == "resolved"
    with engine.connect() as db:
        segments = dict(db.execute(select(Patient.hn, Patient.segment_code)).all())
    assert segments == {"HN101": "universal_coverage", "HN102": "life_insurance"}


def test_a_retry_without_a_matching_rule_keeps_the_row_open(client, session, synced, engine):
    sign_in(client, session, role="admin")

    retried = client.post(f"/admin/fhir/quarantine/{synced.id}/retry")

    assert retried.status_code == 200
    assert quarantine_status(engine, synced.id) == "open"
    with engine.connect() as db:
        attempts = db.execute(select(QuarantinedResource.attempts)).scalar_one()
    assert attempts == synced.attempts + 1


def test_a_rule_without_a_pattern_is_refused_with_a_field_error(client, session, engine):
    sign_in(client, session, role="admin")
    rules_before = rule_count(engine)

    page = client.post("/admin/fhir/rules", data={
        "kind": "code", "pattern": "  ", "segment_code": "life_insurance", "position": "5",
        "note": "kept as typed"})

    assert page.status_code in (400, 422)
    assert shown("Enter a code, identifier or words of the payer's name.") in page.text
    assert 'value="kept as typed"' in page.text  # the form keeps what was typed
    assert rule_count(engine) == rules_before


def test_dismissing_a_quarantined_resource(client, session, synced, engine):
    sign_in(client, session, role="admin")

    response = client.post(f"/admin/fhir/quarantine/{synced.id}/dismiss")

    assert response.status_code in (200, 303)
    assert quarantine_status(engine, synced.id) == "dismissed"
    (event,) = audit_rows(engine, "fhir_quarantine")
    assert (event.action, event.detail) == (AuditAction.update, "dismissed")
    page = client.get("/admin/fhir")
    assert f'href="/admin/fhir/quarantine/{synced.id}"' not in page.text
    assert f'href="/admin/fhir/quarantine/{synced.id}"' in client.get(
        "/admin/fhir?status=dismissed").text
