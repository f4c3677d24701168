"""The payer segment rule (prm.segments.derivation): one rule, whoever asks — the desk's
coverage forms and the hospital-records ingest agree on the same coverages."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from prm.ingest import ingest
from prm.ingest.records import CoverageRecord, PatientRecord, SourceKey
from prm.models.patient import Coverage, Patient
from prm.models.segment import Segment
from prm.patients import service as patients
from prm.segments.derivation import (
    FALLBACK_SOURCE,
    derive_segment,
    hospital_today,
    segment_ranks,
)
from tests.factories import make_patient, shown

TZ = ZoneInfo("Asia/Bangkok")
# 01:30 in Bangkok on 1 June is still 31 May in UTC.
NOW = datetime(2026, 5, 31, 18, 30, tzinfo=UTC)
TODAY = date(2026, 6, 1)
RANKS = {"social_security_referral": 10, "social_security": 20, "universal_coverage": 40,
         "life_insurance": 50}
# Payer codes the seeded mapping rules turn into these segments.
CODE_OF = {"social_security": "*|SSS", "universal_coverage": "*|UCS"}


def _held(segment_code: str, source: str = "manual", **fields) -> SimpleNamespace:
    values = {"active": True, "valid_from": None, "valid_to": None, **fields}
    return SimpleNamespace(segment_code=segment_code, source=source, **values)


def test_the_hospitals_date_decides_not_the_utc_date():
    assert hospital_today(TZ, NOW) == TODAY
    starts_today = [_held("social_security", valid_from=TODAY)]

    assert derive_segment(starts_today, nationality="TH", ranks=RANKS,
                          today=hospital_today(TZ, NOW)) == "social_security"


def test_the_best_ranked_current_coverage_decides_the_segment():
    held = [_held("life_insurance"), _held("social_security"), _held("universal_coverage")]

    assert derive_segment(held, nationality="TH", ranks=RANKS,
                          today=TODAY) == "social_security"


def test_without_coverage_a_thai_patient_pays_themselves_and_a_foreigner_is_uninsured():
    assert derive_segment([], nationality="TH", ranks=RANKS, today=TODAY) == "self_pay"
    assert derive_segment([], nationality="LA", ranks=RANKS,
                          today=TODAY) == "foreign_uninsured"


def test_a_payer_from_claims_counts_only_without_other_current_coverage():
    from_claims = _held("social_security", FALLBACK_SOURCE)
    lapsed = _held("universal_coverage", valid_to=TODAY - timedelta(days=1))

    assert derive_segment([from_claims, lapsed], nationality="MM", ranks=RANKS,
                          today=TODAY) == "social_security"
    assert derive_segment([from_claims, _held("universal_coverage")], nationality="TH",
                          ranks=RANKS, today=TODAY) == "universal_coverage"


# Each case: the patient's nationality and their coverages as (segment, from claims?,
# valid_from, valid_to).
CASES = {
    "foreigner, claims only": ("MM", [("social_security", True, None, None)]),
    "claims outranked by coverage": ("TH", [("social_security", True, None, None),
                                            ("universal_coverage", False, None, None)]),
    "starts today in Bangkok": ("TH", [("social_security", False, TODAY, None)]),
    "ended yesterday, foreigner": ("KH", [("universal_coverage", False, None,
                                          TODAY - timedelta(days=1))]),
    "starts tomorrow": ("TH", [("social_security", False, TODAY + timedelta(days=1), None)]),
    "two current, best rank": ("TH", [("universal_coverage", False, None, None),
                                      ("social_security", False, None, TODAY)]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_desk_and_the_ingest_derive_the_same_segment_from_the_same_coverage(session, case):
    nationality, held = CASES[case]

    from_records = _ingested_segment(session, nationality, held)
    at_the_desk = _desk_segment(session, nationality, held)

    expected = derive_segment(
        [_held(code, FALLBACK_SOURCE if claims else "fhir", valid_from=start, valid_to=end)
         for code, claims, start, end in held],
        nationality=nationality, ranks=segment_ranks(session), today=TODAY)
    assert from_records == at_the_desk == expected


def _ingested_segment(session: Session, nationality: str, held: list) -> str:
    records: list = [PatientRecord(SourceKey("his", "Patient", "p1"), hn="HN9001",
                                   given_name_en="Malee", family_name_en="Source",
                                   sex="female", nationality=nationality)]
    for index, (segment, claims, start, end) in enumerate(held):
        kind = "ExplanationOfBenefit" if claims else "Coverage"
        records.append(CoverageRecord(
            SourceKey("his", kind, f"c{index}"), "Patient/p1", codes=(CODE_OF[segment],),
            valid_from=start, valid_to=end, origin="eob" if claims else "coverage"))
    ingest(session, records, tz=TZ, now=NOW)
    session.commit()
    return session.execute(Patient.__table__.select().where(
        Patient.__table__.c.hn == "HN9001")).one().segment_code


def _desk_segment(session: Session, nationality: str, held: list) -> str:
    patient = make_patient(session, nationality=nationality, national_id="",
                           passport_no="X1234567", segment_code="self_pay")
    for segment, claims, start, end in held:
        session.add(Coverage(patient_id=patient.id, segment_code=segment,
                             source=FALLBACK_SOURCE if claims else "manual",
                             valid_from=start, valid_to=end))
    session.flush()
    return patients.refresh_segment(session, patient=patient, today=hospital_today(TZ, NOW))


def test_the_desk_uses_the_hospitals_date_when_none_is_given(session, monkeypatch):
    patient = make_patient(session, segment_code="self_pay")
    session.add(Coverage(patient_id=patient.id, segment_code="social_security",
                         valid_from=TODAY))
    session.flush()
    monkeypatch.setattr("prm.segments.derivation.utcnow", lambda: NOW)

    assert patients.refresh_segment(session, patient=patient) == "social_security"
    assert session.get(Patient, patient.id).segment_code == "social_security"


def test_the_coverage_panel_names_the_segment_the_badge_shows(nurse_client, session):
    foreigner = make_patient(session, nationality="MM", national_id="",
                             passport_no="M7654321", segment_code="self_pay")
    assert foreigner.segment_code == "foreign_uninsured"

    page = nurse_client.get(f"/patients/{foreigner.id}").text

    named = session.get(Segment, "foreign_uninsured").name_th
    assert shown("No coverage on file, so the segment is: %(segment)s.",
                 segment=named) in page
