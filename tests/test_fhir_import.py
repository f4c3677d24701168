"""``prm fhir import`` through the real command and through ``Importer``: the Synthea
Bundles, re-runs, ndjson with broken lines, a bulk-export folder with deletions, an
import that crashes half-way and resumes, and the worker-process path."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import Result
from sqlalchemy import Engine, func, select, text
from typer.testing import CliRunner

from fhir_adapter import importer
from fhir_adapter.importer import Importer
from fhir_adapter.mapping import MappingConfig
from fhir_adapter.sources import collect
from prm import cli
from prm.config import get_settings
from prm.db import make_engine
from prm.models.care import Appointment, Clinic, Clinician, Encounter, LabResult, MedicationOrder
from prm.models.integration import QuarantinedResource, SourcePending, SourceRecord
from prm.models.patient import Coverage, Patient
from prm.models.timeline import TimelineEntry

SYNTHEA = Path(__file__).resolve().parent / "fixtures" / "synthea-r4"
TZ = ZoneInfo("Asia/Bangkok")
CONFIG = MappingConfig(server="file-import")
HN_SYSTEM = "https://hospital.example/fhir/sid/hn"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
COUNTED = (Patient, Coverage, Encounter, Appointment, MedicationOrder, LabResult, Clinic,
           Clinician, TimelineEntry, SourceRecord, SourcePending, QuarantinedResource)


@pytest.fixture
def synthea() -> Path:
    assert SYNTHEA.is_dir(), "the Synthea sample Bundles ship in tests/fixtures"
    return SYNTHEA


def prm(url: str, *args: str) -> Result:
    """``prm …`` with PRM_DATABASE_URL set to ``url``."""
    get_settings.cache_clear()  # settings are read once per process, then cached
    try:
        return CliRunner().invoke(cli.app, list(args), env={"PRM_DATABASE_URL": url})
    finally:
        get_settings.cache_clear()


def import_json(url: str, *args: str) -> dict:
    result = prm(url, "fhir", "import", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def run_importer(engine: Engine, *paths: Path, **options) -> dict:
    result = Importer(engine, tz=TZ, config=CONFIG, workers=1, **options).run(collect(paths))
    return result.as_json()


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {model.__tablename__: connection.execute(
            select(func.count()).select_from(model)).scalar_one() for model in COUNTED}


def assert_every_resource_accounted_for(summary: dict) -> None:
    for name, c in summary["by_type"].items():
        assert c["read"] == (c["imported"] + c["unchanged"] + c["quarantined"] + c["skipped"]
                             + c["waiting"]), (name, c)


def write_ndjson(path: Path, resources: list[dict], tail: str = "") -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in resources) + tail)
    return path


def fhir_patient(n: int, **fields) -> dict:
    return {"resourceType": "Patient", "id": f"p{n}",
            "identifier": [{"system": HN_SYSTEM, "value": f"HN{n:04d}"}],
            "name": [{"family": f"Jaidee{n}", "given": ["Somchai"]}], "gender": "male",
            "birthDate": "1980-05-01", **fields}


def fhir_lab(n: int, patient: str = "Patient/p1", value: float = 130) -> dict:
    return {"resourceType": "Observation", "id": f"o{n}", "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7",
                                 "display": "Glucose"}]},
            "subject": {"reference": patient},
            "effectiveDateTime": "2024-06-01T07:00:00+07:00",
            "issued": "2024-06-01T10:00:00+07:00",
            "valueQuantity": {"value": value, "unit": "mg/dL"},
            "referenceRange": [{"low": {"value": 70, "unit": "mg/dL"},
                                "high": {"value": 100, "unit": "mg/dL"}}],
            "interpretation": [{"coding": [{"system": INTERPRETATION, "code": "H"}]}]}


# --- the Synthea Bundles through the command --------------------------------------------


def test_the_synthea_bundles_import_with_every_resource_accounted_for(database_url, engine,
                                                                       synthea):
    summary = import_json(database_url, str(synthea))

    assert_every_resource_accounted_for(summary)
    assert summary["by_type"]["Patient"]["imported"] == 6
    assert summary["by_type"]["Observation"]["imported"] > 0
    assert sum(c["quarantined"] for c in summary["by_type"].values()) == 0
    assert summary["files"] == {"total": 8, "resumed": 0, "already_imported": 0}
    counts = row_counts(engine)
    assert counts["patient"] == 6
    assert counts["source_pending"] == 0


def test_an_import_writes_one_audit_row_saying_what_it_wrote(database_url, engine, synthea):
    import_json(database_url, str(synthea))

    with engine.connect() as db:
        rows = db.execute(text(
            "SELECT username, entity_type, detail FROM audit_event")).all()
    assert [(r.username, r.entity_type) for r in rows] == [
        ("integration:import", "fhir_records")]
    assert rows[0].detail == "import: 364 records written, 0 quarantined"


def test_a_second_run_skips_the_files_already_imported(database_url, engine, synthea):
    import_json(database_url, str(synthea))
    before = row_counts(engine)

    summary = import_json(database_url, str(synthea))

    assert summary["files"]["already_imported"] == 8
    assert summary["by_type"] == {}
    assert row_counts(engine) == before


def test_again_reads_everything_and_changes_nothing(database_url, engine, synthea):
    import_json(database_url, str(synthea))
    before = row_counts(engine)

    summary = import_json(database_url, "--again", str(synthea))

    assert_every_resource_accounted_for(summary)
    assert summary["files"]["already_imported"] == 0
    assert summary["by_type"]["Patient"]["unchanged"] == 6
    assert {name: c["imported"] + c["linked"] for name, c in summary["by_type"].items()
            if c["imported"] + c["linked"]} == {}
    assert row_counts(engine) == before


def test_a_missing_path_is_refused_with_exit_code_2(database_url, tmp_path):
    missing = tmp_path / "nowhere.ndjson"

    result = prm(database_url, "fhir", "import", str(missing))

    assert result.exit_code == 2
    assert f"error: {missing}: no such file or directory" in result.output


# --- ndjson and bulk folders ------------------------------------------------------------


def test_a_truncated_line_and_an_invalid_resource_are_quarantined_and_the_rest_imported(
        engine, tmp_path):
    truncated = json.dumps(fhir_patient(5))[:60]
    path = write_ndjson(tmp_path / "Patient.ndjson", [
        fhir_patient(1), fhir_patient(2), fhir_patient(3, birthDate="not-a-date"),
        fhir_patient(4)], tail=truncated)

    summary = run_importer(engine, path)

    assert summary["by_type"]["Patient"] == {
        "read": 5, "imported": 3, "unchanged": 0, "quarantined": 2, "skipped": 0,
        "waiting": 0, "linked": 0}
    assert row_counts(engine)["patient"] == 3
    with engine.connect() as connection:
        quarantined = connection.execute(select(QuarantinedResource).order_by(
            QuarantinedResource.origin)).all()
    invalid, cut = quarantined
    assert (invalid.resource_type, invalid.resource_id) == ("Patient", "p3")
    assert invalid.origin.endswith("Patient.ndjson:3")
    assert "birthDate" in invalid.error
    assert '"not-a-date"' in invalid.raw
    assert cut.origin.endswith("Patient.ndjson:5")
    assert "Not valid JSON" in cut.error
    assert cut.raw == truncated


def test_a_bulk_export_folder_is_read_in_reference_order_with_its_deletions(engine,
                                                                            tmp_path):
    write_ndjson(tmp_path / "Observation.ndjson", [fhir_lab(1), fhir_lab(2, value=90)])
    write_ndjson(tmp_path / "Organization.ndjson",
                 [{"resourceType": "Organization", "id": "org1", "name": "Siriraj Clinic"}])
    write_ndjson(tmp_path / "Patient.ndjson",
                 [fhir_patient(1, managingOrganization={"reference": "Organization/org1"})])
    write_ndjson(tmp_path / "Observation_deleted.ndjson", [{
        "resourceType": "Bundle", "type": "transaction",
        "entry": [{"request": {"method": "DELETE", "url": "Observation/o2"}}]}])
    (tmp_path / "manifest.json").write_text(json.dumps({
        "transactionTime": "2024-06-02T00:00:00Z", "requiresAccessToken": False,
        "output": [{"type": "Observation", "url": "https://his.example/files/Observation.ndjson"},
                   {"type": "Organization", "url": "https://his.example/files/Organization.ndjson"},
                   {"type": "Patient", "url": "https://his.example/files/Patient.ndjson"}],
        "deleted": [{"type": "Bundle",
                     "url": "https://his.example/files/Observation_deleted.ndjson"}],
        "error": []}))

    summary = run_importer(engine, tmp_path)

    assert_every_resource_accounted_for(summary)
    observations = summary["by_type"]["Observation"]
    assert (observations["read"], observations["imported"], observations["waiting"]) == (
        3, 3, 0)  # two results, then the deletion of one
    assert summary["by_type"]["Organization"]["imported"] == 1
    with engine.connect() as connection:
        (result,) = connection.execute(select(LabResult)).all()
        (patient,) = connection.execute(select(Patient)).all()
        deleted = connection.execute(select(SourceRecord.deleted).where(
            SourceRecord.resource_type == "Observation",
            SourceRecord.resource_id == "o2")).scalar_one()
    assert result.patient_id == patient.id
    assert (result.value, result.unit, result.interpretation, result.reference_range) == (
        "130", "mg/dL", "high", "70–100 mg/dL")
    assert deleted is True


# --- checkpoints and workers ------------------------------------------------------------


def test_a_crashed_import_resumes_from_its_last_checkpoint(engine, tmp_path, monkeypatch):
    path = write_ndjson(tmp_path / "Patient.ndjson", [fhir_patient(n) for n in range(1, 8)])
    real_ingest, calls = importer.ingest, itertools.count(1)

    def crash_on_the_third_chunk(*args, **kwargs):
        if next(calls) == 3:
            raise RuntimeError("power cut")
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(importer, "ingest", crash_on_the_third_chunk)
    with pytest.raises(RuntimeError, match="power cut"):
        run_importer(engine, path, chunk_lines=2)
    assert row_counts(engine)["patient"] == 4  # the two chunks committed before the crash
    monkeypatch.setattr(importer, "ingest", real_ingest)

    summary = run_importer(engine, path, chunk_lines=2)

    assert summary["files"]["resumed"] == 1
    assert summary["by_type"]["Patient"]["read"] == 3  # lines 5–7 only
    assert summary["by_type"]["Patient"]["imported"] == 3
    counts = row_counts(engine)
    assert (counts["patient"], counts["source_record"], counts["timeline_entry"]) == (7, 7, 7)


def test_worker_processes_import_the_same_as_one_process(engine, tmp_path, monkeypatch,
                                                         sqlite_template):
    folder = tmp_path / "export"
    folder.mkdir()
    write_ndjson(folder / "Patient.ndjson", [fhir_patient(n) for n in range(1, 4)])
    write_ndjson(folder / "Observation.ndjson",
                 [fhir_lab(n, patient=f"Patient/p{n % 3 + 1}") for n in range(1, 7)])
    reference_db = tmp_path / "one-process.db"
    shutil.copy(sqlite_template, reference_db)
    one_process = make_engine(f"sqlite:///{reference_db}")
    expected = run_importer(one_process, folder, chunk_lines=2)
    pools, real_pool = [], Importer._pool

    def counted_pool(self):
        pools.append(self.workers)
        return real_pool(self)

    monkeypatch.setattr(importer, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(Importer, "_pool", counted_pool)

    summary = Importer(engine, tz=TZ, config=CONFIG, workers=2, chunk_lines=2).run(
        collect([folder])).as_json()

    assert pools == [2]
    assert summary["by_type"] == expected["by_type"]
    assert _lab_results(engine) == _lab_results(one_process)
    one_process.dispose()


def _lab_results(engine: Engine) -> list[tuple]:
    with engine.connect() as connection:
        return sorted(connection.execute(
            select(Patient.hn, LabResult.value, LabResult.interpretation)
            .join(Patient, Patient.id == LabResult.patient_id)).all())
