"""Write-back: follow-up worklist items of patients from the FHIR server become Task
resources there (created once, updated when the item changes, never for local-only
patients), through the real client and the fake server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from fhir_adapter.client import FhirClient
from fhir_adapter.settings import connection
from fhir_adapter.sync import run_sync
from fhir_adapter.writeback import push_tasks
from prm.config import Settings
from prm.fhir.writeback import follow_ups_changed_since
from prm.models.patient import Patient
from prm.models.types import utcnow
from prm.models.worklist import ItemStatus, Priority
from tests.care_factories import make_worklist_item
from tests.factories import make_patient
from tests.fhir_server import FakeFhirServer
from tests.test_fhir_sync import patient


@pytest.fixture
def server() -> Iterator[FakeFhirServer]:
    with FakeFhirServer() as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, server: FakeFhirServer) -> Settings:
    return settings.model_copy(update={"fhir_base_url": server.base_url,
                                       "fhir_sync_types": "Patient", "fhir_write_back": True})


@pytest.fixture
def fhir(settings: Settings) -> Iterator[FhirClient]:
    with FhirClient(connection(settings), sleep=lambda _s: None) as client:
        yield client


def synced_patient(engine, settings, fhir, server) -> Patient:
    server.put(patient(1))
    run_sync(engine, settings, client=fhir)
    with Session(engine, expire_on_commit=False) as session:
        return session.exec(select(Patient)).one()


def task_requests(server: FakeFhirServer, method: str) -> list:
    return [r for r in server.requests if r[0] == method and "/Task" in r[1]]


def test_an_item_becomes_one_task_for_the_servers_patient(engine, settings, fhir, server):
    local = synced_patient(engine, settings, fhir, server)
    with Session(engine) as session:
        make_worklist_item(session, patient=session.get(Patient, local.id),
                           rule="abnormal_lab", priority=Priority.critical)
        session.commit()
    assert push_tasks(engine, settings, client=fhir)["created"] == 1
    created = task_requests(server, "POST")
    assert len(created) == 1
    # A second round sends nothing: the item did not change.
    assert push_tasks(engine, settings, client=fhir) == {
        "created": 0, "updated": 0, "unchanged": 1, "failed": 0}
    assert len(task_requests(server, "POST")) == 1


def test_closing_the_item_updates_its_task(engine, settings, fhir, server):
    local = synced_patient(engine, settings, fhir, server)
    with Session(engine) as session:
        item = make_worklist_item(session, patient=session.get(Patient, local.id))
        session.commit()
        item_id = item.id
    push_tasks(engine, settings, client=fhir)
    with Session(engine) as session:
        item = session.get(type(item), item_id)
        item.status, item.closed_at, item.close_reason = ItemStatus.closed, utcnow(), "reached"
        session.add(item)
        session.commit()
    assert push_tasks(engine, settings, client=fhir)["updated"] == 1
    [task] = server.all("Task")
    assert len(task_requests(server, "PUT")) == 1
    assert (task["status"], task["businessStatus"]["text"]) == ("completed", "reached")


def test_patients_registered_only_at_the_desk_are_not_written_back(engine, settings, fhir,
                                                                   server, session):
    make_worklist_item(session, patient=make_patient(session))
    session.commit()
    assert push_tasks(engine, settings, client=fhir)["created"] == 0
    assert task_requests(server, "POST") == []


def test_a_task_says_why_to_call_but_no_test_name_or_value(engine, settings, fhir, server):
    local = synced_patient(engine, settings, fhir, server)
    with Session(engine) as session:
        make_worklist_item(session, patient=session.get(Patient, local.id), rule="abnormal_lab",
                           priority=Priority.critical)
        session.commit()
    push_tasks(engine, settings, client=fhir)
    [task] = server.all("Task")
    assert task["code"]["text"] == "Follow-up call: lab result needs a call back"
    assert (task["status"], task["priority"], task["intent"]) == ("requested", "stat", "order")
    assert task["for"]["reference"] == "Patient/p1"


def test_write_back_reads_the_servers_patients_items_changed_since_as_plain_values(
    engine, settings, fhir, server
):
    local = synced_patient(engine, settings, fhir, server)
    server_name = connection(settings).name
    with Session(engine) as session:
        patient_row = session.get(Patient, local.id)
        earlier = utcnow() - timedelta(days=2)
        make_worklist_item(session, patient=patient_row, created_at=earlier, due_at=earlier)
        recent = make_worklist_item(session, patient=patient_row, rule="abnormal_lab",
                                    priority=Priority.critical, claimed_by_user_id=None)
        make_worklist_item(session, patient=make_patient(session))  # desk-only patient
        session.commit()

        everything = follow_ups_changed_since(session, server=server_name, since=None)
        changed = follow_ups_changed_since(session, server=server_name,
                                           since=utcnow() - timedelta(days=1))

    assert len(everything) == 2
    [item] = changed
    assert (item.item_id, item.rule, item.priority, item.status, item.claimed) == (
        recent.id, "abnormal_lab", "critical", "open", False)
    assert item.patient_resource_id == patient(1)["id"]
