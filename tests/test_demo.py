"""The deterministic Thai demo hospital (``prm demo``): reproducible, valid, believable."""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, text
from sqlmodel import Session, select

from prm.db import make_engine
from prm.demo import generate as demo
from prm.demo import generate_demo
from prm.demo.people import REFERENCE, REFERENCE_DATE
from prm.migrate import upgrade
from prm.models.patient import Coverage, Patient
from prm.models.segment import Segment
from prm.models.timeline import TimelineEntry
from prm.patients.identifiers import national_id_is_valid, normalise_phone
from prm.patients.service import next_hn, search_fields
from prm.segments.derivation import derive_segment

POSTGRES_URL = os.environ.get("PRM_TEST_POSTGRES_URL", "")
ALL_SEGMENTS = {
    "social_security_referral", "social_security", "civil_servant", "universal_coverage",
    "life_insurance", "foreign_uninsured", "self_pay",
}


def fresh_sqlite(directory: Path, name: str = "prm.db") -> Engine:
    url = f"sqlite:///{directory / name}"
    upgrade(url)
    return make_engine(url)


def table_rows(engine: Engine, table: str) -> list[tuple]:
    with engine.connect() as connection:
        return list(connection.execute(text(f"SELECT * FROM {table} ORDER BY id")))


@pytest.fixture(scope="module")
def hospital(tmp_path_factory) -> Iterator[Engine]:
    """2,000 demo patients, generated once for the checks that only read."""
    engine = fresh_sqlite(tmp_path_factory.mktemp("demo"))
    generate_demo(engine, patients=2000, seed=1)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def patients(hospital) -> list[Patient]:
    with Session(hospital) as session:
        return list(session.exec(select(Patient).order_by(Patient.id)))


def test_it_refuses_fewer_than_one_patient(tmp_path):
    engine = fresh_sqlite(tmp_path)
    for count in (0, -5):
        with pytest.raises(ValueError, match="at least 1 patient"):
            generate_demo(engine, patients=count)
    assert table_rows(engine, "patient") == []


def test_it_refuses_a_database_without_the_payer_segments(tmp_path):
    engine = fresh_sqlite(tmp_path)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM segment_rule WHERE segment_code = 'civil_servant'"))
        connection.execute(text("DELETE FROM segment WHERE code = 'civil_servant'"))
    with pytest.raises(ValueError, match="civil_servant"):
        generate_demo(engine, patients=10)


def test_same_seed_gives_identical_rows_and_another_seed_does_not(tmp_path):
    first, second, other = (fresh_sqlite(tmp_path, f"{n}.db") for n in ("a", "b", "c"))
    generate_demo(first, patients=300, seed=7)
    generate_demo(second, patients=300, seed=7)
    generate_demo(other, patients=300, seed=8)
    for table in ("patient", "coverage", "timeline_entry"):
        assert table_rows(first, table) == table_rows(second, table), table
    assert table_rows(first, "patient") != table_rows(other, "patient")


def test_it_reports_progress_per_chunk_and_counts_what_it_wrote(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "CHUNK_SIZE", 100)
    engine = fresh_sqlite(tmp_path)
    seen: list[int] = []
    summary = generate_demo(engine, patients=250, seed=1, progress=seen.append)
    assert seen == [100, 200, 250]
    assert summary.patients == len(table_rows(engine, "patient")) == 250
    assert summary.coverages == len(table_rows(engine, "coverage"))
    assert summary.seconds > 0


def test_thai_patients_have_valid_unique_national_ids(patients):
    thai = [p for p in patients if p.nationality == "TH"]
    assert all(p.national_id and national_id_is_valid(p.national_id) for p in thai)
    assert len({p.national_id for p in thai}) == len(thai)


def test_foreigners_have_passports_and_no_national_id(patients):
    foreign = [p for p in patients if p.nationality != "TH"]
    assert 0.03 < len(foreign) / len(patients) < 0.09
    assert all(p.passport_no and p.passport_country == p.nationality for p in foreign)
    assert all(p.national_id is None for p in foreign)
    assert len({p.nationality for p in foreign}) >= 6
    assert Counter(p.preferred_language for p in foreign).most_common(1)[0][0] == "en"


def test_hns_are_unique_and_follow_the_registration_pattern(patients):
    hns = [p.hn for p in patients]
    assert len(set(hns)) == len(hns)
    for patient in patients:
        assert re.fullmatch(r"\d{8}", patient.hn)
        assert patient.hn[:2] == f"{(patient.created_at.year + 543) % 100:02d}"
    # Issued in registration order: sorting by date sorts the HNs.
    by_date = sorted(patients, key=lambda p: (p.created_at, p.id))
    assert [p.hn for p in by_date] == sorted(hns)


def test_the_registry_issues_the_next_hn_after_the_demo(hospital, patients):
    latest = max(patients, key=lambda p: p.created_at)
    with Session(hospital) as session:
        following = next_hn(session, today=latest.created_at.date())
    assert int(following[2:]) == int(latest.hn[2:]) + 1


def test_every_payer_segment_appears_in_believable_shares(patients):
    shares = Counter(p.segment_code for p in patients)
    assert set(shares) == ALL_SEGMENTS
    assert 0.38 < shares["universal_coverage"] / len(patients) < 0.54
    assert 0.16 < shares["social_security"] / len(patients) < 0.30
    assert shares["social_security_referral"] < shares["civil_servant"]


def test_segment_is_what_the_registry_derives_from_the_coverage(hospital, patients):
    with Session(hospital) as session:
        ranks = dict(session.exec(select(Segment.code, Segment.rank)).all())
        by_patient: dict[int, list[Coverage]] = defaultdict(list)
        for coverage in session.exec(select(Coverage)):
            by_patient[coverage.patient_id].append(coverage)
    for patient in patients:
        assert patient.segment_code == derive_segment(
            by_patient[patient.id], nationality=patient.nationality, ranks=ranks,
            today=REFERENCE_DATE)
    assert any(len(covs) == 2 for covs in by_patient.values())


def test_referrals_name_the_referring_hospital_and_an_end_date(hospital):
    with Session(hospital) as session:
        referrals = list(session.exec(
            select(Coverage).where(Coverage.segment_code == "social_security_referral")))
        insured = list(session.exec(
            select(Coverage).where(Coverage.segment_code == "life_insurance")))
    assert referrals and all(c.referral_from and c.valid_to for c in referrals)
    assert insured and all(c.payer_name for c in insured)


def test_names_titles_and_search_columns_are_filled(patients):
    for patient in patients:
        assert patient.given_name_th and patient.family_name_th
        assert patient.given_name_en and patient.family_name_en
        values = {k: getattr(patient, k) for k in
                  ("given_name_th", "family_name_th", "given_name_en", "family_name_en")}
        derived = search_fields(values)
        assert {k: getattr(patient, k) for k in derived} == derived
        assert patient.title_th in {"นาย", "นาง", "นางสาว", "ด.ช.", "ด.ญ."}
        is_child = patient.birth_date > REFERENCE_DATE.replace(
            year=REFERENCE_DATE.year - 15)
        assert (patient.title_th in {"ด.ช.", "ด.ญ."}) == is_child
        assert patient.sex in {"female", "male"}
        assert patient.birth_date <= patient.created_at.date()


def test_phones_are_e164_thai_mobiles_and_consent_needs_one(patients):
    with_phone = [p for p in patients if p.phone_e164]
    assert 0.86 < len(with_phone) / len(patients) < 0.98
    assert all(normalise_phone(p.phone_e164) == p.phone_e164 for p in with_phone)
    assert len({p.phone_e164 for p in with_phone}) == len(with_phone)
    consenting = [p for p in patients if p.sms_consent]
    assert all(p.phone_e164 for p in consenting)
    assert 0.62 < len(consenting) / len(with_phone) < 0.78
    assert all(p.sms_consent_source == "registration"
               and p.sms_consent_changed_at == p.created_at for p in consenting)


def test_dates_are_aware_utc_and_before_the_reference_date(patients):
    for patient in patients:
        assert patient.created_at.utcoffset() is not None
        assert patient.created_at < REFERENCE
        if patient.deceased:
            assert patient.created_at < patient.deceased_at < REFERENCE
    deceased = sum(p.deceased for p in patients)
    assert 0.002 < deceased / len(patients) < 0.025


def test_each_patient_has_one_registered_timeline_entry(hospital, patients):
    with Session(hospital) as session:
        entries = list(session.exec(select(TimelineEntry)))
    assert len(entries) == len(patients)
    by_patient = {entry.patient_id: entry for entry in entries}
    for patient in patients:
        entry = by_patient[patient.id]
        assert entry.kind == "registered" and entry.actor_user_id is None
        assert entry.data == {"hn": patient.hn, "segment": patient.segment_code}
        assert entry.occurred_at == patient.created_at


def test_it_continues_after_patients_already_there(tmp_path):
    engine = fresh_sqlite(tmp_path)
    generate_demo(engine, patients=120, seed=1)
    generate_demo(engine, patients=80, seed=1)
    with Session(engine) as session:
        rows = list(session.exec(select(Patient)))
        timeline = session.exec(select(func.count()).select_from(TimelineEntry)).one()
    assert len(rows) == 200 and timeline == 200
    assert len({p.hn for p in rows}) == 200
    for column in ("national_id", "phone_e164", "passport_no"):
        values = [getattr(p, column) for p in rows if getattr(p, column)]
        assert len(set(values)) == len(values), column



@pytest.mark.skipif(not POSTGRES_URL, reason="PRM_TEST_POSTGRES_URL is not set")
def test_on_postgresql_it_loads_and_leaves_the_id_sequences_ahead(scratch_postgres_url):
    upgrade(scratch_postgres_url)
    engine = make_engine(scratch_postgres_url)
    try:
        summary = generate_demo(engine, patients=500, seed=1)
        assert len(table_rows(engine, "patient")) == 500
        assert len(table_rows(engine, "timeline_entry")) == 500
        assert len(table_rows(engine, "coverage")) == summary.coverages
        with Session(engine) as session:
            patient = Patient(hn="TEST0001", segment_code="self_pay")
            session.add(patient)
            session.flush()
            coverage = Coverage(patient_id=patient.id, segment_code="life_insurance")
            entry = TimelineEntry(patient_id=patient.id, kind="registered")
            session.add_all([coverage, entry])
            session.commit()
            assert patient.id == 501 and entry.id == 501
            assert coverage.id == summary.coverages + 1
        with engine.connect() as connection:  # vacuumed and analyzed, autovacuum or not
            done = dict(connection.exec_driver_sql(
                "SELECT relname, last_vacuum IS NOT NULL AND last_analyze IS NOT NULL "
                "FROM pg_stat_user_tables WHERE relname IN "
                "('patient', 'coverage', 'timeline_entry')").all())
        assert done == {"patient": True, "coverage": True, "timeline_entry": True}
    finally:
        engine.dispose()
