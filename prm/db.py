"""Engine, metadata conventions and the request session.

SQLite is the embedded default (WAL, foreign keys on); PostgreSQL is production.
Routes commit explicitly; the dependency only closes the session.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import psycopg
from fastapi import Depends, Request
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, create_engine
from starlette.concurrency import run_in_threadpool

# Stable constraint names, so Alembic autogenerate and PostgreSQL agree.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata
# How long a SQLite write waits for another writer's lock before it fails: in a worker
# thread, and on the event loop (run_nearby). Another web process's write holds the lock
# for a fraction of a millisecond; longer waits on the loop would hold up every request
# this process serves, so such work goes to a worker thread instead.
SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_LOOP_BUSY_TIMEOUT_MS = 5
T = TypeVar("T")


def _on_sqlite_connect(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _on_sqlite_checkin(dbapi_connection, record) -> None:
    # A connection lent to work on the event loop (run_nearby) goes back to the pool
    # waiting for locks as long as before; here, before any other thread can take it.
    if record.info.pop("brief_lock_wait", False) and dbapi_connection is not None:
        dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def make_engine(database_url: str) -> Engine:
    """Create the engine for ``database_url``; makes the SQLite file's folder if needed."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        pool: dict = {"pool_size": 8}
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            # No limit on connections beyond the 8 kept: work on the event loop (the
            # session lookup, run_nearby) must never wait for a connection, which only
            # the loop itself may be about to give back. A connection is an open file.
            pool["max_overflow"] = -1
        engine = create_engine(url, **pool, connect_args={
            "check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "checkin", _on_sqlite_checkin)
        return engine
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def is_postgres(session_or_engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else (
        session_or_engine
    )
    return bind.dialect.name == "postgresql"


def runs_in_process(session: Session) -> bool:
    """SQLite: the database is a file this process reads itself, with no round trip."""
    return session.get_bind().dialect.name == "sqlite"


async def run_nearby(session: Session, work: Callable[..., T], *args, **kwargs) -> T:
    """``work(*args, **kwargs)``, database work on ``session`` that commits once, at its
    end, run where it costs least.

    SQLite: on the event loop. The file is read in this process, and in WAL mode a read
    never waits for a lock; a worker thread would cost its hop and a hand-over of the
    GIL at every statement (≈0.4 ms of CPU per patient page under load, measured with
    bench/pages.py). A write must not hold up the loop for long while another writer
    holds the lock: on the loop it waits at most SQLITE_LOOP_BUSY_TIMEOUT_MS; if the lock
    is still taken, the work is rolled back and run again from the start in a worker
    thread, where waiting is harmless.
    PostgreSQL: every statement is a network round trip, so in a worker thread.
    """
    if runs_in_process(session):
        try:
            _wait_briefly_for_locks(session)
            return work(*args, **kwargs)
        except OperationalError as error:
            if not _lock_was_taken(error):
                raise
            session.rollback()
    return await run_in_threadpool(work, *args, **kwargs)


def _wait_briefly_for_locks(session: Session) -> None:
    """Until the session's connection goes back to the pool (_on_sqlite_checkin)."""
    pooled = session.connection().connection
    pooled.info["brief_lock_wait"] = True  # the pool entry's info, which checkin sees
    pooled.driver_connection.execute(f"PRAGMA busy_timeout={SQLITE_LOOP_BUSY_TIMEOUT_MS}")


def _lock_was_taken(error: OperationalError) -> bool:
    return (isinstance(error.orig, sqlite3.OperationalError)
            and error.orig.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED))


class LoopConnections:
    """PostgreSQL: psycopg's async connections, awaited on the event loop, for what every
    request or the busiest page runs (the session lookup, the patient page) with the
    statements of prm.prepared. No worker thread: its hops and the GIL's hand-overs cost
    more than the statements. Measured with bench/pages.py: the page's share of the
    /healthz ceiling went from 0.25–0.28 to 0.33–0.38; SQLAlchemy's own async engine,
    tried first, gained nothing (its pool and greenlets cost what the hops did).

    A plain pool: at most ``size`` connections, opened when first needed, kept while
    they work; a broken one is dropped and its work tried once more on a new one. Per
    event loop, as asyncio connections belong to their loop: a web process has one, a
    test client may start one per request.
    """

    def __init__(self, engine: Engine, size: int = 10) -> None:
        self.dialect = engine.dialect
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False)
        self._size = size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: list = []
        self._slots = asyncio.Semaphore(size)

    async def run(self, work: Callable[..., Awaitable[T]], *args, transaction: bool = False,
                  **kwargs) -> T:
        """``await work(connection, *args, **kwargs)``; in a transaction committed at its
        end (``transaction``) or, for single statements, without one."""
        for attempt in (1, 2):
            async with self._connection() as connection:
                try:
                    if not transaction:
                        return await work(connection, *args, **kwargs)
                    async with connection.transaction():
                        return await work(connection, *args, **kwargs)
                except Exception:
                    # A connection the server dropped (a restart): once more on a new
                    # one. The work committed nothing, unless the line broke after its
                    # COMMIT went out; then an audit row may be written twice.
                    if not connection.broken or attempt == 2:
                        raise
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator:
        self._follow_the_loop()
        async with self._slots:
            connection = self._idle.pop() if self._idle else await self._connect()
            try:
                yield connection
            finally:
                if _reusable(connection):
                    self._idle.append(connection)
                else:  # broken, or left mid-statement or mid-transaction (a cancelled task)
                    connection.pgconn.finish()

    async def _connect(self) -> psycopg.AsyncConnection:
        # Autocommit: a single read needs no transaction, and ending one with a
        # rollback would make psycopg forget the connection's prepared statements.
        return await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)

    def _follow_the_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        for connection in self._idle:  # opened on a loop that is gone
            connection.pgconn.finish()
        self._loop, self._idle, self._slots = loop, [], asyncio.Semaphore(self._size)

    async def close(self) -> None:
        if self._loop is asyncio.get_running_loop():
            for connection in self._idle:
                await connection.close()
        self._idle = []


def _reusable(connection: psycopg.AsyncConnection) -> bool:
    return (not connection.closed
            and connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session. async so FastAPI does not spend two worker-thread hops on
    it: opening a Session does no I/O, and closing one that holds no transaction does none
    either; only a close that must roll back goes to a worker thread."""
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]
