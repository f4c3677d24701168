"""Care records of the demo hospital (``prm demo``): reproducible, never double-booked,
stored as the application stores them, and giving every follow-up rule work to do."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session, select

from prm.db import make_engine
from prm.demo import care
from prm.demo.care import CareSummary, generate_care
from prm.demo.generate import generate_demo
from prm.followups.rules import RULES, run_rules
from prm.migrate import upgrade
from prm.models.care import Appointment, AppointmentStatus, Encounter
from prm.models.types import UTCDateTime
from prm.models.worklist import ItemStatus, WorklistItem

POSTGRES_URL = os.environ.get("PRM_TEST_POSTGRES_URL", "")
REFERENCE = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)  # 10:00 in Bangkok, a Monday
CARE_TABLES = ("appointment", "encounter", "medication_order", "medication_dispense",
               "lab_result")
SLOT_HOLDING = "('proposed', 'booked', 'confirmed', 'arrived', 'fulfilled')"


def fresh_sqlite(directory: Path, name: str = "prm.db") -> Engine:
    url = f"sqlite:///{directory / name}"
    upgrade(url)
    return make_engine(url)


def table_rows(engine: Engine, table: str) -> list[tuple]:
    with engine.connect() as connection:
        return list(connection.execute(text(f"SELECT * FROM {table} ORDER BY id")))


def double_booked_slots(engine: Engine) -> list[tuple]:
    with engine.connect() as connection:
        return list(connection.execute(text(
            "SELECT clinician_id, starts_at FROM appointment WHERE clinician_id IS NOT NULL "
            f"AND status IN {SLOT_HOLDING} GROUP BY clinician_id, starts_at "
            "HAVING COUNT(*) > 1")))


def demo_hospital(engine: Engine, patients: int) -> CareSummary:
    generate_demo(engine, patients=patients, seed=1)
    return generate_care(engine, seed=1, reference=REFERENCE)


@pytest.fixture(scope="module")
def hospital(tmp_path_factory) -> Iterator[tuple[Engine, CareSummary, dict]]:
    """2,000 patients with their care, and the care rows as generated (before any rule
    run changes them)."""
    engine = fresh_sqlite(tmp_path_factory.mktemp("care"))
    summary = demo_hospital(engine, 2000)
    yield engine, summary, {table: table_rows(engine, table) for table in CARE_TABLES}
    engine.dispose()


def test_same_patients_seed_and_reference_give_identical_care(hospital, tmp_path):
    _engine, summary, rows = hospital
    again = fresh_sqlite(tmp_path)
    assert demo_hospital(again, 2000).appointments == summary.appointments
    for table in CARE_TABLES:
        assert table_rows(again, table) == rows[table], table


def test_it_draws_believable_volumes(hospital):
    engine, summary, rows = hospital
    with engine.connect() as connection:
        living = connection.scalar(text("SELECT COUNT(*) FROM patient WHERE NOT deceased"))
        on_medication = connection.scalar(text(
            "SELECT COUNT(DISTINCT patient_id) FROM medication_order WHERE active"))
        tested = connection.scalar(text("SELECT COUNT(DISTINCT patient_id) FROM lab_result"))
    assert summary.clinics == 13 and 13 * 3 <= summary.clinicians <= 13 * 8
    assert 4 <= summary.appointments / living <= 6
    assert summary.encounters == len(rows["encounter"]) > 0.7 * summary.appointments
    assert 0.20 <= on_medication / living <= 0.30
    assert 0.35 <= tested / living <= 0.45


def test_a_clinician_never_holds_one_slot_twice(hospital):
    engine, _summary, _rows = hospital
    assert double_booked_slots(engine) == []
    # The loader builds some indexes after the rows; they must all be back.
    indexes = {i["name"] for i in inspect(engine).get_indexes("appointment")}
    assert {"uq_appointment_clinician_slot", "ix_appointment_status_start",
            "ix_appointment_clinic_start"} <= indexes


def test_appointments_sit_in_weekday_clinic_hours_and_read_back_like_orm_rows(hospital):
    engine, _summary, rows = hospital
    bind = UTCDateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)
    raw = {row[0]: row[4] for row in rows["appointment"][:500]}  # id → stored starts_at
    with Session(engine) as session:
        appointments = session.exec(select(Appointment).where(
            Appointment.id <= max(raw))).all()
    for appointment in appointments:
        local = appointment.starts_at + timedelta(hours=7)
        assert local.weekday() < 5 and 8 <= local.hour < 16 and local.minute % 15 == 0
        assert bind(appointment.starts_at) == raw[appointment.id]  # the ORM's own text
        if appointment.status == AppointmentStatus.fulfilled:
            assert appointment.checked_in_at < appointment.starts_at
        assert appointment.created_at < REFERENCE


def test_every_follow_up_rule_finds_work_on_the_reference_day(hospital):
    engine, _summary, _rows = hospital
    with Session(engine) as session:
        results = run_rules(session, now=REFERENCE)
        session.commit()
        open_items = {rule: session.exec(select(WorklistItem.id).where(
            WorklistItem.rule == rule, WorklistItem.status == ItemStatus.open)).all()
            for rule in RULES}
    for rule in RULES:
        assert results[rule.value].created >= 1, rule
        assert open_items[rule], rule
    # That the no-show rule marks the last days' unattended slots: tests/test_demo_today.py.


def test_it_reuses_clinics_and_only_gives_care_to_patients_without_any(tmp_path):
    engine = fresh_sqlite(tmp_path)
    demo_hospital(engine, 120)
    before = table_rows(engine, "appointment")
    again = generate_care(engine, seed=1, reference=REFERENCE)
    assert (again.clinics, again.clinicians, again.appointments, again.encounters) == (
        0, 0, 0, 0)
    generate_demo(engine, patients=80, seed=2)
    seen: list[int] = []
    later = generate_care(engine, seed=3, reference=REFERENCE + timedelta(days=1),
                          progress=seen.append)
    assert seen[-1] >= 80 and (later.clinics, later.clinicians) == (0, 0)  # + the dead
    after = table_rows(engine, "appointment")
    assert after[:len(before)] == before
    assert {row.patient_id for row in after[len(before):]} <= set(range(121, 201))
    assert len(after) == len(before) + later.appointments
    assert len(table_rows(engine, "clinic")) == 13
    assert double_booked_slots(engine) == []


def test_it_refuses_a_naive_reference(tmp_path):
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_care(fresh_sqlite(tmp_path), reference=datetime(2026, 11, 2))


def test_progress_is_reported_per_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(care, "PATIENT_CHUNK", 40)
    engine = fresh_sqlite(tmp_path)
    generate_demo(engine, patients=100, seed=1)
    seen: list[int] = []
    generate_care(engine, reference=REFERENCE, progress=seen.append)
    assert seen == [40, 80, 100]



@pytest.mark.skipif(not POSTGRES_URL, reason="PRM_TEST_POSTGRES_URL is not set")
def test_on_postgresql_it_loads_the_same_care_and_leaves_sequences_ahead(
        scratch_postgres_url, tmp_path):
    upgrade(scratch_postgres_url)
    engine = make_engine(scratch_postgres_url)
    try:
        summary = demo_hospital(engine, 300)
        assert summary.appointments > 0 and double_booked_slots(engine) == []
        same_on_sqlite = fresh_sqlite(tmp_path)
        demo_hospital(same_on_sqlite, 300)
        with engine.connect() as pg, same_on_sqlite.connect() as lite:
            query = select(Appointment.id, Appointment.starts_at, Appointment.status,
                           Appointment.clinician_id).order_by(Appointment.id)
            assert pg.execute(query).all() == lite.execute(query).all()
        with Session(engine) as session:
            encounter = Encounter(patient_id=1, encounter_class="outpatient",
                                  started_at=REFERENCE)
            session.add(encounter)
            session.flush()  # a stale id sequence would collide here
            assert encounter.id == summary.encounters + 1
            assert run_rules(session, now=REFERENCE)
            session.rollback()
    finally:
        engine.dispose()
