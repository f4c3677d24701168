"""Loading the deterministic Thai demo hospital into a database (``prm demo``).

The same (patients, seed) on an empty migrated database gives identical rows (see
``prm.demo.people``). Rows go in through Core bulk inserts with ids we assign, because
one ORM object per row would make 200,000 patients take minutes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, Insert, Table, func, select, text

from prm.demo.draw import sqlite_page_cache
from prm.demo.people import (
    SEGMENT_CODES,
    DemoRun,
    Row,
    draw_patient,
    hn_prefix,
    registration_times,
)
from prm.models.patient import Coverage, Patient
from prm.models.segment import Segment
from prm.models.timeline import TimelineEntry

__all__ = ["CHUNK_SIZE", "DemoSummary", "generate_demo"]

CHUNK_SIZE = 5000

PATIENT: Table = Patient.__table__  # type: ignore[assignment]
COVERAGE: Table = Coverage.__table__  # type: ignore[assignment]
TIMELINE: Table = TimelineEntry.__table__  # type: ignore[assignment]
SEGMENT: Table = Segment.__table__  # type: ignore[assignment]


@dataclass
class DemoSummary:
    patients: int
    coverages: int
    seconds: float


@dataclass
class _Chunk:
    patients: list[Row] = field(default_factory=list)
    coverages: list[Row] = field(default_factory=list)
    timeline: list[Row] = field(default_factory=list)


def generate_demo(
    engine: Engine, *, patients: int, seed: int = 1,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Add ``patients`` demo patients, with coverage and a "registered" timeline entry.

    Works on a database that already has patients (ids, HNs and national IDs continue
    after theirs), but only an empty one reproduces rows exactly. Each chunk of
    ``CHUNK_SIZE`` patients is one transaction; ``progress`` gets the running total.
    Raises ValueError when ``patients`` < 1 or the segment table lacks a code used here.
    """
    if patients < 1:
        raise ValueError(f"The demo needs at least 1 patient (got {patients}).")
    started = time.perf_counter()
    rng = random.Random(seed)
    times = registration_times(rng, patients)
    with engine.connect() as conn:
        with conn.begin():
            run = _load_run(conn, rng, times)
        with sqlite_page_cache(conn, mebibytes=128):
            coverages = _write_all(conn, run, times, progress or (lambda _done: None))
        if conn.dialect.name == "postgresql":
            with conn.begin():
                _reset_sequences(conn)
            _vacuum_analyze(conn)
    return DemoSummary(patients, coverages, round(time.perf_counter() - started, 3))


def _load_run(conn: Connection, rng: random.Random, times: list[datetime]) -> DemoRun:
    """Segment ranks, and the ids, HNs and identifiers the tables already hold."""
    ranks = {code: rank for code, rank in conn.execute(
        select(SEGMENT.c.code, SEGMENT.c.rank).where(SEGMENT.c.active.is_(True)))}
    missing = [code for code in SEGMENT_CODES if code not in ranks]
    if missing:
        raise ValueError(f"The segment table lacks active segments {', '.join(missing)}; "
                         "run `prm migrate` on this database first.")
    last_id = {t.name: conn.scalar(select(func.max(t.c.id))) or 0
               for t in (PATIENT, COVERAGE, TIMELINE)}
    last_hn: dict[str, int] = {}
    for prefix in sorted({hn_prefix(t) for t in times}):
        highest = conn.scalar(select(func.max(PATIENT.c.hn))
                              .where(PATIENT.c.hn.like(f"{prefix}______")))
        last_hn[prefix] = int(highest[2:]) if highest and highest.isdigit() else 0
    return DemoRun(rng, ranks, last_id, last_hn, _existing(conn, "national_id"),
                   _existing(conn, "phone_e164", "phone_alt_e164"), _existing(conn, "passport_no"))


def _existing(conn: Connection, *columns: str) -> set[str]:
    """Values already taken, so the demo's identifiers stay unique on a used database."""
    taken: set[str] = set()
    for name in columns:
        column = PATIENT.c[name]
        taken.update(conn.scalars(select(column).where(column.is_not(None))))
    return taken


def _write_all(conn: Connection, run: DemoRun, times: list[datetime],
               progress: Callable[[int], None]) -> int:
    """Insert chunk n on a writer thread while chunk n+1 is drawn; returns coverages.

    SQLite and psycopg release the GIL while they work, so on two cores drawing and
    writing overlap. Drawing stays on this thread, in order: determinism is untouched.
    """
    coverages = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prm-demo") as writer:
        pending: Future[int] | None = None
        for start in range(0, len(times), CHUNK_SIZE):
            chunk = _draw_chunk(run, times[start:start + CHUNK_SIZE])
            if pending is not None:
                coverages += pending.result()
                progress(start)
            pending = writer.submit(_write_chunk, conn, chunk)
        assert pending is not None  # times is never empty
        coverages += pending.result()
    progress(len(times))
    return coverages


def _draw_chunk(run: DemoRun, times: list[datetime]) -> _Chunk:
    chunk = _Chunk()
    for created in times:
        patient, coverages, registered = draw_patient(run, created)
        chunk.patients.append(patient)
        chunk.coverages.extend(coverages)
        chunk.timeline.append(registered)
    return chunk


def _write_chunk(conn: Connection, chunk: _Chunk) -> int:
    with conn.begin():
        conn.execute(_patient_insert(conn), chunk.patients)
        if chunk.coverages:
            conn.execute(COVERAGE.insert(), chunk.coverages)
        conn.execute(TIMELINE.insert(), chunk.timeline)
    return len(chunk.coverages)


def _patient_insert(conn: Connection) -> Insert:
    if conn.dialect.name == "sqlite":
        # RETURNING makes SQLAlchemy batch rows into multi-row INSERTs ("insertmanyvalues").
        # SQLite needs that: its FTS5 trigger flushes the name index after every
        # statement, so one statement per row is several times slower.
        return PATIENT.insert().returning(PATIENT.c.id)
    # psycopg pipelines a plain executemany, which is faster than multi-row statements.
    return PATIENT.insert()


def _reset_sequences(conn: Connection) -> None:
    # Explicit ids leave PostgreSQL's sequences behind; the next ORM insert would collide.
    for table in (PATIENT, COVERAGE, TIMELINE):
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"COALESCE(MAX(id), 0) + 1, false) FROM {table.name}"
        ))


def _vacuum_analyze(conn: Connection) -> None:
    # Now rather than whenever autovacuum gets round to it (if it runs at all): search and
    # the patient page need the planner's statistics, and without a vacuum the first read
    # of every freshly loaded page writes it back to set its rows' hint bits.
    names = ", ".join(table.name for table in (PATIENT, COVERAGE, TIMELINE))
    conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
        f"VACUUM (ANALYZE) {names}")
