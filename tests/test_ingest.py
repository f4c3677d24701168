"""``prm.ingest.ingest`` with hand-built records (no FHIR): idempotent upserts, versions,
records that wait for what they refer to, patients registered by hand, segments from
coverage, deletions, and what follows from dispenses and appointments."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from prm.ingest import ingest
from prm.ingest.context import IngestContext
from prm.ingest.records import (
    AppointmentRecord,
    CoverageRecord,
    DeletedRecord,
    EncounterRecord,
    LabReportRecord,
    LabResultRecord,
    MedicationDispenseRecord,
    MedicationOrderRecord,
    OrganizationRecord,
    PatientRecord,
    PractitionerRecord,
    SourceKey,
)
from prm.models.care import (
    Appointment,
    AppointmentChange,
    Clinic,
    Encounter,
    LabResult,
    MedicationOrder,
)
from prm.models.integration import SourcePending, SourceRecord
from prm.models.patient import Coverage, Patient
from prm.models.timeline import TimelineEntry
from tests.factories import make_patient, valid_national_id

TZ = ZoneInfo("Asia/Bangkok")
SERVER = "his"
NOW = datetime(2024, 6, 1, 3, 0, tzinfo=UTC)
TOMORROW_9AM = datetime(2024, 6, 2, 2, 0, tzinfo=UTC)


def key(reference: str, version: str | None = None,
        updated: datetime | None = None) -> SourceKey:
    resource_type, resource_id = reference.split("/")
    return SourceKey(SERVER, resource_type, resource_id, version, updated)


def patient(reference: str = "Patient/p1", *, hn: str | None = "HN001", version=None,
            updated=None, **fields) -> PatientRecord:
    values = {"given_name_en": "Somchai", "family_name_en": "Jaidee", "sex": "male",
              "birth_date": date(1980, 5, 1), **fields}
    return PatientRecord(key(reference, version, updated), hn=hn, **values)


def lab(reference: str = "Observation/o1", patient_ref: str = "Patient/p1", *,
        version: str | None = None, **fields) -> LabResultRecord:
    values = {"test_name": "Glucose", "test_code": "2345-7", "value": "130", "unit": "mg/dL",
              "interpretation": "high", "released_at": NOW, **fields}
    return LabResultRecord(key(reference, version), patient_ref, **values)


def appointment(reference: str = "Appointment/a1", *, version=None, **fields
                ) -> AppointmentRecord:
    values = {"starts_at": TOMORROW_9AM, **fields}
    return AppointmentRecord(key(reference, version), "Patient/p1", **values)


def coverage(*codes: str, origin: str = "coverage", payor_name: str = "",
             reference: str = "Coverage/c1") -> CoverageRecord:
    return CoverageRecord(key(reference), "Patient/p1", codes=codes, payor_name=payor_name,
                          origin=origin)


def run(session: Session, *records) -> IngestContext:
    ctx = ingest(session, list(records), tz=TZ, now=NOW)
    session.commit()
    session.expire_all()
    return ctx


def counts(ctx: IngestContext, resource_type: str) -> dict[str, int]:
    return {name: n for name, n in asdict(ctx.summary.counts(resource_type)).items() if n}


def count(session: Session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def rows(session: Session, model) -> list:
    return list(session.execute(select(model).order_by(model.id)).scalars())


def only(session: Session, model):
    (row,) = rows(session, model)
    return row


# --- idempotence and versions -----------------------------------------------------------


def test_reading_the_same_record_again_writes_nothing(session):
    assert counts(run(session, patient()), "Patient") == {"imported": 1}
    first = only(session, SourceRecord)

    ctx = run(session, patient())

    assert counts(ctx, "Patient") == {"unchanged": 1}
    assert only(session, SourceRecord).updated_at == first.updated_at
    assert (count(session, Patient), count(session, TimelineEntry)) == (1, 1)


def test_a_newer_version_overwrites(session):
    run(session, patient(version="1", given_name_en="Somchai"))

    ctx = run(session, patient(version="2", given_name_en="Somsak"))

    assert counts(ctx, "Patient") == {"imported": 1}
    assert only(session, Patient).given_name_en == "Somsak"
    assert only(session, SourceRecord).version_id == "2"


@pytest.mark.parametrize(("newer", "older"), [
    ({"version": "3"}, {"version": "2"}),
    ({"updated": NOW}, {"updated": NOW - timedelta(minutes=1)}),
], ids=["lower versionId", "earlier lastUpdated"])
def test_an_older_version_never_overwrites(session, newer, older):
    run(session, patient(given_name_en="Newer", **newer))

    ctx = run(session, patient(given_name_en="Older", **older))

    assert counts(ctx, "Patient") == {"unchanged": 1}
    assert only(session, Patient).given_name_en == "Newer"


def test_of_two_versions_in_one_batch_the_newer_wins(session):
    ctx = run(session, patient(version="2", given_name_en="Newer"),
              patient(version="1", given_name_en="Older"))

    assert counts(ctx, "Patient") == {"imported": 1, "unchanged": 1}
    assert only(session, Patient).given_name_en == "Newer"


# --- records that arrive before what they refer to --------------------------------------


def test_a_lab_result_before_its_patient_waits_and_is_linked_when_the_patient_arrives(
        session):
    ctx = run(session, lab())

    assert counts(ctx, "Observation") == {"waiting": 1}
    assert count(session, LabResult) == 0
    assert only(session, SourcePending).waiting_for == "Patient/p1"

    ctx = run(session, patient())

    assert counts(ctx, "Observation") == {"linked": 1}
    assert counts(ctx, "Patient") == {"imported": 1}
    assert only(session, LabResult).patient_id == only(session, Patient).id
    assert count(session, SourcePending) == 0


def test_a_lab_result_listed_before_its_patient_in_one_batch_is_imported(session):
    ctx = run(session, lab(), patient())

    assert counts(ctx, "Observation") == {"imported": 1}
    assert only(session, LabResult).patient_id == only(session, Patient).id
    assert count(session, SourcePending) == 0


def test_a_newer_version_of_a_waiting_record_replaces_the_older(session):
    run(session, lab(value="130"))
    run(session, lab(value="99"))

    run(session, patient())

    assert only(session, LabResult).value == "99"


def test_an_older_version_of_a_waiting_record_never_replaces_the_newer(session):
    run(session, lab(version="2", value="99"))

    ctx = run(session, lab(version="1", value="130"))

    assert counts(ctx, "Observation") == {"unchanged": 1}
    run(session, patient())
    assert only(session, LabResult).value == "99"


def test_a_record_deleted_while_it_waits_never_appears(session):
    run(session, lab())

    ctx = run(session, DeletedRecord(key("Observation/o1")))

    assert counts(ctx, "Observation") == {"imported": 1}
    assert count(session, SourcePending) == 0
    run(session, patient())
    assert count(session, LabResult) == 0


def test_a_record_deleted_in_the_batch_it_waits_in_is_not_left_waiting(session):
    ctx = run(session, lab(), DeletedRecord(key("Observation/o1")))

    assert counts(ctx, "Observation") == {"imported": 1, "unchanged": 1}
    assert count(session, SourcePending) == 0


def test_a_diagnostic_report_releases_the_results_it_lists(session):
    issued = NOW + timedelta(hours=2)
    report = LabReportRecord(key("DiagnosticReport/r1"), "Patient/p1", status="final",
                             issued_at=issued, result_refs=("Observation/o1",))

    ctx = run(session, patient(), lab(status="preliminary", released_at=None), report)

    assert counts(ctx, "DiagnosticReport") == {"imported": 1}
    assert only(session, LabResult).released_at == issued


def test_a_report_that_came_before_its_results_releases_them_when_they_arrive(session):
    issued = NOW + timedelta(hours=2)
    report = LabReportRecord(key("DiagnosticReport/r1"), "Patient/p1", status="final",
                             issued_at=issued, result_refs=("Observation/o1",))
    run(session, patient(), report)

    ctx = run(session, lab(status="preliminary", released_at=None))

    assert counts(ctx, "DiagnosticReport") == {"linked": 1}
    assert only(session, LabResult).released_at == issued


# --- patients ---------------------------------------------------------------------------


def test_a_patient_from_the_source_gets_a_registered_timeline_entry(session):
    run(session, patient())
    run(session, patient(version="2", given_name_en="Somsak"))

    entry = only(session, TimelineEntry)
    assert entry.kind == "registered"
    assert entry.patient_id == only(session, Patient).id
    assert entry.data == {"hn": "HN001", "source": "hospital_records"}


@pytest.mark.parametrize("same", ["hn", "national_id"])
def test_a_patient_registered_by_hand_and_the_same_patient_from_the_source_are_one(
        session, same):
    national_id = valid_national_id()
    registered = make_patient(session, hn="HN777", national_id=national_id,
                              given_name_en="", family_name_en="", sms_consent=True)
    identity = {"hn": "HN777"} if same == "hn" else {"hn": None,
                                                     "national_id": national_id}

    ctx = run(session, patient(given_name_en="Somchai", family_name_en="Jaidee",
                               given_name_th="", **identity))

    assert counts(ctx, "Patient") == {"imported": 1}
    merged = only(session, Patient)
    assert merged.id == registered.id
    assert (merged.hn, merged.given_name_en, merged.family_name_en) == (
        "HN777", "Somchai", "Jaidee")
    assert merged.given_name_th == registered.given_name_th  # the source had none
    assert merged.sms_consent is True
    assert only(session, SourceRecord).local_id == registered.id
    assert [e.kind for e in rows(session, TimelineEntry)] == ["registered"]


def test_two_patients_with_the_same_hn_in_one_batch_refuse_the_second(session):
    ctx = run(session, patient("Patient/p1", hn="HN001"),
              patient("Patient/p2", hn="HN001", given_name_en="Other"))

    assert counts(ctx, "Patient") == {"imported": 1, "quarantined": 1}
    (refused,) = ctx.rejected
    assert refused.resource_type == "Patient"
    assert "same HN" in refused.error
    assert only(session, Patient).hn == "HN001"


def test_an_update_bringing_another_patients_national_id_is_refused_not_fatal(session):
    national_id = valid_national_id()
    make_patient(session, hn="HN777", national_id=national_id)
    run(session, patient(hn="HN001", version="1"))

    ctx = run(session, patient(hn="HN001", version="2", national_id=national_id),
              patient("Patient/p2", hn="HN002"))

    assert counts(ctx, "Patient") == {"imported": 1, "quarantined": 1}
    (refused,) = ctx.rejected
    assert f"National ID {national_id} already belongs to another patient" in refused.error
    assert count(session, Patient) == 3


def test_a_name_longer_than_the_record_holds_is_quarantined_whole_never_cut(session):
    ctx = run(session, patient("Patient/p1", hn="HN001", given_name_th="ก" * 1_000_000),
              patient("Patient/p2", hn="HN002"))

    assert counts(ctx, "Patient") == {"imported": 1, "quarantined": 1}
    (refused,) = ctx.rejected
    assert "given_name_th is 1000000 characters long; PRM keeps at most 100" in refused.error
    assert only(session, Patient).hn == "HN002"


def test_a_deleted_patient_is_kept(session):
    run(session, patient())

    ctx = run(session, DeletedRecord(key("Patient/p1")))

    assert counts(ctx, "Patient") == {"imported": 1}
    assert count(session, Patient) == 1
    assert only(session, SourceRecord).deleted is True


# --- coverage and segments --------------------------------------------------------------


def test_a_coverage_puts_the_patient_in_the_segment_its_rule_names(session):
    run(session, patient())
    assert only(session, Patient).segment_code == "self_pay"

    ctx = run(session, coverage("http://nhso.go.th/inscl|UCS", payor_name="NHSO"))

    assert counts(ctx, "Coverage") == {"imported": 1}
    assert only(session, Coverage).segment_code == "universal_coverage"
    assert only(session, Patient).segment_code == "universal_coverage"


def test_a_coverage_no_rule_matches_is_refused_in_words(session):
    run(session, patient())

    ctx = run(session, coverage("http://example.org/plans|GOLD-PLUS", payor_name="Acme"))

    assert counts(ctx, "Coverage") == {"quarantined": 1}
    (refused,) = ctx.rejected
    assert "No segment rule" in refused.error
    assert "GOLD-PLUS" in refused.error
    assert count(session, Coverage) == 0
    assert only(session, Patient).segment_code == "self_pay"


def test_a_payer_from_claims_counts_only_while_the_patient_has_no_coverage(session):
    run(session, patient())
    run(session, coverage("*|SSS", origin="eob", reference="ExplanationOfBenefit/e1"))
    assert only(session, Patient).segment_code == "social_security"

    # Social security outranks universal coverage, yet the Coverage decides.
    run(session, coverage("*|UCS"))

    assert only(session, Patient).segment_code == "universal_coverage"


def test_a_payer_from_claims_no_rule_matches_is_skipped_not_refused(session):
    run(session, patient())

    ctx = run(session, coverage(payor_name="Acme", origin="claim", reference="Claim/k1"))

    assert counts(ctx, "Claim") == {"skipped": 1}
    assert ctx.rejected == []


# --- deletions and care records ---------------------------------------------------------


def test_a_deleted_lab_result_is_removed(session):
    run(session, patient(), lab())

    ctx = run(session, DeletedRecord(key("Observation/o1")))

    assert counts(ctx, "Observation") == {"imported": 1}
    assert count(session, LabResult) == 0
    assert count(session, Patient) == 1


def test_reading_an_old_copy_again_after_a_delete_does_not_bring_the_record_back(session):
    run(session, patient(), lab(version="3"))
    run(session, DeletedRecord(key("Observation/o1")))

    ctx = run(session, lab(version="3"))  # the same old export, read again

    assert counts(ctx, "Observation") == {"unchanged": 1}
    assert count(session, LabResult) == 0


def test_a_later_version_after_a_delete_comes_back(session):
    run(session, patient(), lab(version="3"))
    run(session, DeletedRecord(key("Observation/o1")))

    ctx = run(session, lab(version="4"))

    assert counts(ctx, "Observation") == {"imported": 1}
    assert count(session, LabResult) == 1


def test_a_deleted_appointment_is_cancelled_not_removed(session):
    run(session, patient(), appointment())

    run(session, DeletedRecord(key("Appointment/a1")))

    kept = only(session, Appointment)
    assert kept.status == "cancelled"
    assert "Deleted" in kept.cancel_reason


def test_deleting_what_was_never_imported_changes_nothing(session):
    ctx = run(session, DeletedRecord(key("Observation/unknown")))

    assert counts(ctx, "Observation") == {"unchanged": 1}
    assert count(session, SourceRecord) == 0


def test_a_visit_cancelled_at_the_source_is_removed_and_comes_back_when_reinstated(session):
    def visit(version: str, **fields) -> EncounterRecord:
        return EncounterRecord(key("Encounter/e1", version), "Patient/p1", "outpatient",
                               NOW, **fields)

    run(session, patient(), visit("1"))

    ctx = run(session, visit("2", cancelled=True, finished=False))

    assert counts(ctx, "Encounter") == {"skipped": 1}
    assert count(session, Encounter) == 0

    ctx = run(session, visit("3"))

    assert counts(ctx, "Encounter") == {"imported": 1}
    assert only(session, Encounter).patient_id == only(session, Patient).id


def test_organizations_with_long_ids_that_start_alike_stay_two_clinics(session):
    shared = "siriraj-hospital-department-of-medicine-opd"  # FHIR ids run to 64 characters

    ctx = run(session, OrganizationRecord(key(f"Organization/{shared}1"), name="OPD 1"),
              OrganizationRecord(key(f"Organization/{shared}2"), name="OPD 2"))

    assert counts(ctx, "Organization") == {"imported": 2}
    assert sorted(c.name_en for c in rows(session, Clinic)) == ["OPD 1", "OPD 2"]


def test_a_handed_over_dispense_moves_the_next_pickup(session):
    order = MedicationOrderRecord(key("MedicationRequest/m1"), "Patient/p1",
                                  medication="Metformin 500 mg", ordered_at=NOW,
                                  supply_days=30)
    run(session, patient(), order)
    assert only(session, MedicationOrder).next_pickup_due == date(2024, 7, 1)

    run(session, MedicationDispenseRecord(
        key("MedicationDispense/d1"), "Patient/p1", status="handed_over",
        order_ref="MedicationRequest/m1", handed_over_at=datetime(2024, 6, 20, 3, 0, tzinfo=UTC),
        days_supply=60))

    assert only(session, MedicationOrder).next_pickup_due == date(2024, 8, 19)


def test_a_dispense_before_its_prescription_waits_for_it(session):
    dispense = MedicationDispenseRecord(
        key("MedicationDispense/d1"), "Patient/p1", status="handed_over",
        order_ref="MedicationRequest/m1", handed_over_at=datetime(2024, 6, 20, 3, tzinfo=UTC))
    ctx = run(session, patient(), dispense)
    assert counts(ctx, "MedicationDispense") == {"waiting": 1}

    ctx = run(session, MedicationOrderRecord(
        key("MedicationRequest/m1"), "Patient/p1", medication="Metformin 500 mg",
        ordered_at=NOW, supply_days=30))

    assert counts(ctx, "MedicationDispense") == {"linked": 1}
    assert only(session, MedicationOrder).next_pickup_due == date(2024, 7, 20)


@pytest.mark.parametrize("batches", ["one batch", "two batches"])
def test_a_double_booked_clinician_slot_keeps_both_appointments(session, batches):
    doctor = PractitionerRecord(key("Practitioner/dr1"), name_en="Dr Somsri")
    first = appointment("Appointment/a1", practitioner_ref="Practitioner/dr1")
    second = appointment("Appointment/a2", practitioner_ref="Practitioner/dr1")
    if batches == "one batch":
        ctx = run(session, patient(), doctor, first, second)
    else:
        run(session, patient(), doctor, first)
        ctx = run(session, second)

    assert ctx.summary.counts("Appointment").imported == (2 if batches == "one batch" else 1)
    kept = rows(session, Appointment)
    assert len(kept) == 2
    assert sorted(a.clinician_id is None for a in kept) == [False, True]


def test_an_updated_appointment_keeps_its_own_slot(session):
    doctor = PractitionerRecord(key("Practitioner/dr1"), name_en="Dr Somsri")
    run(session, patient(), doctor, appointment(version="1", practitioner_ref="Practitioner/dr1"))

    run(session, appointment(version="2", practitioner_ref="Practitioner/dr1", reason="Review"))

    kept = only(session, Appointment)
    assert kept.clinician_id is not None
    assert kept.reason == "Review"


def test_an_appointment_status_change_is_recorded(session):
    run(session, patient(), appointment(version="1"))

    run(session, appointment(version="2", status="cancelled", cancel_reason="Patient ill"))

    changes = rows(session, AppointmentChange)
    assert [(c.from_status, c.to_status) for c in changes] == [
        ("", "booked"), ("booked", "cancelled")]
    assert only(session, Appointment).cancel_reason == "Patient ill"


def test_a_reschedule_from_the_source_keeps_the_old_time_in_the_history(session):
    run(session, patient(), appointment(version="1"))
    later = TOMORROW_9AM + timedelta(days=7)

    run(session, appointment(version="2", starts_at=later))

    last = rows(session, AppointmentChange)[-1]
    assert (last.from_status, last.to_status) == ("booked", "booked")
    assert (last.from_starts_at, last.to_starts_at) == (TOMORROW_9AM, later)
