"""run_nearby: database work on the event loop for SQLite unless it would wait for
another writer, in a worker thread for PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from prm.audit import service as audit
from prm.db import SQLITE_BUSY_TIMEOUT_MS, LoopConnections, run_nearby
from prm.models.audit import AuditAction, AuditEvent

ACTOR = audit.Actor(user_id=None, username="tester")


def _audited_view(session: Session, threads: list[int]) -> int:
    """What the patient page does: a read, an audit row, one commit."""
    threads.append(threading.get_ident())
    seen = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    audit.record(session, actor=ACTOR, action=AuditAction.view, entity_type="patient",
                 entity_id=1)
    session.commit()
    return seen


def _run(engine, work, *args) -> int:
    """Runs the work through run_nearby on an event loop of its own; returns the loop's
    thread (a thread of its own too: browser tests leave a loop running in this one)."""
    loop_thread: list[int] = []

    async def main():
        loop_thread.append(threading.get_ident())
        with Session(engine, expire_on_commit=False) as session:
            await run_nearby(session, work, session, *args)

    with ThreadPoolExecutor(1) as executor:
        executor.submit(asyncio.run, main()).result()
    return loop_thread[0]


def _audit_rows(engine) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


def _busy_timeouts(engine) -> list[int]:
    """busy_timeout of every connection the pool holds."""
    connections = [engine.connect() for _ in range(engine.pool.checkedin())]
    try:
        return [c.exec_driver_sql("PRAGMA busy_timeout").scalar() for c in connections]
    finally:
        for connection in connections:
            connection.close()


def _sqlite_only(engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite behaviour")


def test_sqlite_work_runs_on_the_event_loop_and_leaves_the_lock_wait_as_it_was(engine):
    _sqlite_only(engine)
    threads: list[int] = []
    loop_thread = _run(engine, _audited_view, threads)
    assert threads == [loop_thread]
    assert _audit_rows(engine) == 1
    assert set(_busy_timeouts(engine)) == {SQLITE_BUSY_TIMEOUT_MS}


def test_sqlite_work_moves_to_a_worker_thread_while_another_writer_holds_the_lock(engine):
    _sqlite_only(engine)
    holder = sqlite3.connect(engine.url.database, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, as a long job would hold it
    release = threading.Timer(0.3, holder.commit)
    release.start()
    threads: list[int] = []
    try:
        loop_thread = _run(engine, _audited_view, threads)
    finally:
        release.join()
        holder.close()
    # Tried on the loop, rolled back, run again in a worker thread once the lock was free.
    assert len(threads) == 2
    assert threads[0] == loop_thread != threads[1]
    assert _audit_rows(engine) == 1
    assert set(_busy_timeouts(engine)) == {SQLITE_BUSY_TIMEOUT_MS}


def test_other_database_errors_are_raised_not_retried(engine):
    calls: list[int] = []

    def broken(session: Session) -> None:
        calls.append(1)
        session.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(OperationalError if engine.dialect.name == "sqlite" else Exception):
        _run(engine, broken)
    assert calls == [1]


def test_postgresql_work_runs_in_a_worker_thread(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL behaviour")
    threads: list[int] = []
    loop_thread = _run(engine, _audited_view, threads)
    assert len(threads) == 1 and threads[0] != loop_thread
    assert _audit_rows(engine) == 1


def test_a_loop_connection_left_in_a_transaction_is_not_lent_again(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL behaviour")
    connections = LoopConnections(engine)

    async def main() -> tuple[int, int]:
        async with connections._connection() as connection:
            await connection.execute("SELECT 1")  # autocommit: idle again
        kept = len(connections._idle)
        async with connections._connection() as connection:
            await connection.execute("BEGIN")  # as a task cancelled mid-work leaves it
        left = len(connections._idle)
        await connections.close()
        return kept, left

    with ThreadPoolExecutor(1) as executor:
        assert executor.submit(asyncio.run, main()).result() == (1, 0)
