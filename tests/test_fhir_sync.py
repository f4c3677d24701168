"""Live sync from a FHIR server (the fake one, over real HTTP): incremental REST pulls with
watermarks, paging, retries and failures; bulk ``$export`` sync with deletions. (Rest-hook
notifications: tests/test_fhir_notifications.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from fhir_adapter.client import FhirClient
from fhir_adapter.settings import connection
from fhir_adapter.sync import run_bulk_sync, run_sync
from prm.config import Settings
from prm.models.care import LabResult
from prm.models.integration import QuarantinedResource, SourcePending, SourceRecord, SyncState
from prm.models.patient import Patient
from tests.fhir_server import FakeFhirServer

HN_SYSTEM = "http://hospital.smarthealthit.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
FIVE_MINUTES = timedelta(minutes=5)
SECRET = "hook-secret-0123456789"


class Sleeps(list):
    """Stands in for time.sleep and time.monotonic: records the waits, never waits."""

    now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.append(seconds)
        self.now += seconds


@pytest.fixture
def server() -> Iterator[FakeFhirServer]:
    with FakeFhirServer() as fake:
        fake.now = T0 + timedelta(hours=1)
        # The fake knows no _sort; it always answers in _lastUpdated order, and lenient
        # turns the unknown parameter into a warning outcome entry (which sync skips).
        fake.lenient = True
        yield fake


@pytest.fixture
def settings(settings: Settings, server: FakeFhirServer) -> Settings:
    """The app and the sync read the fake server, two resources a page."""
    return settings.model_copy(update={
        "fhir_base_url": server.base_url, "fhir_page_size": 2, "fhir_overlap_seconds": 60,
        "fhir_sync_types": "Patient,Coverage,Observation",
        "fhir_subscription_secret": SecretStr(SECRET)})


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def fhir(settings: Settings, sleeps: Sleeps) -> Iterator[FhirClient]:
    """A client whose retries record their wait instead of waiting."""
    with FhirClient(connection(settings), sleep=sleeps.sleep, clock=sleeps) as client:
        yield client


def patient(n: int, **fields) -> dict:
    return {"resourceType": "Patient", "id": f"p{n}",
            "identifier": [{"system": HN_SYSTEM, "value": f"HN{100 + n}"}],
            "name": [{"family": f"Jaidee{n}", "given": ["Somchai"]}], "gender": "male",
            "birthDate": "1980-05-01", **fields}


def coverage(n: int, patient_id: str, code: str = "UCS") -> dict:
    return {"resourceType": "Coverage", "id": f"c{n}", "status": "active",
            "beneficiary": {"reference": f"Patient/{patient_id}"},
            "type": {"coding": [{"system": "https://hospital.example/payer", "code": code}]},
            "payor": [{"display": "Payer"}]}


def observation(n: int, patient_id: str, value: float = 130) -> dict:
    return {"resourceType": "Observation", "id": f"o{n}", "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7",
                                 "display": "Glucose"}]},
            "subject": {"reference": f"Patient/{patient_id}"},
            "effectiveDateTime": "2024-06-01T07:00:00+07:00",
            "issued": "2024-06-01T10:00:00+07:00",
            "valueQuantity": {"value": value, "unit": "mg/dL"}}


def put_all(server: FakeFhirServer, resources: list[dict], start: datetime = T0,
            step: timedelta = timedelta(seconds=1)) -> None:
    for n, resource in enumerate(resources):
        server.put(resource, last_updated=start + n * step)


def count(engine: Engine, model) -> int:
    with engine.connect() as db:
        return db.execute(select(func.count()).select_from(model)).scalar_one()


def states(engine: Engine) -> dict[str, SyncState]:
    with engine.connect() as db:
        return {s.resource_type: s for s in db.execute(select(SyncState)).all()}


def searches(server: FakeFhirServer, resource_type: str) -> list[dict[str, str]]:
    """Query parameters of each first-page search for the type, in order."""
    return [dict(parse_qsl(urlsplit(path).query))
            for path in server.requests_to(f"/fhir/{resource_type}?", method="GET")]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def five_patients_two_coverages() -> list[dict]:
    return [*(patient(n) for n in range(1, 6)), coverage(1, "p1"), coverage(2, "p2")]


# --- incremental REST sync ----------------------------------------------------------------


def test_a_first_sync_pulls_every_page_once_and_stores_a_watermark_per_type(
        engine, settings, server, fhir):
    put_all(server, [*five_patients_two_coverages(), observation(1, "p1")])

    summary = run_sync(engine, settings, client=fhir)

    assert summary["errors"] == {}
    assert summary["by_type"]["Patient"]["read"] == 5
    assert summary["by_type"]["Patient"]["imported"] == 5
    assert summary["by_type"]["Coverage"]["imported"] == 2
    assert summary["by_type"]["Observation"]["imported"] == 1
    assert len(server.requests_to("_getpagesoffset=")) == 2  # Patient pages 2 and 3
    assert (count(engine, Patient), count(engine, SourceRecord), count(engine, LabResult)) == (
        5, 8, 1)
    marks = states(engine)
    assert aware(marks["Patient"].watermark) == T0 + timedelta(seconds=4)
    assert aware(marks["Coverage"].watermark) == T0 + timedelta(seconds=6)
    assert aware(marks["Observation"].watermark) == T0 + timedelta(seconds=7)
    assert (marks["Patient"].last_count, marks["Patient"].last_error) == (5, "")
    assert marks["Patient"].last_success_at is not None
    # No _sort (not every server has it) and no watermark on the very first pull.
    assert all("_sort" not in q and "_lastUpdated" not in q
               for q in searches(server, "Patient"))


def test_a_second_sync_asks_from_the_watermark_and_imports_only_the_changes(
        engine, settings, server, fhir):
    put_all(server, five_patients_two_coverages(), step=FIVE_MINUTES)
    run_sync(engine, settings, client=fhir)
    # p5 (at the watermark) is read again inside the overlap; p2 changed; p6 is new.
    server.put(patient(2, name=[{"family": "Renamed", "given": ["Somying"]}]),
               last_updated=T0 + timedelta(minutes=40))
    server.put(patient(6), last_updated=T0 + timedelta(minutes=41))

    summary = run_sync(engine, settings, client=fhir)

    second = searches(server, "Patient")[-1]
    assert second["_lastUpdated"].startswith("ge")
    assert instant(second["_lastUpdated"][2:]) == T0 + timedelta(minutes=19)  # watermark − 60 s
    patients = summary["by_type"]["Patient"]
    assert (patients["read"], patients["imported"], patients["unchanged"]) == (3, 2, 1)
    assert summary["by_type"]["Coverage"]["imported"] == 0
    assert count(engine, Patient) == 6
    with engine.connect() as db:
        renamed = db.execute(select(Patient).where(Patient.hn == "HN102")).one()
        version = db.execute(select(SourceRecord.version_id).where(
            SourceRecord.resource_type == "Patient", SourceRecord.resource_id == "p2")
        ).scalar_one()
    assert renamed.family_name_en == "Renamed"
    assert version == "2"
    assert aware(states(engine)["Patient"].watermark) == T0 + timedelta(minutes=41)


def test_a_500_in_the_middle_of_paging_is_retried_and_the_sync_completes(
        engine, settings, server, fhir, sleeps):
    put_all(server, five_patients_two_coverages())
    fault = server.fail_next(2, status=500, path_contains="_getpagesoffset=2")

    summary = run_sync(engine, settings, client=fhir)

    assert summary["errors"] == {}
    assert fault.served == 2 and len(sleeps) == 2
    assert summary["by_type"]["Patient"]["imported"] == 5
    assert count(engine, Patient) == 5


def test_a_failed_pull_keeps_the_watermark_and_the_next_sync_loses_nothing(
        engine, settings, server, fhir, sleeps):
    put_all(server, five_patients_two_coverages(), step=FIVE_MINUTES)
    run_sync(engine, settings, client=fhir)
    mark = states(engine)["Patient"].watermark
    put_all(server, [patient(n) for n in range(6, 11)], start=T0 + timedelta(minutes=35))
    server.fail_next(6, status=500, path_contains="_getpagesoffset=2",
                     operation_outcome="Database connection pool exhausted")

    summary = run_sync(engine, settings, client=fhir)

    assert set(summary["errors"]) == {"Patient"}
    assert "Database connection pool exhausted" in summary["errors"]["Patient"]
    assert len(sleeps) == 5  # every retry spent
    failed = states(engine)["Patient"]
    assert "Database connection pool exhausted" in failed.last_error
    assert failed.watermark == mark
    assert count(engine, Patient) == 6  # the first page (p5, p6) went in; the rest did not
    assert states(engine)["Coverage"].last_error == ""  # other types went on

    again = run_sync(engine, settings, client=fhir)

    assert again["errors"] == {}
    patients = again["by_type"]["Patient"]
    assert (patients["read"], patients["imported"], patients["unchanged"]) == (6, 4, 2)
    assert (count(engine, Patient), count(engine, SourceRecord)) == (10, 12)
    healed = states(engine)["Patient"]
    assert healed.last_error == ""
    assert aware(healed.watermark) == T0 + timedelta(minutes=35, seconds=4)


def test_a_429_waits_as_long_as_retry_after_says(engine, settings, server, fhir, sleeps):
    put_all(server, [patient(1)])
    fault = server.fail_next(1, status=429, retry_after=7, path_contains="/fhir/Patient")

    summary = run_sync(engine, settings, client=fhir)

    assert fault.served == 1 and list(sleeps) == [7.0]
    assert summary["errors"] == {} and count(engine, Patient) == 1


def test_an_observation_waits_for_its_patient_from_a_later_sync(
        engine, settings, server, fhir):
    put_all(server, [patient(1), observation(1, "p9")])

    first = run_sync(engine, settings, client=fhir)

    assert first["by_type"]["Observation"]["waiting"] == 1
    assert (count(engine, LabResult), count(engine, SourcePending)) == (0, 1)

    server.put(patient(9), last_updated=T0 + timedelta(minutes=5))
    second = run_sync(engine, settings, client=fhir)

    assert second["by_type"]["Patient"]["imported"] == 1
    assert (count(engine, LabResult), count(engine, SourcePending)) == (1, 0)
    with engine.connect() as db:
        linked = db.execute(select(Patient.hn).join(
            LabResult, LabResult.patient_id == Patient.id)).scalar_one()
    assert linked == "HN109"


def test_an_invalid_resource_is_quarantined_and_the_rest_imported(
        engine, settings, server, fhir):
    put_all(server, [patient(1), patient(2, birthDate="not-a-date"), patient(3)])

    summary = run_sync(engine, settings, client=fhir)

    assert summary["errors"] == {}
    assert summary["by_type"]["Patient"]["imported"] == 2
    assert summary["by_type"]["Patient"]["quarantined"] == 1
    assert count(engine, Patient) == 2
    with engine.connect() as db:
        (row,) = db.execute(select(QuarantinedResource)).all()
    assert (row.resource_type, row.resource_id, row.status) == ("Patient", "p2", "open")
    assert "birthDate" in row.error and '"not-a-date"' in row.raw
    assert aware(states(engine)["Patient"].watermark) == T0 + timedelta(seconds=2)


# --- bulk sync ----------------------------------------------------------------------------


def test_bulk_sync_exports_downloads_imports_and_moves_every_watermark(
        engine, settings, server, fhir, sleeps, tmp_path):
    put_all(server, [*five_patients_two_coverages(), observation(1, "p1"),
                     observation(2, "p2")])

    summary = run_bulk_sync(engine, settings, client=fhir, folder=tmp_path / "first")

    (kickoff,) = server.requests_to("$export")
    assert "_since" not in kickoff
    assert list(sleeps) == [1.0, 1.0]  # two polls answered 202 with Retry-After: 1
    assert (tmp_path / "first" / "manifest.json").is_file()
    assert summary["by_type"]["Patient"]["imported"] == 5
    assert summary["by_type"]["Observation"]["imported"] == 2
    assert (count(engine, Patient), count(engine, LabResult)) == (5, 2)
    marks = states(engine)
    assert set(marks) == {"Patient", "Coverage", "Observation"}
    assert {aware(s.watermark) for s in marks.values()} == {T0 + timedelta(hours=1)}

    server.now = T0 + timedelta(hours=2)
    server.delete("Observation", "o2")
    server.put(patient(6), last_updated=T0 + timedelta(hours=2))

    again = run_bulk_sync(engine, settings, client=fhir, folder=tmp_path / "second")

    since = dict(parse_qsl(urlsplit(server.requests_to("$export")[-1]).query))["_since"]
    assert instant(since) == T0 + timedelta(hours=1)  # the first export's transactionTime
    assert again["by_type"]["Patient"]["read"] == 1
    assert (count(engine, Patient), count(engine, LabResult)) == (6, 1)
    with engine.connect() as db:
        deleted = db.execute(select(SourceRecord.deleted).where(
            SourceRecord.resource_type == "Observation", SourceRecord.resource_id == "o2")
        ).scalar_one()
    assert deleted is True
    assert {aware(s.watermark) for s in states(engine).values()} == {T0 + timedelta(hours=2)}
