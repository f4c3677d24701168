"""FHIR R4 resources map to PRM's plain ingest records: the Synthea sample Bundles end to
end, and one hand-written resource for each mapping rule. No database needed."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.mapping import (
    MappingConfig,
    MappingError,
    cheap_skip,
    map_resource,
    normalise_reference,
    source_key,
)
from fhir_adapter.mapping.common import duration_days, to_utc
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
)

SYNTHEA = Path(__file__).resolve().parent / "fixtures" / "synthea-r4"
CONFIG = MappingConfig(server="test")
VALID_NATIONAL_ID = "1103700123458"
WRONG_CHECK_DIGIT = "1103700123459"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def map_one(raw: dict[str, Any], refs: dict[str, str] | None = None) -> Any:
    records = map_resource(raw, CONFIG, refs)
    assert len(records) == 1, records
    return records[0]


# --- the Synthea sample Bundles ---------------------------------------------------------


@pytest.fixture(scope="module")
def synthea() -> dict[str, Any]:
    """Every Synthea entry mapped, with counts per type of mapped / empty / skipped /
    raised, and the records by type."""
    assert SYNTHEA.is_dir(), "the Synthea sample Bundles ship in tests/fixtures"
    counts: Counter[tuple[str, str]] = Counter()
    records: dict[type, list[Any]] = {}
    errors: list[str] = []
    for path in sorted(SYNTHEA.glob("*.json")):
        bundle = json.loads(path.read_text())
        refs = {entry["fullUrl"]: f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
                for entry in bundle["entry"]}
        for entry in bundle["entry"]:
            raw = entry["resource"]
            if cheap_skip(raw):
                counts[raw["resourceType"], "skipped"] += 1
                continue
            try:
                mapped = map_resource(raw, CONFIG, refs)
            except MappingError as exc:
                counts[raw["resourceType"], "raised"] += 1
                errors.append(str(exc))
                continue
            counts[raw["resourceType"], "mapped" if mapped else "empty"] += 1
            for record in mapped:
                records.setdefault(type(record), []).append(record)
    return {"counts": counts, "records": records, "errors": errors}


def test_every_synthea_resource_maps_or_is_skipped_without_error(synthea):
    assert synthea["errors"] == []
    counts = synthea["counts"]
    for skipped in ("Condition", "Procedure", "Immunization", "CarePlan"):
        assert counts[skipped, "skipped"] > 0
        assert counts[skipped, "mapped"] == 0
    for mapped in ("Patient", "Organization", "Practitioner", "Encounter", "MedicationRequest",
                   "DiagnosticReport", "Claim", "ExplanationOfBenefit"):
        assert counts[mapped, "mapped"] > 0
        assert counts[mapped, "skipped"] == 0


def test_synthea_patients_have_names_hn_and_birth_dates(synthea):
    patients = synthea["records"][PatientRecord]
    assert len(patients) == 6
    for patient in patients:
        assert patient.given_name_en and patient.family_name_en
        assert patient.hn  # Synthea's medical record number
        assert patient.birth_date is not None
        assert patient.sex in ("female", "male")
        assert len(patient.preferred_language) == 2  # "en-US", "es", "zh" → two letters


def test_synthea_encounters_have_classes_and_patients(synthea):
    encounters = synthea["records"][EncounterRecord]
    patients = {p.key.reference for p in synthea["records"][PatientRecord]}
    assert len(encounters) == 34
    classes = Counter(e.encounter_class for e in encounters)
    assert set(classes) == {"outpatient", "emergency", "inpatient"}
    assert all(e.patient_ref in patients and e.finished for e in encounters)
    assert all(e.started_at.tzinfo is UTC for e in encounters)


def test_synthea_lab_results_are_mapped_and_vital_signs_skipped(synthea):
    counts = synthea["counts"]
    assert counts["Observation", "skipped"] == 120  # vital signs and surveys
    results = synthea["records"][LabResultRecord]
    assert len(results) == counts["Observation", "mapped"] == 99
    assert all(r.value and r.test_code and r.released_at for r in results)
    # Every result a report lists was mapped from the same Bundle.
    mapped = {r.key.reference for r in results}
    reports = synthea["records"][LabReportRecord]
    assert reports and all(set(report.result_refs) <= mapped for report in reports)


def test_synthea_medication_requests_become_orders(synthea):
    orders = synthea["records"][MedicationOrderRecord]
    assert len(orders) == 9
    assert Counter(o.active for o in orders) == {True: 4, False: 5}
    assert all(o.medication and o.ordered_at for o in orders)


def test_synthea_claims_and_eobs_become_inferred_coverage(synthea):
    coverages = synthea["records"][CoverageRecord]
    origins = Counter(c.origin for c in coverages)
    assert origins == {"claim": 43, "eob": 34}
    assert {c.payor_name for c in coverages} == {"private", "no_insurance"}


# --- cheap_skip and references ----------------------------------------------------------


@pytest.mark.parametrize(("raw", "skipped"), [
    ({"resourceType": "Condition"}, True),
    ({"resourceType": "Immunization"}, True),
    ({"resourceType": "Medication"}, True),
    ({"resourceType": "Patient"}, False),
    ({"resourceType": "Claim"}, False),
    ({"resourceType": "ExplanationOfBenefit"}, False),
    ({"resourceType": "Observation", "category": [{"coding": [{"code": "vital-signs"}]}]}, True),
    ({"resourceType": "Observation", "category": [{"coding": [{"code": "laboratory"}]}]}, False),
    ({"resourceType": "Observation"}, True),
    ({"resourceType": "Observation", "category": "laboratory"}, False),  # let validation say
    ({"resourceType": "DiagnosticReport", "category": [{"coding": [{"code": "LP29684-5"}]}]},
     True),
    ({"resourceType": "DiagnosticReport", "category": [{"coding": [{"code": "LAB"}]}]}, False),
    ({"resourceType": "DiagnosticReport", "category": [{"coding": [{"code": "HM"}]}]}, False),
    ({}, False),
])
def test_cheap_skip_turns_away_what_prm_does_not_use(raw, skipped):
    assert (cheap_skip(raw) is not None) is skipped


def test_cheap_skip_says_why():
    reason = cheap_skip({"resourceType": "Observation",
                         "category": [{"coding": [{"code": "vital-signs"}]}]})
    assert reason == "Observation category vital-signs is not a laboratory result"


@pytest.mark.parametrize(("ref", "expected"), [
    ("Patient/1", "Patient/1"),
    ("https://fhir.example/r4/Patient/1", "Patient/1"),
    ("Patient/1/_history/2", "Patient/1"),
    ("urn:uuid:5c1b", "Patient/9"),
    ("urn:uuid:unknown", None),
    ("Practitioner?identifier=https://example|9999", None),
    ("#coverage", None),
    ("", None),
    ("not a reference", None),
])
def test_references_normalise_to_type_and_id(ref, expected):
    assert normalise_reference(ref, {"urn:uuid:5c1b": "Patient/9"}) == expected


def test_source_key_reads_id_version_and_last_updated_in_utc():
    raw = {"resourceType": "Patient", "id": "p1",
           "meta": {"versionId": "3", "lastUpdated": "2024-05-01T09:00:00+07:00"}}
    key = source_key(raw, CONFIG)
    assert (key.server, key.reference, key.version_id) == ("test", "Patient/p1", "3")
    assert key.last_updated == datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
    assert map_one(raw).key == key  # from the validated model too


# --- errors -----------------------------------------------------------------------------


def test_a_wrongly_typed_field_is_a_short_readable_error():
    raw = {"resourceType": "Patient", "id": "p1", "birthDate": "not-a-date",
           "name": [{"family": "Secret-Family-Name", "given": "Somchai"}]}
    with pytest.raises(MappingError) as caught:
        map_resource(raw, CONFIG)
    message = str(caught.value)
    assert message.startswith("Patient p1: not valid FHIR R4: ")
    assert "birthDate: Date value string does not match spec regex" in message
    assert "name[0].given: Input should be a valid list" in message
    assert "Secret-Family-Name" not in message and "not-a-date" not in message
    assert len(message) < 300


def test_at_most_three_validation_errors_are_listed():
    raw = {"resourceType": "Patient", "id": "p1", "birthDate": "x", "gender": 1,
           "active": "maybe", "deceasedBoolean": "perhaps", "telecom": "none"}
    with pytest.raises(MappingError, match=r"\(and 2 more\)$"):
        map_resource(raw, CONFIG)


def test_a_resource_without_id_cannot_be_tracked():
    with pytest.raises(MappingError, match="Patient without an id"):
        map_resource({"resourceType": "Patient"}, CONFIG)


def test_a_dict_without_resource_type_is_not_fhir():
    with pytest.raises(MappingError, match="resourceType is missing"):
        map_resource({"id": "x"}, CONFIG)


# --- Patient ----------------------------------------------------------------------------


def patient(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "p1", **fields}


def test_thai_and_english_names_fill_their_own_fields():
    record = map_one(patient(name=[
        {"use": "nickname", "given": ["Lek"]},
        {"use": "official", "prefix": ["Mr."], "given": ["Somchai"], "family": "Jaidee"},
        {"use": "official", "prefix": ["นาย"], "given": ["สมชาย"], "family": "ใจดี"},
        {"use": "old", "given": ["สมศักดิ์"], "family": "ใจร้าย"},
    ]))
    assert (record.title_th, record.given_name_th, record.family_name_th) == (
        "นาย", "สมชาย", "ใจดี")
    assert (record.title_en, record.given_name_en, record.family_name_en) == (
        "Mr.", "Somchai", "Jaidee")


def test_a_name_given_only_as_text_is_split():
    record = map_one(patient(name=[{"text": "สมหญิง รักไทย"}]))
    assert (record.given_name_th, record.family_name_th) == ("สมหญิง", "รักไทย")


def test_a_valid_thai_national_id_is_kept():
    record = map_one(patient(identifier=[
        {"system": "https://www.dopa.go.th", "value": "1-1037-00123-45-8"}]))
    assert record.national_id == VALID_NATIONAL_ID


def test_a_national_id_is_recognised_by_its_type():
    record = map_one(patient(identifier=[{
        "type": {"coding": [{"system": V2_0203, "code": "NNTHA"}]}, "system": "urn:x",
        "value": VALID_NATIONAL_ID}]))
    assert record.national_id == VALID_NATIONAL_ID


def test_a_national_id_with_a_wrong_check_digit_is_left_out_not_fatal():
    record = map_one(patient(
        identifier=[{"system": "https://www.dopa.go.th", "value": WRONG_CHECK_DIGIT}],
        name=[{"given": ["Somchai"]}]))
    assert record.national_id is None
    assert record.given_name_en == "Somchai"


def test_the_hn_comes_from_a_configured_system_before_an_mr_identifier():
    config = MappingConfig(server="test", hn_systems=("https://hospital.example/hn",))
    mr = {"type": {"coding": [{"system": V2_0203, "code": "MR"}]}, "system": "urn:lab",
          "value": "LAB-1"}
    hn = {"system": "https://hospital.example/hn", "value": "hn 000123"}
    [record] = map_resource(patient(identifier=[mr, hn]), config)
    assert record.hn == "HN000123"
    [record] = map_resource(patient(identifier=[mr]), config)
    assert record.hn == "LAB-1"


def test_a_passport_keeps_its_issuing_country():
    record = map_one(patient(identifier=[
        {"system": "http://hl7.org/fhir/sid/passport-MMR", "value": "mb 123456"}]))
    assert (record.passport_no, record.passport_country) == ("MB123456", "MM")
    record = map_one(patient(identifier=[{
        "type": {"coding": [{"system": V2_0203, "code": "PPN"}]}, "value": "AA1234567",
        "assigner": {"display": "Laos"}}]))
    assert (record.passport_no, record.passport_country) == ("AA1234567", "LA")
    record = map_one(patient(identifier=[{
        "type": {"coding": [{"system": V2_0203, "code": "PPN"}]}, "value": "E1234",
        "extension": [{"url": "https://hospital.example/passport-country",
                       "valueCode": "KHM"}]}]))
    assert record.passport_country == "KH"


def test_phones_become_e164_mobile_first_and_invalid_ones_are_dropped():
    record = map_one(patient(telecom=[
        {"system": "phone", "value": "02 123 4567", "use": "home"},
        {"system": "phone", "value": "12345"},
        {"system": "email", "value": "a@example.com"},
        {"system": "phone", "value": "081 234 5678", "use": "mobile"},
        {"system": "sms", "value": "+66 81 234 5678"},
    ]))
    assert record.phones_e164 == ("+66812345678", "+6621234567")


@pytest.mark.parametrize(("code", "expected"), [("MMR", "MM"), ("th", "TH"), ("XX", None)])
def test_nationality_comes_from_the_standard_extension(code, expected):
    record = map_one(patient(extension=[{
        "url": "http://hl7.org/fhir/StructureDefinition/patient-nationality",
        "extension": [{"url": "code", "valueCodeableConcept": {
            "coding": [{"system": "urn:iso:std:iso:3166", "code": code}]}}]}]))
    assert record.nationality == expected


def test_without_the_extension_nationality_is_unknown():
    assert map_one(patient()).nationality is None


def test_preferred_language_is_two_letters():
    record = map_one(patient(communication=[
        {"language": {"coding": [{"code": "en-US"}]}},
        {"language": {"coding": [{"code": "th-TH"}]}, "preferred": True}]))
    assert record.preferred_language == "th"


def test_death_is_read_from_boolean_or_datetime():
    record = map_one(patient(deceasedDateTime="2024-03-01T08:00:00+07:00"))
    assert record.deceased and record.deceased_at == datetime(2024, 3, 1, 1, 0, tzinfo=UTC)
    record = map_one(patient(deceasedBoolean=True))
    assert record.deceased and record.deceased_at is None
    assert not map_one(patient()).deceased


def test_gender_and_partial_birth_date():
    record = map_one(patient(gender="female", birthDate="1950"))
    assert (record.sex, record.birth_date) == ("female", date(1950, 1, 1))


# --- Coverage, Claim, ExplanationOfBenefit ----------------------------------------------


def coverage(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "Coverage", "id": "c1", "status": "active",
            "beneficiary": {"reference": "Patient/p1"},
            "payor": [{"display": "NHSO", "identifier": {"system": "urn:payer", "value": "UC"}}],
            **fields}


def test_coverage_codes_payor_member_and_period():
    record = map_one(coverage(
        type={"coding": [{"system": "https://hospital.example/scheme", "code": "UCS"}]},
        subscriberId="M-42",
        period={"start": "2024-01-01", "end": "2024-12-31T23:59:59+07:00"},
        **{"class": [{"type": {"coding": [{"code": "plan"}]}, "value": "UC-Gold"}]},
    ))
    assert record == CoverageRecord(
        key=record.key, patient_ref="Patient/p1", active=True,
        codes=("https://hospital.example/scheme|UCS", "plan|UC-Gold"),
        payor_identifiers=("urn:payer|UC",), payor_name="NHSO", member_id="M-42",
        valid_from=date(2024, 1, 1), valid_to=date(2024, 12, 31), origin="coverage")


def test_coverage_member_number_identifier_when_no_subscriber_id():
    record = map_one(coverage(identifier=[
        {"value": "other"},
        {"type": {"coding": [{"system": V2_0203, "code": "MB"}]}, "value": "SSO-77"}]))
    assert record.member_id == "SSO-77"


def test_coverage_status_decides_active_or_deleted():
    assert map_one(coverage(status="cancelled")).active is False
    assert isinstance(map_one(coverage(status="entered-in-error")), DeletedRecord)


def test_coverage_with_a_conditional_beneficiary_cannot_be_mapped():
    raw = coverage(beneficiary={"reference": "Patient?identifier=urn:hn|123"})
    with pytest.raises(MappingError, match="Coverage c1: beneficiary .* cannot be resolved"):
        map_resource(raw, CONFIG)


def claim(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "Claim", "id": "cl1", "status": "active",
            "patient": {"reference": "urn:uuid:p"},
            "billablePeriod": {"start": "2024-02-01T09:00:00+07:00"},
            "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "SSS"}}],
            **fields}


def test_a_claim_names_the_payer_it_was_billed_to():
    record = map_one(claim(), {"urn:uuid:p": "Patient/p1"})
    assert (record.origin, record.patient_ref, record.payor_name, record.valid_from) == (
        "claim", "Patient/p1", "SSS", date(2024, 2, 1))


def test_a_claim_picks_the_focal_insurance():
    insurance = [{"sequence": 1, "focal": False, "coverage": {"display": "self-pay"}},
                 {"sequence": 2, "focal": True, "coverage": {"display": "SSS"}}]
    assert map_one(claim(insurance=insurance), {"urn:uuid:p": "Patient/p1"}).payor_name == "SSS"


def test_an_eob_reads_its_contained_coverage():
    raw = {
        "resourceType": "ExplanationOfBenefit", "id": "e1", "status": "active",
        "patient": {"reference": "Patient/p1"},
        "contained": [{"resourceType": "Coverage", "id": "cov", "status": "active",
                       "type": {"coding": [{"system": "urn:scheme", "code": "CSMBS"}]},
                       "beneficiary": {"reference": "Patient/p1"},
                       "payor": [{"display": "Comptroller General"}]}],
        "insurance": [{"focal": True, "coverage": {"reference": "#cov"}}],
        "billablePeriod": {"start": "2024-03-01", "end": "2024-03-02"},
        "item": [{"sequence": 1, "whatever": "PRM does not read items"}],
    }
    record = map_one(raw)
    assert (record.origin, record.codes, record.payor_name) == (
        "eob", ("urn:scheme|CSMBS",), "Comptroller General")
    assert (record.valid_from, record.valid_to) == (date(2024, 3, 1), date(2024, 3, 2))


def test_a_claim_without_usable_insurance_gives_nothing():
    assert map_resource(claim(insurance=[]), CONFIG, {"urn:uuid:p": "Patient/p1"}) == []
    no_name = [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/c9"}}]
    assert map_resource(claim(insurance=no_name), CONFIG, {"urn:uuid:p": "Patient/p1"}) == []


def test_claim_statuses():
    refs = {"urn:uuid:p": "Patient/p1"}
    assert map_one(claim(status="cancelled"), refs).active is False
    assert isinstance(map_one(claim(status="entered-in-error"), refs), DeletedRecord)


def test_the_parts_of_a_claim_prm_reads_are_validated():
    bad = [{"sequence": "first", "focal": True, "coverage": {"display": "SSS"}}]
    with pytest.raises(MappingError, match=r"Claim cl1: not valid FHIR R4: insurance\[0\]\.seq"):
        map_resource(claim(insurance=bad), CONFIG, {"urn:uuid:p": "Patient/p1"})
    with pytest.raises(MappingError, match="Claim cl1: patient is missing"):
        map_resource(claim(patient=None), CONFIG)
    with pytest.raises(MappingError, match="billablePeriod"):
        map_resource(claim(billablePeriod="2024"), CONFIG, {"urn:uuid:p": "Patient/p1"})


# --- Organization, Practitioner, Appointment, Encounter ---------------------------------


def test_organization_and_practitioner():
    org = map_one({"resourceType": "Organization", "id": "o1", "name": "โรงพยาบาลตัวอย่าง",
                   "identifier": [{"system": "urn:hcode", "value": "10999"}]})
    assert org == OrganizationRecord(org.key, "โรงพยาบาลตัวอย่าง", ("urn:hcode|10999",))
    doctor = map_one({"resourceType": "Practitioner", "id": "d1", "name": [
        {"prefix": ["Dr."], "given": ["Anong"], "family": "Suksan"},
        {"prefix": ["พญ."], "given": ["อนงค์"], "family": "สุขสันต์"}]})
    assert doctor == PractitionerRecord(doctor.key, "Dr. Anong Suksan", "พญ. อนงค์ สุขสันต์")


def appointment(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "Appointment", "id": "a1", "status": "booked",
            "start": "2024-06-03T09:00:00+07:00", "end": "2024-06-03T09:30:00+07:00",
            "participant": [
                {"actor": {"reference": "Location/room-1"}, "status": "accepted"},
                {"actor": {"reference": "urn:uuid:pt"}, "status": "accepted"},
                {"actor": {"reference": "Practitioner/d1"}, "status": "accepted"}],
            **fields}


REFS = {"urn:uuid:pt": "Patient/p1"}


def test_an_appointment_maps_its_patient_clinician_time_and_clinic():
    record = map_one(appointment(
        serviceType=[{"coding": [{"code": "MED", "display": "Medicine OPD"}]}],
        reasonCode=[{"text": "Diabetes follow-up"}]), REFS)
    assert record == AppointmentRecord(
        key=record.key, patient_ref="Patient/p1",
        starts_at=datetime(2024, 6, 3, 2, 0, tzinfo=UTC), minutes=30, status="booked",
        practitioner_ref="Practitioner/d1", clinic=record.clinic, reason="Diabetes follow-up")
    assert (record.clinic.code, record.clinic.name) == ("MED", "Medicine OPD")


@pytest.mark.parametrize(("fhir_status", "prm_status"), [
    ("proposed", "proposed"), ("pending", "proposed"), ("waitlist", "proposed"),
    ("booked", "booked"), ("arrived", "arrived"), ("checked-in", "arrived"),
    ("fulfilled", "fulfilled"), ("cancelled", "cancelled"), ("noshow", "noshow"),
])
def test_appointment_statuses(fhir_status, prm_status):
    assert map_one(appointment(status=fhir_status), REFS).status == prm_status


def test_a_cancelled_appointment_keeps_its_reason():
    record = map_one(appointment(status="cancelled",
                                 cancelationReason={"text": "Patient is admitted elsewhere"}),
                     REFS)
    assert record.cancel_reason == "Patient is admitted elsewhere"


def test_an_appointment_entered_in_error_is_deleted():
    assert isinstance(map_one(appointment(status="entered-in-error"), REFS), DeletedRecord)


def test_minutes_come_from_minutes_duration_without_an_end():
    raw = appointment(minutesDuration=45)
    del raw["end"]
    assert map_one(raw, REFS).minutes == 45


def test_a_conditional_practitioner_is_left_out_but_the_appointment_kept():
    raw = appointment()
    raw["participant"][2]["actor"] = {"reference": "Practitioner?identifier=urn:lic|9999"}
    record = map_one(raw, REFS)
    assert (record.patient_ref, record.practitioner_ref) == ("Patient/p1", None)


def test_an_appointment_without_a_patient_is_an_error():
    raw = appointment(participant=[{"actor": {"reference": "Practitioner/d1"},
                                    "status": "accepted"}])
    with pytest.raises(MappingError, match="Appointment a1: no participant is a Patient"):
        map_resource(raw, CONFIG)


def test_an_appointment_whose_patient_is_a_conditional_reference_is_an_error():
    raw = appointment()
    raw["participant"][1]["actor"] = {"reference": "Patient?identifier=urn:hn|000123"}
    with pytest.raises(MappingError, match="participant.actor 'Patient[?]identifier=.*' cannot be"):
        map_resource(raw, CONFIG)


def test_a_proposed_appointment_without_a_time_gives_nothing():
    raw = appointment(status="proposed")
    del raw["start"], raw["end"]
    assert map_resource(raw, CONFIG, REFS) == []


def encounter(code: str = "AMB", **fields: Any) -> dict[str, Any]:
    return {"resourceType": "Encounter", "id": "e1", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                      "code": code},
            "subject": {"reference": "Patient/p1"},
            "period": {"start": "2024-06-01T08:00:00+07:00",
                       "end": "2024-06-05T10:00:00+07:00"},
            **fields}


@pytest.mark.parametrize(("code", "expected"), [
    ("AMB", "outpatient"), ("VR", "outpatient"), ("HH", "outpatient"),
    ("OBSENC", "outpatient"), ("EMER", "emergency"), ("IMP", "inpatient"),
    ("ACUTE", "inpatient"), ("NONAC", "inpatient"), ("PRENC", "inpatient"),
])
def test_encounter_classes(code, expected):
    assert map_one(encounter(code)).encounter_class == expected


def test_an_unknown_encounter_class_is_an_error():
    with pytest.raises(MappingError, match="Encounter e1: class 'XYZ' is not one PRM knows"):
        map_resource(encounter("XYZ"), CONFIG)


def test_an_inpatient_stay_with_its_discharge():
    record = map_one(encounter(
        "IMP", serviceType={"coding": [{"code": "MED-W", "display": "Medicine ward"}]},
        serviceProvider={"reference": "Organization/o1"},
        hospitalization={"dischargeDisposition": {"coding": [{"code": "home",
                                                              "display": "Home"}]}}))
    assert record == EncounterRecord(
        key=record.key, patient_ref="Patient/p1", encounter_class="inpatient",
        started_at=datetime(2024, 6, 1, 1, 0, tzinfo=UTC),
        ended_at=datetime(2024, 6, 5, 3, 0, tzinfo=UTC), discharge_disposition="Home",
        finished=True, cancelled=False, clinic=record.clinic, organization_ref="Organization/o1")
    assert record.clinic.code == "MED-W"


def test_encounter_statuses():
    record = map_one(encounter(status="cancelled"))
    assert (record.finished, record.cancelled) == (False, True)
    record = map_one(encounter(status="in-progress"))
    assert (record.finished, record.cancelled) == (False, False)
    assert isinstance(map_one(encounter(status="entered-in-error")), DeletedRecord)


def test_an_encounter_for_a_group_is_an_error():
    with pytest.raises(MappingError, match="subject points to Group, not to a Patient"):
        map_resource(encounter(subject={"reference": "Group/g1"}), CONFIG)


# --- medication -------------------------------------------------------------------------


def medication_request(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": "m1", "status": "active",
            "intent": "order", "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": {"text": "Metformin 500 mg tablet"},
            "authoredOn": "2024-06-01T10:00:00+07:00", **fields}


@pytest.mark.parametrize(("duration", "days"), [
    ({"value": 2, "unit": "weeks", "system": "http://unitsofmeasure.org", "code": "wk"}, 14),
    ({"value": 3, "unit": "months", "system": "http://unitsofmeasure.org", "code": "mo"}, 90),
    ({"value": 30, "unit": "days"}, 30),
    ({"value": 1, "unit": "ปี"}, 365),
    ({"value": 36, "code": "h"}, 2),
    ({"value": 5, "unit": "tablets"}, None),
])
def test_supply_duration_in_days(duration, days):
    raw = medication_request(dispenseRequest={"expectedSupplyDuration": duration})
    assert map_one(raw).supply_days == days


def test_a_medication_order_with_its_instructions_refills_and_validity():
    record = map_one(medication_request(
        dosageInstruction=[{"text": "1 tablet twice a day after meals"}],
        dispenseRequest={"numberOfRepeatsAllowed": 2,
                         "validityPeriod": {"start": "2024-06-01", "end": "2024-12-01"}}))
    assert record == MedicationOrderRecord(
        key=record.key, patient_ref="Patient/p1", medication="Metformin 500 mg tablet",
        ordered_at=datetime(2024, 6, 1, 3, 0, tzinfo=UTC), active=True,
        instructions="1 tablet twice a day after meals", supply_days=None, refills=2,
        valid_from=date(2024, 6, 1), valid_to=date(2024, 12, 1))


@pytest.mark.parametrize(("status", "active"), [
    ("active", True), ("on-hold", True), ("completed", False), ("stopped", False),
    ("cancelled", False), ("draft", False),
])
def test_medication_order_active_statuses(status, active):
    assert map_one(medication_request(status=status)).active is active


def test_a_medication_reference_display_names_the_medicine():
    raw = medication_request(medicationReference={"reference": "Medication/x",
                                                  "display": "Amlodipine 5 mg"})
    del raw["medicationCodeableConcept"]
    assert map_one(raw).medication == "Amlodipine 5 mg"
    raw["medicationReference"] = {"reference": "Medication/x"}
    with pytest.raises(MappingError, match="MedicationRequest m1: the medication has no name"):
        map_resource(raw, CONFIG)


def dispense(status: str, **fields: Any) -> dict[str, Any]:
    return {"resourceType": "MedicationDispense", "id": "md1", "status": status,
            "medicationCodeableConcept": {"text": "Metformin"},
            "subject": {"reference": "Patient/p1"},
            "authorizingPrescription": [{"reference": "MedicationRequest/m1"}], **fields}


@pytest.mark.parametrize(("status", "expected"), [
    ("preparation", "prepared"), ("in-progress", "prepared"), ("on-hold", "prepared"),
    ("completed", "handed_over"), ("cancelled", "cancelled"), ("stopped", "cancelled"),
    ("declined", "cancelled"),
])
def test_dispense_statuses(status, expected):
    assert map_one(dispense(status)).status == expected


def test_a_handed_over_dispense():
    record = map_one(dispense("completed", whenPrepared="2024-06-02T09:00:00+07:00",
                              whenHandedOver="2024-06-02T11:30:00+07:00",
                              daysSupply={"value": 30, "unit": "day"}))
    assert record == MedicationDispenseRecord(
        key=record.key, patient_ref="Patient/p1", status="handed_over",
        order_ref="MedicationRequest/m1", prepared_at=datetime(2024, 6, 2, 2, 0, tzinfo=UTC),
        handed_over_at=datetime(2024, 6, 2, 4, 30, tzinfo=UTC), days_supply=30)


def test_dispenses_in_error_or_unknown():
    assert isinstance(map_one(dispense("entered-in-error")), DeletedRecord)
    assert map_resource(dispense("unknown"), CONFIG) == []


# --- laboratory -------------------------------------------------------------------------


def observation(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": "obs-7", "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7",
                                 "display": "Glucose"}], "text": "Fasting glucose"},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2024-06-01T07:00:00+07:00",
            "issued": "2024-06-01T10:00:00+07:00",
            "valueQuantity": {"value": 98, "unit": "mg/dL"},
            "referenceRange": [{"low": {"value": 70, "unit": "mg/dL"},
                                "high": {"value": 100, "unit": "mg/dL"}}],
            **fields}


def test_a_final_lab_result():
    record = map_one(observation())
    assert record == LabResultRecord(
        key=record.key, patient_ref="Patient/p1", test_name="Fasting glucose",
        test_code="2345-7", value="98", unit="mg/dL", reference_range="70–100 mg/dL",
        interpretation="normal", status="final",
        effective_at=datetime(2024, 6, 1, 0, 0, tzinfo=UTC),
        released_at=datetime(2024, 6, 1, 3, 0, tzinfo=UTC))


@pytest.mark.parametrize(("code", "expected"), [
    ("N", "normal"), ("H", "high"), ("L", "low"), ("HH", "critical_high"),
    ("HU", "critical_high"), ("LL", "critical_low"), ("LU", "critical_low"),
    ("A", "abnormal"), ("AA", "critical_abnormal"),
])
def test_interpretation_codes(code, expected):
    raw = observation(interpretation=[{"coding": [{"system": INTERPRETATION, "code": code}]}])
    assert map_one(raw).interpretation == expected


@pytest.mark.parametrize(("value", "expected"), [(130, "high"), (55, "low"), (70, "normal")])
def test_interpretation_is_derived_from_the_range_when_not_given(value, expected):
    assert map_one(observation(valueQuantity={"value": value, "unit": "mg/dL"})
                   ).interpretation == expected


def test_no_interpretation_is_derived_across_units():
    raw = observation(valueQuantity={"value": 9, "unit": "mmol/L"})
    assert map_one(raw).interpretation == "normal"


def test_a_preliminary_result_is_not_released():
    record = map_one(observation(status="preliminary"))
    assert (record.status, record.released_at) == ("preliminary", None)


def test_a_final_result_without_issued_is_released_when_taken():
    raw = observation()
    del raw["issued"]
    assert map_one(raw).released_at == datetime(2024, 6, 1, 0, 0, tzinfo=UTC)


def test_cancelled_results_are_deleted():
    assert isinstance(map_one(observation(status="cancelled")), DeletedRecord)
    assert isinstance(map_one(observation(status="entered-in-error")), DeletedRecord)


def test_a_panel_without_a_value_gives_nothing():
    raw = observation(hasMember=[{"reference": "Observation/obs-8"}])
    del raw["valueQuantity"], raw["referenceRange"]
    assert map_resource(raw, CONFIG) == []


@pytest.mark.parametrize(("value", "text", "unit"), [
    ({"valueString": "Negative"}, "Negative", ""),
    ({"valueCodeableConcept": {"coding": [{"code": "260385009", "display": "Negative"}]}},
     "Negative", ""),
    ({"valueBoolean": True}, "true", ""),
    ({"valueInteger": 3}, "3", ""),
    ({"valueQuantity": {"value": 0.5, "comparator": "<", "unit": "ng/mL"}}, "<0.5", "ng/mL"),
    ({"valueRatio": {"numerator": {"value": 1}, "denominator": {"value": 64}}}, "1:64", ""),
    ({"valueRange": {"low": {"value": 2, "unit": "/HPF"}, "high": {"value": 5, "unit": "/HPF"}}},
     "2–5 /HPF", ""),
])
def test_value_types_become_text(value, text, unit):
    raw = observation()
    del raw["valueQuantity"]
    record = map_one({**raw, **value})
    assert (record.value, record.unit) == (text, unit)


def test_reference_range_text_and_single_bounds():
    assert map_one(observation(referenceRange=[{"text": "Negative"}])).reference_range == \
        "Negative"
    assert map_one(observation(referenceRange=[{"high": {"value": 200, "unit": "mg/dL"}}])
                   ).reference_range == "≤ 200 mg/dL"


def test_a_lab_result_for_an_unresolvable_patient_is_an_error():
    with pytest.raises(MappingError, match="Observation obs-7: subject is missing"):
        map_resource(observation(subject=None), CONFIG)
    with pytest.raises(MappingError, match="cannot be resolved"):
        map_resource(observation(subject={"reference": "urn:uuid:nowhere"}), CONFIG)


def test_a_lab_report_lists_its_results():
    raw = {"resourceType": "DiagnosticReport", "id": "r1", "status": "final",
           "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                                     "code": "LAB"}]}],
           "code": {"text": "CBC"}, "subject": {"reference": "urn:uuid:pt"},
           "issued": "2024-06-01T10:00:00Z",
           "result": [{"reference": "Observation/o1"}, {"reference": "urn:uuid:o2"},
                      {"reference": "#contained"}]}
    record = map_one(raw, {"urn:uuid:pt": "Patient/p1", "urn:uuid:o2": "Observation/o2"})
    assert record == LabReportRecord(
        key=record.key, patient_ref="Patient/p1", status="final",
        issued_at=datetime(2024, 6, 1, 10, 0, tzinfo=UTC),
        result_refs=("Observation/o1", "Observation/o2"))
    assert isinstance(map_one({**raw, "status": "entered-in-error"},
                              {"urn:uuid:pt": "Patient/p1"}), DeletedRecord)


def test_a_vital_sign_given_to_map_resource_gives_nothing():
    raw = observation(category=[{"coding": [{"code": "vital-signs"}]}])
    assert map_resource(raw, CONFIG) == []


# --- shared helpers ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("2020", datetime(2020, 1, 1, tzinfo=UTC)),
    ("2020-05", datetime(2020, 5, 1, tzinfo=UTC)),
    ("2020-05-03", datetime(2020, 5, 3, tzinfo=UTC)),
    ("2020-05-03T07:00:00+07:00", datetime(2020, 5, 3, tzinfo=UTC)),
    ("2020-05-03T00:00:00.250Z", datetime(2020, 5, 3, 0, 0, 0, 250000, tzinfo=UTC)),
])
def test_fhir_times_become_aware_utc(text, expected):
    assert to_utc(text) == expected


@pytest.mark.parametrize(("value", "unit", "days"), [
    (1, "wk", 7), (2, "mo", 60), (1, "a", 365), (12, "h", 1), (10, "Days", 10),
    (2, "สัปดาห์", 14), (0, "d", None), (3, "fortnight", None),
])
def test_durations_in_days(value, unit, days):
    assert duration_days(value, unit) == days
