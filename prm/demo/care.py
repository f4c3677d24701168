"""Care history for the demo patients: clinics and clinicians, two years of outpatient
appointments and visits, admissions, chronic medication orders with their pickups and
lab results, shaped so that every follow-up rule has work on the reference day.

Deterministic like ``prm.demo.generate``: one random stream drawn in patient-id order,
every date measured from ``reference`` (never from the clock), ids assigned by us.
A million appointments must load in about a minute, so rows are drawn as tuples already
in the driver's form and inserted with the driver's executemany, indexes keyed by time
are built once after the load, and a writer thread inserts while the next chunk is drawn.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, Row, Table, exists, func, select, text

from prm.demo import care_names as data
from prm.demo.care_names import DAY, FIRST_SLOT, HOUR, MARKS, MINUTE, SLOTS, Calendar
from prm.demo.draw import Weighted, sqlite_page_cache
from prm.models.care import (
    Appointment,
    AppointmentStatus,
    Clinic,
    Clinician,
    Encounter,
    LabResult,
    MedicationDispense,
    MedicationOrder,
)
from prm.models.patient import Patient

CLINIC: Table = Clinic.__table__  # type: ignore[assignment]
CLINICIAN: Table = Clinician.__table__  # type: ignore[assignment]
APPOINTMENT: Table = Appointment.__table__  # type: ignore[assignment]
ENCOUNTER: Table = Encounter.__table__  # type: ignore[assignment]
PATIENT: Table = Patient.__table__  # type: ignore[assignment]
# In insert order: encounters before the appointments that follow them up.
CARE_TABLES: list[Table] = [ENCOUNTER, APPOINTMENT, MedicationOrder.__table__,  # type: ignore
                            MedicationDispense.__table__, LabResult.__table__]
# The rows drawn below are tuples of every other column, in the models' column order
# (a column added to a model makes the insert fail loudly rather than shift values).
NOT_DRAWN = {"created_by_user_id", "acknowledged_by_user_id"}
COLUMNS = {t.name: [c.name for c in t.columns if c.name not in NOT_DRAWN]
           for t in CARE_TABLES}
# Keyed by time or status, so rows land all over them: one sorted build after the load
# is many times cheaper than a million random B-tree inserts. Patient-keyed indexes stay
# (rows arrive in patient order, and finding patients without care needs two of them).
DEFERRED_INDEXES = {"ix_appointment_clinic_start", "ix_appointment_status_start",
                    "uq_appointment_clinician_slot", "ix_encounter_class_discharged",
                    "ix_lab_result_followup", "ix_medication_order_active_due"}

# Offsets keep these streams apart from generate_demo's Random(seed) and from each other;
# clinicians have their own so that reusing existing clinics changes no patient's care.
CARE_STREAM, STAFF_STREAM = 104_729, 7_919
PATIENT_CHUNK = 1000  # about 5,000 appointments per transaction
ROWS_PER_INSERT = 5000
HISTORY_DAYS, AHEAD_DAYS = 730, 60
LEAD_DAYS = 60  # appointments are made up to this long before: the calendar reaches back

_S = AppointmentStatus
FULFILLED, NOSHOW, CANCELLED = _S.fulfilled.value, _S.noshow.value, _S.cancelled.value
ARRIVED = _S.arrived.value
PROPOSED, BOOKED, CONFIRMED = _S.proposed.value, _S.booked.value, _S.confirmed.value
SLOT_HOLDING = frozenset({PROPOSED, BOOKED, CONFIRMED, _S.arrived.value, FULFILLED})
FUTURE_ACTIVE = frozenset({PROPOSED, BOOKED, CONFIRMED})
# The desk marks yesterday's no-shows late; the no-show rule marks what it left behind.
UNMARKED_NOSHOW = timedelta(days=3)
# Patients whose slot began this recently are checked in and waiting to be seen.
IN_CLINIC = timedelta(hours=1)
OVERDUE, STOPPED, ACTIVE = data.OVERDUE, data.STOPPED, data.ACTIVE


@dataclass
class CareSummary:
    """Rows added (clinics and clinicians: only those that did not exist yet)."""

    clinics: int
    clinicians: int
    appointments: int
    encounters: int
    medication_orders: int
    dispenses: int
    lab_results: int
    seconds: float


@dataclass
class _Run:
    rng: random.Random
    cal: Calendar
    clinics: dict[str, int]
    clinicians: dict[str, list[int]]
    last_id: dict[str, int]
    used_slots: set[tuple[int, datetime]]  # (clinician, start) of slot-holding rows

    def next_id(self, table: str) -> int:
        self.last_id[table] += 1
        return self.last_id[table]


Rows = dict[str, list[tuple[Any, ...]]]


@dataclass
class _Patient:
    """One patient while their care is drawn."""

    id: int
    age: int
    sex: str
    start: int  # first day (offset from the reference) of their history
    rows: Rows
    visits: list[datetime] = field(default_factory=list)  # every encounter's start
    fulfilled: list[datetime] = field(default_factory=list)  # outpatient visits
    last_seen: datetime | None = None
    clinic: str = "MED"  # where they were last seen
    has_future: bool = False  # an active appointment ahead


def generate_care(
    engine: Engine, *, seed: int = 1, reference: datetime,
    progress: Callable[[int], None] | None = None,
) -> CareSummary:
    """Give the patients in the database who have no appointments or encounters a care
    history up to ``reference`` (aware; appointments run to 60 days after it).

    Clinics with the demo codes are reused, with their clinicians. Each chunk of
    ``PATIENT_CHUNK`` patients is one transaction; ``progress`` gets patients done so far.
    The same patients, seed and reference on a database without care give the same rows.
    Raises ValueError for a naive ``reference``.
    """
    if reference.tzinfo is None:
        raise ValueError("reference must be timezone-aware")
    started = time.perf_counter()
    with engine.connect() as conn:
        with conn.begin():
            clinics, staff, added = _ensure_clinics(conn, random.Random(seed + STAFF_STREAM))
            cal = Calendar(reference, conn.dialect.name == "sqlite",
                           HISTORY_DAYS + LEAD_DAYS, AHEAD_DAYS + 7)
            last_id = {name: conn.scalar(text(f"SELECT MAX(id) FROM {name}")) or 0
                       for name in COLUMNS}
            run = _Run(random.Random(seed + CARE_STREAM), cal, clinics, staff, last_id,
                       _used_slots(conn, cal))
        with _bulk_load(conn):
            totals = _write_all(engine, conn, run, progress or (lambda _done: None))
        if conn.dialect.name == "postgresql":
            _finish_postgresql(conn)
    return CareSummary(added[0], added[1], totals["appointment"], totals["encounter"],
                       totals["medication_order"], totals["medication_dispense"],
                       totals["lab_result"], round(time.perf_counter() - started, 3))


# ---- database ----------------------------------------------------------------------

def _ensure_clinics(conn: Connection, rng: random.Random
                    ) -> tuple[dict[str, int], dict[str, list[int]], tuple[int, int]]:
    """Clinic code → id and → active clinician ids, adding what is missing; and how many
    clinics and clinicians were added."""
    clinics = dict(conn.execute(select(CLINIC.c.code, CLINIC.c.id)).all())
    new_clinics, new_staff, staff = [], [], {}
    last_clinic = conn.scalar(select(func.max(CLINIC.c.id))) or 0
    last_staff = conn.scalar(select(func.max(CLINICIAN.c.id))) or 0
    for code, name_th, name_en, _share in data.CLINICS:
        if code not in clinics:
            clinics[code] = last_clinic = last_clinic + 1
            new_clinics.append({"id": last_clinic, "code": code, "name_th": name_th,
                                "name_en": name_en, "active": True})
        staff[code] = list(conn.scalars(
            select(CLINICIAN.c.id).where(CLINICIAN.c.clinic_id == clinics[code],
                                         CLINICIAN.c.active.is_(True))
            .order_by(CLINICIAN.c.id)))
        for _ in range(0 if staff[code] else rng.randint(*data.STAFF.get(code, (3, 5)))):
            staff[code].append(last_staff := last_staff + 1)
            new_staff.append({"id": last_staff, "clinic_id": clinics[code], "active": True,
                              **data.doctor_name(rng)})
    if new_clinics:
        conn.execute(CLINIC.insert(), new_clinics)
    if new_staff:
        conn.execute(CLINICIAN.insert(), new_staff)
    return clinics, staff, (len(new_clinics), len(new_staff))


def _used_slots(conn: Connection, cal: Calendar) -> set[tuple[int, datetime]]:
    """Clinician slots already held, so added appointments never double-book them."""
    return set(conn.execute(
        select(APPOINTMENT.c.clinician_id, APPOINTMENT.c.starts_at).where(
            APPOINTMENT.c.clinician_id.is_not(None), APPOINTMENT.c.status.in_(SLOT_HOLDING),
            APPOINTMENT.c.starts_at >= cal.times[0])).all())


def _patients_without_care(engine: Engine) -> list[int]:
    """Ids of the patients with no appointments or encounters yet, once: asking again per
    chunk would make the database re-check ever bigger tables."""
    no_care = ~exists().where(APPOINTMENT.c.patient_id == PATIENT.c.id) & ~exists().where(
        ENCOUNTER.c.patient_id == PATIENT.c.id)
    with engine.connect() as conn:
        return list(conn.scalars(select(PATIENT.c.id).where(no_care).order_by(PATIENT.c.id)))


def _read_patients(engine: Engine, ids: list[int]) -> list[Row]:
    query = (select(PATIENT.c.id, PATIENT.c.birth_date, PATIENT.c.sex, PATIENT.c.deceased,
                    PATIENT.c.deceased_at, PATIENT.c.created_at)
             .where(PATIENT.c.id.in_(ids)).order_by(PATIENT.c.id))
    with engine.connect() as conn:
        return list(conn.execute(query))


@contextmanager
def _bulk_load(conn: Connection) -> Iterator[None]:
    """Without the deferred indexes (built again afterwards, also after a failure; a run
    that died before that gets them back from the next) and, on SQLite, with a page cache
    big enough for the growing tables (the default is 2 MB)."""
    deferred = [i for t in CARE_TABLES for i in t.indexes if i.name in DEFERRED_INDEXES]
    with conn.begin():
        for index in deferred:
            index.drop(conn, checkfirst=True)
    try:
        with sqlite_page_cache(conn, mebibytes=256):
            yield
    finally:
        with conn.begin():
            for index in deferred:
                index.create(conn)


def _write_all(engine: Engine, conn: Connection, run: _Run, progress: Callable[[int], None]
               ) -> dict[str, int]:
    """Insert chunk n on a writer thread while chunk n+1 is drawn; returns rows per table.

    The drivers release the GIL while the database works, so on two cores drawing and
    writing overlap. Drawing stays on this thread, in order: determinism is untouched.
    """
    totals = dict.fromkeys(COLUMNS, 0)
    insert = _inserter(conn)
    ids, done = _patients_without_care(engine), 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prm-demo-care") as writer:
        pending: Future[None] | None = None
        for start in range(0, len(ids), PATIENT_CHUNK):
            rows: Rows = {name: [] for name in COLUMNS}
            for patient in _read_patients(engine, ids[start:start + PATIENT_CHUNK]):
                _patient_care(run, rows, patient)
            if pending is not None:
                pending.result()
                progress(done)
            pending = writer.submit(_write_chunk, conn, insert, rows, totals)
            done = min(start + PATIENT_CHUNK, len(ids))
        if pending is not None:
            pending.result()
    progress(done)
    return totals


Insert = Callable[[str, list[tuple[Any, ...]]], None]


def _inserter(conn: Connection) -> Insert:
    """COPY on PostgreSQL (several times faster than one INSERT per row), else the
    driver's executemany on a prepared INSERT."""
    if conn.dialect.name == "postgresql":
        def copy(table: str, rows: list[tuple[Any, ...]]) -> None:
            columns = ", ".join(COLUMNS[table])
            with conn.connection.cursor() as cursor, cursor.copy(  # type: ignore[attr-defined]
                    f"COPY {table} ({columns}) FROM STDIN") as stream:
                for row in rows:
                    stream.write_row(row)
        return copy
    statements = {table: f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                         f"({', '.join('?' * len(columns))})"
                  for table, columns in COLUMNS.items()}

    def insert(table: str, rows: list[tuple[Any, ...]]) -> None:
        for start in range(0, len(rows), ROWS_PER_INSERT):
            conn.exec_driver_sql(statements[table], rows[start:start + ROWS_PER_INSERT])
    return insert


def _write_chunk(conn: Connection, insert: Insert, rows: Rows, totals: dict[str, int]
                 ) -> None:
    with conn.begin():
        for table, table_rows in rows.items():
            insert(table, table_rows)
            totals[table] += len(table_rows)


def _finish_postgresql(conn: Connection) -> None:
    with conn.begin():
        # Explicit ids leave the sequences behind; the next ORM insert would collide.
        for name in ("clinic", "clinician", *COLUMNS):
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                 f"COALESCE(MAX(id), 0) + 1, false) FROM {name}")
    # Now rather than whenever autovacuum gets round to it: the rules' plans need the
    # statistics, and their index-only scans the visibility map, or they read the heap.
    conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
        f"VACUUM (ANALYZE) {', '.join(COLUMNS)}")


# ---- one patient -------------------------------------------------------------------

def _patient_care(run: _Run, rows: Rows, row: Row) -> None:
    cal, rng = run.cal, run.rng
    born = row.birth_date or cal.today
    joined = max(-HISTORY_DAYS, min(cal.day_of(row.created_at), -1))
    pt = _Patient(row.id, (cal.today - born).days // 365, row.sex, joined, rows)
    if row.deceased:
        _last_admission(run, pt, row.deceased_at)
        return
    if rng.random() < data.ADMITTED and pt.start < -70:
        _admission(run, pt)
    if rng.random() < data.EMERGENCY:
        _emergency(run, pt)
    regimen = _regimen(run, pt)
    phase = _chronic_care(run, pt, regimen) if regimen else None
    _one_off_visits(run, pt, data.CHRONIC_EXTRA_VISITS if phase else data.ONE_OFF_VISITS)
    lapses = phase in (OVERDUE, STOPPED) if phase else rng.random() < data.ONE_OFF_LAPSE
    if not lapses and not pt.has_future and _would_lapse(cal.reference, pt.visits):
        _book(run, pt, cal.weekday_between(1, AHEAD_DAYS, rng.random()), pt.clinic,
              data.RECALL_REASON, BOOKED)
    if rng.random() < data.LAB_SHARE[phase is not None]:
        _lab_results(run, pt, regimen.labs if regimen and phase else data.GENERAL_LABS)


def _would_lapse(reference: datetime, visits: list[datetime]) -> bool:
    """Whether lapsed_return would pick this history at its default settings (3 visits,
    a usual interval of 14–365 days, 50 % past it, gone less than two years)."""
    if len(visits) < 3:
        return False
    ago = sorted((reference - v).total_seconds() / 86400 for v in visits)
    interval = (ago[-1] - ago[0]) / (len(ago) - 1)
    return 14 <= interval <= 365 and interval * 1.5 < ago[0] < 730


def _regimen(run: _Run, pt: _Patient) -> data.Regimen | None:
    share = next(share for below, share in data.CHRONIC_BY_AGE if pt.age < below)
    if run.rng.random() >= share:
        return None
    return (data.CHILD_REGIMENS if pt.age < 15 else data.ADULT_REGIMENS).pick(run.rng)


def _chronic_care(run: _Run, pt: _Patient, regimen: data.Regimen) -> str | None:
    """Visits every ``supply`` days, each handing over that many days of medicines, up to
    where the patient stands today. Returns that phase; None (no regimen after all) when
    they registered too recently to have collected before."""
    rng = run.rng
    supply, phase = rng.choice(data.SUPPLY_DAYS), data.PHASES.pick(rng)
    if phase == ACTIVE:
        due = 1 + int(rng.random() * (supply - 1))
    elif phase == OVERDUE:  # 5–54 days late: inside missed_pickup's 60-day look-back
        due = -5 - int(rng.random() * 50)
    else:  # stopped coming: past 1.6 intervals, so lapsed_return notices
        due = -int(supply * 0.6 + 6 + rng.random() * 300)
    last = due - supply
    if last < pt.start:
        return None
    latest_start = max(pt.start, last - 2 * supply)
    since = latest_start - int(rng.random() * (latest_start - pt.start + 1))
    clinic = "PED" if pt.age < 15 else regimen.clinic
    handed = _chronic_visits(run, pt, clinic, since, last, supply)
    _next_chronic_visit(run, pt, clinic, phase, due)
    course = _Course(clinic, supply, phase, run.cal.today + timedelta(days=due))
    _orders(run, pt, regimen.drugs, course, handed)
    return phase


def _chronic_visits(run: _Run, pt: _Patient, clinic: str, since: int, last: int,
                    supply: int) -> list[datetime]:
    """Past visits back from ``last``; a missed one is made up a few days later.
    Returns when medicines were handed over, oldest first."""
    rng = run.rng
    handed = []
    for day in range(last, since - 1, -supply):
        reason = _any(rng, data.CHRONIC_REASONS)
        starts, status = _book(run, pt, day, clinic, reason, FULFILLED if day == last else None)
        if status != FULFILLED:
            day += 2 + int(rng.random() * 6)
            if day >= last:
                continue
            starts, _ = _book(run, pt, day, clinic, reason, FULFILLED)
        handed.append(starts)
    return sorted(handed)


def _next_chronic_visit(run: _Run, pt: _Patient, clinic: str, phase: str, due: int) -> None:
    rng = run.rng
    reason = data.CHRONIC_REASONS[0]
    if phase == ACTIVE and due <= AHEAD_DAYS:
        _book(run, pt, due, clinic, reason, CONFIRMED if rng.random() < 0.5 else BOOKED)
    elif phase == OVERDUE:
        draw = rng.random()
        if draw < 0.75:  # the pickup visit was missed or called off; or never booked
            _book(run, pt, due, clinic, reason, NOSHOW if draw < 0.6 else CANCELLED)
        if rng.random() < 0.35:  # rebooked, but the medicines are still not collected
            _book(run, pt, run.cal.weekday_between(1, 30, rng.random()), clinic, reason,
                  BOOKED)


class _Course(NamedTuple):
    clinic: str
    supply: int  # days of medicines per pickup
    phase: str
    due: date  # next pickup


def _orders(run: _Run, pt: _Patient, drugs: tuple[data.Drug, ...], course: _Course,
            handed: list[datetime]) -> None:
    """An order per drug (the first always, each further one for half the patients), the
    last 1–4 pickups of each, and now and then medicines waiting at the pharmacy."""
    rng, stamp, active = run.rng, run.cal.stamp, course.phase != STOPPED
    for n, drug in enumerate(drugs):
        if n and rng.random() < 0.5:
            continue
        order_id = run.next_id("medication_order")
        pt.rows["medication_order"].append((
            order_id, pt.id, drug.name, drug.instructions, stamp(handed[0]), course.supply,
            int(rng.random() * 7) if active else 0, run.cal.day_stamp(course.due), active,
            run.clinics[course.clinic]))
        for moment in handed[-1 - int(rng.random() * 4):]:
            _dispense(run, pt, order_id, moment + 15 * MINUTE,
                      moment + (30 + 45 * rng.random()) * MINUTE)
        if active and rng.random() < data.PREPARED_WAITING:
            _dispense(run, pt, order_id, run.cal.reference - (4 + rng.random() * 40) * DAY, None)


def _dispense(run: _Run, pt: _Patient, order_id: int, prepared: datetime,
              handed_over: datetime | None) -> None:
    stamp = run.cal.stamp
    pt.rows["medication_dispense"].append((
        run.next_id("medication_dispense"), order_id, pt.id,
        "handed_over" if handed_over else "prepared", stamp(prepared), stamp(handed_over)))


def _one_off_visits(run: _Run, pt: _Patient, counts: Weighted[int]) -> None:
    """Visits for this and that; some bring a second visit a week or two later."""
    rng = run.rng
    for _ in range(counts.pick(rng)):
        clinic = _clinic_for(run, pt)
        day = run.cal.weekday_between(pt.start, AHEAD_DAYS, rng.random())
        _, status = _book(run, pt, day, clinic, _any(rng, data.CLINIC_REASONS[clinic]))
        later = day + 7 + int(rng.random() * 15)
        if status == FULFILLED and rng.random() < 0.3 and later <= AHEAD_DAYS:
            _book(run, pt, later, clinic, _any(rng, data.COMMON_REASONS))


def _clinic_for(run: _Run, pt: _Patient) -> str:
    if pt.age < 15:
        return data.CHILD_CLINICS.pick(run.rng)
    if pt.sex == "female" and pt.age < 50 and run.rng.random() < 0.25:
        return "OBG"
    return data.ADULT_CLINICS.pick(run.rng)


def _admission(run: _Run, pt: _Patient) -> None:
    """A stay that ended in the last 60 days; most patients sent home get a follow-up."""
    rng = run.rng
    discharged = run.cal.reference - (0.5 + rng.random() * 59) * DAY
    clinic = "PED" if pt.age < 15 else data.ADMITTING.pick(rng)
    if clinic == "OBG" and (pt.sex != "female" or pt.age >= 50):
        clinic = "MED"
    home = rng.random() < 0.93
    stay = (1 + rng.random() * 9) * DAY
    encounter_id = _encounter(run, pt, "inpatient", clinic, discharged - stay, discharged,
                              "home" if home else "transfer")
    if home and rng.random() < data.DISCHARGE_FOLLOW_UP:
        day = run.cal.day_of(discharged) + 7 + int(rng.random() * 8)
        _book(run, pt, day, clinic, data.DISCHARGE_REASON, follow_up=encounter_id)


def _last_admission(run: _Run, pt: _Patient, died: datetime | None) -> None:
    """Patients who died in the last 60 days died in hospital (the rules skip them)."""
    ref = run.cal.reference
    if died is not None and ref - 60 * DAY <= died < ref:
        stay = (1 + run.rng.random() * 13) * DAY
        _encounter(run, pt, "inpatient", "MED", died - stay, died, "deceased")


def _emergency(run: _Run, pt: _Patient) -> None:
    rng = run.rng
    arrived = run.cal.midnight(pt.start + int(rng.random() * -pt.start)) + (
        rng.random() * 24 * HOUR)
    _encounter(run, pt, "emergency", None, arrived, arrived + (1 + rng.random() * 5) * HOUR,
               "home")


def _encounter(run: _Run, pt: _Patient, kind: str, clinic: str | None, started: datetime,
               discharged: datetime | None = None, disposition: str = "",
               stamped: Any = None) -> int:
    encounter_id = run.next_id("encounter")
    stamp = stamped or run.cal.stamp(started)
    pt.rows["encounter"].append((
        encounter_id, pt.id, kind, run.clinics[clinic] if clinic else None, stamp,
        run.cal.stamp(discharged), disposition, stamp))
    pt.visits.append(started)
    return encounter_id


def _book(run: _Run, pt: _Patient, day: int, clinic: str, reason: str,
          status: str | None = None, follow_up: int | None = None) -> tuple[datetime, str]:
    """An appointment in a random slot on weekday ``day`` (status drawn when None), and
    the visit when it was fulfilled. Returns its start and status."""
    rng, cal = run.rng, run.cal
    mark = cal.mark(day, FIRST_SLOT + int(rng.random() * SLOTS))
    starts, stamps = cal.times[mark], cal.stamps
    status = status or _status_for(rng, cal.reference, starts)
    made = cal.mark(min(day - 1 - int(rng.random() * 45), -1), int(rng.random() * MARKS))
    closed = starts < cal.reference and status != BOOKED
    pt.rows["appointment"].append((
        run.next_id("appointment"), pt.id, run.clinics[clinic],
        _clinician(run, clinic, starts, status), stamps[mark], 15, status, reason,
        _any(rng, data.CANCEL_REASONS) if status == CANCELLED else "",
        stamps[mark - 1 - (rng.random() < 0.5)] if status in (FULFILLED, ARRIVED) else None,
        follow_up, data.BOOKED_VIA.pick(rng), stamps[made],
        stamps[mark + 4] if closed else stamps[made]))
    if status == FULFILLED:
        _encounter(run, pt, "outpatient", clinic, starts, stamped=stamps[mark])
        if pt.last_seen is None or starts > pt.last_seen:
            pt.last_seen, pt.clinic = starts, clinic
        pt.fulfilled.append(starts)
    elif status in FUTURE_ACTIVE and starts >= cal.reference:
        pt.has_future = True
    return starts, status


def _any(rng: random.Random, items: list[str] | tuple[str, ...]) -> str:
    return items[int(rng.random() * len(items))]  # rng.choice, at half the cost


def _status_for(rng: random.Random, ref: datetime, starts: datetime) -> str:
    """Ahead: mostly booked or confirmed, a few awaiting confirmation. Past: ~85 % seen
    (the last hour's still waiting, checked in), ~9 % no-shows (the hospital's rate; the
    last few days' not yet marked: the no-show rule marks them once its grace is over),
    the rest cancelled. The reference is the hour the demo is made, so its today reads
    like a working day at that hour."""
    draw = rng.random()
    if starts >= ref:
        return (PROPOSED if draw < 0.03 else BOOKED if draw < 0.55
                else CONFIRMED if draw < 0.96 else CANCELLED)
    if draw < 0.85:
        return ARRIVED if ref - starts < IN_CLINIC else FULFILLED
    if draw < 0.94:
        return BOOKED if ref - starts < UNMARKED_NOSHOW else NOSHOW
    return CANCELLED


def _clinician(run: _Run, clinic: str, starts: datetime, status: str) -> int | None:
    """Half the appointments name a clinician; a slot-holding one only if that clinician
    is free then (three tries), else none: the unique slot index must never trip."""
    staff, rng = run.clinicians[clinic], run.rng
    if not staff or rng.random() >= data.CLINICIAN_SHARE:
        return None
    for _ in range(3):
        clinician = staff[int(rng.random() * len(staff))]
        if status not in SLOT_HOLDING:
            return clinician
        if (clinician, starts) not in run.used_slots:
            run.used_slots.add((clinician, starts))
            return clinician
    return None


def _lab_results(run: _Run, pt: _Patient, panel: tuple[str, ...]) -> None:
    stamp = run.cal.stamp
    for *result, released, acknowledged in data.draw_lab_results(
            run.rng, run.cal.reference, pt.fulfilled, panel):
        pt.rows["lab_result"].append((run.next_id("lab_result"), pt.id, *result,
                                      stamp(released), stamp(acknowledged)))
