"""Rest-hook notifications: the web route checks the secret, parses and records them
(deduplicated, bounded) and never calls the FHIR server; the worker reads what they name
back from the server (the fake one, over real HTTP) and records the outcome."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, select, update
from sqlmodel import Session

from fhir_adapter.mapping import _MAPPERS
from fhir_adapter.notifications import READ_TYPES
from fhir_adapter.subscription import process_notifications
from prm.app import create_app
from prm.config import Settings
from prm.fhir import notifications as queue
from prm.jobs.worker import Worker, default_jobs
from prm.models.integration import FhirNotification, NotificationStatus
from prm.models.patient import Patient
from prm.models.types import utcnow
from tests.factories import sign_in
from tests.fhir_server import FakeFhirServer
from tests.test_fhir_sync import count, observation, patient

SECRET = "hook-secret-0123456789"


@pytest.fixture
def server() -> Iterator[FakeFhirServer]:
    with FakeFhirServer() as fake:
        fake.lenient = True  # the fake knows no _sort (it sorts by _lastUpdated anyway)
        yield fake


@pytest.fixture
def settings(settings: Settings, server: FakeFhirServer) -> Settings:
    return settings.model_copy(update={
        "fhir_base_url": server.base_url, "fhir_sync_types": "Patient",
        "fhir_subscription_secret": SecretStr(SECRET)})


def notification(*items: dict | str, event: int = 1, kind: str = "event-notification") -> bytes:
    """A rest-hook Bundle: a SubscriptionStatus naming each "Type/id" string as a focus,
    then each dict as a full (pushed) resource."""
    status = {"resourceType": "SubscriptionStatus", "status": "active", "type": kind,
              "notificationEvent": [{"eventNumber": str(event + n), "focus": {"reference": item}}
                                    for n, item in enumerate(items) if isinstance(item, str)]}
    full = [{"fullUrl": f"urn:uuid:{n}", "resource": item}
            for n, item in enumerate(items) if isinstance(item, dict)]
    return json.dumps({"resourceType": "Bundle", "type": "history",
                       "entry": [{"resource": status}, *full]}).encode()


def hook(client, body, authorization: str | None = f"Bearer {SECRET}", **headers):
    headers = {"Content-Type": "application/fhir+json", **headers}
    if authorization is not None:
        headers["Authorization"] = authorization
    return client.post("/fhir/subscription", content=body, headers=headers)


def rows(engine: Engine) -> list[FhirNotification]:
    with engine.connect() as db:
        return list(db.execute(select(FhirNotification).order_by(FhirNotification.id)).all())


def hns(engine: Engine) -> list[str]:
    with engine.connect() as db:
        return sorted(db.execute(select(Patient.hn)).scalars())


def families(engine: Engine) -> list[str]:
    with engine.connect() as db:
        return sorted(db.execute(select(Patient.family_name_en)).scalars())


def make_due(engine: Engine) -> None:
    """As if the wait before the next try had passed."""
    with engine.begin() as db:
        db.execute(update(FhirNotification).values(next_attempt_at=utcnow()))


# --- the route records, and nothing else ---------------------------------------------------


def test_a_notification_is_recorded_and_answered_202_without_calling_the_server(
        client, engine, server):
    server.put(patient(4))

    response = hook(client, notification("Patient/p4"))

    assert response.status_code == 202
    assert response.json()["recorded"] is True and response.json()["duplicate"] is False
    assert server.requests == []
    (row,) = rows(engine)
    assert (row.status, row.attempts) == (NotificationStatus.pending, 0)
    assert count(engine, Patient) == 0


def test_the_worker_reads_a_referenced_resource_and_marks_the_row_done(
        client, engine, settings, server):
    server.put(patient(4))
    hook(client, notification("Patient/p4"))

    assert process_notifications(engine, settings) == {"done": 1, "failed": 0}

    assert server.requests_to("/fhir/Patient/p4", method="GET")
    assert hns(engine) == ["HN104"]
    (row,) = rows(engine)
    assert (row.status, row.attempts, row.error) == (NotificationStatus.done, 1, "")
    assert row.finished_at is not None and row.waiting_key is None


def test_a_pushed_resource_is_read_back_and_the_servers_copy_wins(
        client, engine, settings, server):
    server.put(patient(1, name=[{"family": "Server", "given": ["Somchai"]}]))
    pushed = patient(1, name=[{"family": "Pushed", "given": ["Somchai"]}])
    hook(client, notification(pushed))

    process_notifications(engine, settings)

    assert server.requests_to("/fhir/Patient/p1", method="GET")
    assert families(engine) == ["Server"]


def test_pushed_resources_are_ingested_as_sent_when_the_setting_trusts_them(
        client, engine, settings, server):
    trusting = settings.model_copy(update={"fhir_trust_pushed_resources": True})
    hook(client, notification(patient(1, name=[{"family": "Pushed", "given": ["A"]}])))

    process_notifications(engine, trusting)

    assert server.requests == []
    assert families(engine) == ["Pushed"]


def test_a_pushed_resource_the_server_does_not_have_is_failed_not_ingested(
        client, engine, settings, server):
    hook(client, notification(patient(1)))

    assert process_notifications(engine, settings) == {"done": 0, "failed": 1}

    assert count(engine, Patient) == 0
    (row,) = rows(engine)
    assert (row.status, row.attempts) == (NotificationStatus.pending, 1)
    assert "404" in row.error and row.next_attempt_at > utcnow()


def test_a_failure_keeps_the_row_with_its_error_and_retries_until_it_gives_up(
        client, engine, settings, server):
    settings = settings.model_copy(update={"fhir_notification_max_attempts": 2})
    server.put(patient(4))
    server.fail_next(2, status=500, path_contains="/Patient/p4")
    hook(client, notification("Patient/p4"))

    process_notifications(engine, settings)
    (first,) = rows(engine)
    assert process_notifications(engine, settings) == {"done": 0, "failed": 0}  # not due yet
    make_due(engine)
    process_notifications(engine, settings)

    assert (first.status, first.attempts) == (NotificationStatus.pending, 1)
    assert "500" in first.error and "Injected failure" in first.error
    (given_up,) = rows(engine)
    assert (given_up.status, given_up.attempts) == (NotificationStatus.failed, 2)
    assert "500" in given_up.error and given_up.waiting_key is None
    assert count(engine, Patient) == 0
    make_due(engine)
    assert process_notifications(engine, settings) == {"done": 0, "failed": 0}


def test_the_wait_between_tries_grows(session):
    row = FhirNotification(body="{}", waiting_key="k")
    session.add(row)
    session.flush()
    waits = []
    for _ in range(3):
        before = utcnow()
        queue.mark_failed(session, notification=row, error="down", max_attempts=10)
        waits.append(round((row.next_attempt_at - before).total_seconds()))

    assert waits == [60, 120, 240]


def test_a_row_the_worker_cannot_read_is_kept_failed_with_the_reason(
        session, engine, settings, server):
    session.add(FhirNotification(body="not a notification", waiting_key="k"))
    session.commit()

    assert process_notifications(engine, settings) == {"done": 0, "failed": 1}

    (row,) = rows(engine)
    assert (row.status, row.attempts) == (NotificationStatus.pending, 1)
    assert row.error.startswith("MalformedNotification: the body is not valid JSON")
    assert server.requests == []


def test_a_failure_stops_the_round_and_the_next_notification_waits_its_turn(
        client, engine, settings, server):
    server.put(patient(2))
    hook(client, notification("Patient/p1"))  # the server does not have p1: 404
    hook(client, notification("Patient/p2"))

    assert process_notifications(engine, settings) == {"done": 0, "failed": 1}

    first, second = rows(engine)
    assert (first.attempts, second.attempts) == (1, 0)
    assert not server.requests_to("/fhir/Patient/p2")


def test_a_deleted_resource_is_deleted_here_too(client, engine, settings, server):
    server.put(patient(4))
    hook(client, notification("Patient/p4"))
    process_notifications(engine, settings)
    server.delete("Patient", "p4")
    hook(client, notification("Patient/p4"))

    assert process_notifications(engine, settings) == {"done": 1, "failed": 0}

    assert [row.status for row in rows(engine)] == [NotificationStatus.done] * 2


def test_an_event_that_names_nothing_runs_an_incremental_sync(client, engine, settings, server):
    server.put(patient(1))
    server.put(patient(2))

    assert hook(client, notification()).status_code == 202
    process_notifications(engine, settings)

    assert hns(engine) == ["HN101", "HN102"]
    assert server.requests_to("/fhir/Patient?", method="GET")


@pytest.mark.parametrize("kind", ["heartbeat", "handshake"])
def test_a_heartbeat_is_answered_and_not_recorded(client, engine, kind):
    response = hook(client, notification(kind=kind))

    assert response.status_code == 202 and response.json()["recorded"] is False
    assert rows(engine) == []


# --- the secret: only as a Bearer header ---------------------------------------------------


@pytest.mark.parametrize(("authorization", "status"), [
    (SECRET, 401),  # the bare secret
    (None, 401),
    (f"Basic {SECRET}", 401),
    ("Bearer ", 401),
    ("Bearer wrong-secret", 403),
    (f"Bearer {SECRET}x", 403),
])
def test_a_secret_not_sent_as_the_bearer_token_is_refused(
        client, engine, server, authorization, status):
    response = hook(client, notification("Patient/p4"), authorization=authorization)

    assert response.status_code == status
    assert "error" in response.json()
    assert rows(engine) == [] and server.requests == []


def test_the_bearer_scheme_is_case_insensitive(client, engine):
    assert hook(client, notification("Patient/p4"),
                authorization=f"bearer {SECRET}").status_code == 202


def test_subscriptions_answer_404_when_not_configured(app, client, engine):
    app.state.settings = app.state.settings.model_copy(
        update={"fhir_subscription_secret": SecretStr("")})

    assert hook(client, notification("Patient/p4")).status_code == 404
    assert rows(engine) == []


# --- malformed notifications: 400 with the reason ------------------------------------------


def bundle(*entries) -> bytes:
    return json.dumps({"resourceType": "Bundle", "type": "history",
                       "entry": list(entries)}).encode()


STATUS = {"resourceType": "SubscriptionStatus", "type": "event-notification"}


@pytest.mark.parametrize(("body", "says"), [
    (b"", "empty"),
    (b"  \n", "empty"),
    (b"{not json", "not valid JSON"),
    (b"[1]", "JSON object"),
    (b'"Patient/p4"', "JSON object"),
    (b"null", "JSON object"),
    (json.dumps(patient(1)).encode(), "Bundle, not 'Patient'"),
    (b'{"resourceType": "Bundle", "type": "history"}', "no entries"),
    (bundle({"resource": patient(1)}), "subscription status"),
    (notification("Patient/not an id"), "no valid resource id"),
    (notification("Procedure/1"), "type PRM reads"),
    (notification("p4"), "type PRM reads"),
    (notification({"resourceType": "Patient", "name": [{"family": "X"}], "gender": "male"}),
     "no valid resource id"),
    (notification({"resourceType": "Basic", "id": "b1", "code": {}}), "type PRM reads"),
    (bundle({"resource": STATUS}, {"request": {"method": "PUT"}}), "neither a resource"),
    (bundle({"resource": {**STATUS, "notificationEvent": [{"focus": {"display": "x"}}]}}),
     "no reference"),
    (bundle({"resource": {**STATUS, "notificationEvent": "x"}}), "must be a list"),
])
def test_a_malformed_notification_is_refused_with_400_and_the_reason(
        client, engine, server, body, says):
    response = hook(client, body)

    assert response.status_code == 400
    assert says in response.json()["error"]
    assert rows(engine) == [] and server.requests == []


def test_a_reference_by_full_url_is_accepted(client, engine, settings, server):
    server.put(patient(4))
    body = bundle({"resource": STATUS},
                  {"fullUrl": f"{server.base_url}/Patient/p4/_history/3"})

    assert hook(client, body).status_code == 202
    process_notifications(engine, settings)

    assert hns(engine) == ["HN104"]


def test_the_parser_knows_every_type_prm_maps():
    assert set(_MAPPERS) == READ_TYPES


def test_the_parser_loads_no_fhir_models():
    """The web process parses every notification: it must stay cheap to import."""
    check = ("import sys, fhir_adapter.notifications; "
             "print(sorted(m for m in sys.modules if m.startswith('fhir.')))")
    loaded = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]"


# --- bounded: body size and the number waiting ---------------------------------------------


@pytest.fixture
def small_limit_client(settings) -> Iterator[TestClient]:
    """An app that takes notifications of at most 300 bytes (the limit is the request
    body limit of the route, set when the app is made)."""
    small = create_app(settings.model_copy(update={"fhir_notification_max_bytes": 300}),
                       embedded_worker=False)
    with TestClient(small, follow_redirects=False) as client:
        yield client
    small.state.engine.dispose()


def test_a_body_over_the_limit_is_refused_with_413(small_limit_client, engine):
    big = notification(observation(1, "p1"))
    assert len(big) > 300

    assert hook(small_limit_client, big).status_code == 413
    assert rows(engine) == []


def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit(small_limit_client, engine):
    big = notification(observation(1, "p1"))

    def chunks():
        for start in range(0, len(big), 100):
            yield big[start:start + 100]

    response = hook(small_limit_client, chunks())

    assert response.status_code == 413
    assert rows(engine) == []


def test_a_body_within_the_default_limit_of_other_pages_is_accepted(client, engine):
    """The notification route takes more than a form (1 MB by default, not 256 KB)."""
    big = notification(*(observation(n, "p1") for n in range(1, 800)))
    assert 300_000 < len(big) < 1_000_000

    assert hook(client, big).status_code == 202


def test_a_full_queue_answers_503_with_retry_after(app, client, engine):
    app.state.settings = app.state.settings.model_copy(
        update={"fhir_notification_max_pending": 2})
    assert hook(client, notification("Patient/p1")).status_code == 202
    assert hook(client, notification("Patient/p2")).status_code == 202

    refused = hook(client, notification("Patient/p3"))
    again = hook(client, notification("Patient/p2", event=9))

    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "60"
    assert again.status_code == 202 and again.json()["duplicate"] is True
    assert len(rows(engine)) == 2


# --- deduplicated --------------------------------------------------------------------------


def test_the_same_notification_twice_is_one_row(client, engine):
    first = hook(client, notification("Patient/p4"))
    second = hook(client, notification("Patient/p4"))
    renumbered = hook(client, notification("Patient/p4", event=7))

    assert [first.status_code, second.status_code, renumbered.status_code] == [202] * 3
    assert second.json() == {**first.json(), "duplicate": True}
    assert renumbered.json()["duplicate"] is True
    assert len(rows(engine)) == 1


def test_the_same_change_notified_after_it_was_done_is_new_work(
        client, engine, settings, server):
    server.put(patient(4))
    hook(client, notification("Patient/p4"))
    process_notifications(engine, settings)

    response = hook(client, notification("Patient/p4"))

    assert response.json()["duplicate"] is False
    assert [row.status for row in rows(engine)] == [NotificationStatus.done,
                                                    NotificationStatus.pending]


# --- the worker's bookkeeping --------------------------------------------------------------


def test_finished_notifications_are_purged_after_a_week_and_failed_ones_kept(session, engine):
    old = utcnow() - timedelta(days=8)
    session.add_all([
        FhirNotification(body="{}", status=NotificationStatus.done, finished_at=old),
        FhirNotification(body="{}", status=NotificationStatus.failed, finished_at=old),
        FhirNotification(body="{}", status=NotificationStatus.done, finished_at=utcnow()),
        FhirNotification(body="{}", waiting_key="k", received_at=old, next_attempt_at=old),
    ])
    session.commit()

    assert queue.purge_finished(session) == 1
    session.commit()

    assert sorted(row.status for row in rows(engine)) == ["done", "failed", "pending"]


def test_the_worker_round_acts_on_a_recorded_notification(client, engine, settings, server):
    server.put(patient(4))
    hook(client, notification("Patient/p4"))
    worker = Worker(engine, settings.model_copy(update={"fhir_sync_seconds": 0}))

    assert worker.run_due_jobs()["fhir_notifications"] == 1

    assert hns(engine) == ["HN104"]


def test_the_worker_acts_on_notifications_when_a_server_is_configured(settings):
    assert "fhir_notifications" in [job.name for job in default_jobs(settings)]
    unconfigured = settings.model_copy(update={"fhir_base_url": ""})
    assert "fhir_notifications" not in [job.name for job in default_jobs(unconfigured)]


def test_two_workers_never_claim_the_same_notification(engine, session):
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite has one writer")
    for key in ("a", "b"):
        queue.receive(session, body="{}", key=key, max_pending=10)
    session.commit()

    with Session(engine) as one, Session(engine) as other:
        first, second = queue.claim_next(one), queue.claim_next(other)
        assert {first.waiting_key, second.waiting_key} == {"a", "b"}
        third = Session(engine)
        assert queue.claim_next(third) is None
        third.close()


def test_the_admin_page_counts_waiting_and_failed_notifications(
        client, session, engine, settings):
    settings = settings.model_copy(update={"fhir_notification_max_attempts": 1})
    hook(client, notification("Patient/p1"))  # the server does not have it: given up
    process_notifications(engine, settings)
    hook(client, notification("Patient/p2"))
    hook(client, notification("Patient/p3"))
    sign_in(client, session, role="admin")

    client.cookies.set("prm_lang", "en")

    page = client.get("/admin/fhir")

    assert ("2 waiting for the worker (0 of them failed before and will be tried again), "
            "1 given up") in page.text
