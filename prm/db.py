"""Engine, metadata conventions and the request session.

SQLite is the embedded default (WAL, foreign keys on); PostgreSQL is production. Routes
are plain functions that FastAPI runs in its thread pool; each request has one Session
from SQLAlchemy's connection pool. Routes commit explicitly; the dependency only closes
the session.

Connection budget per process (both databases): at most ``POOL_SIZE + MAX_OVERFLOW``
connections. A web process runs PRM_WEB_THREADS request threads (4 by default), two
threads that record FHIR notifications (prm.fhir.views) and the embedded worker one
more: 7 of 10, so the pool is never the queue; a request that still finds
none waits at most ``POOL_TIMEOUT_SECONDS`` and fails rather than hanging.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, create_engine

# Stable constraint names, so Alembic autogenerate and PostgreSQL agree.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata

POOL_SIZE = 5
MAX_OVERFLOW = 5
POOL_TIMEOUT_SECONDS = 10
# Server-side idle limits and firewalls drop old connections; replace them first.
POOL_RECYCLE_SECONDS = 1800
CONNECT_TIMEOUT_SECONDS = 10
# How long a SQLite write waits for another writer's lock before it fails.
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _on_sqlite_connect(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def make_engine(database_url: str) -> Engine:
    """Create the engine for ``database_url``; makes the SQLite file's folder if needed."""
    url = make_url(database_url)
    pool = {"pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW,
            "pool_timeout": POOL_TIMEOUT_SECONDS}
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            pool = {}  # one connection per thread (SQLAlchemy's choice for memory)
        else:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **pool, connect_args={
            "check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, **pool, pool_pre_ping=True, pool_recycle=POOL_RECYCLE_SECONDS,
                         connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})


def is_postgres(session_or_engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else (
        session_or_engine
    )
    return bind.dialect.name == "postgresql"


def mark_committed(scope) -> None:
    """Notes on the request that something was saved: an error after this point must not
    answer "nothing was saved" (prm.web.middleware reads it)."""
    scope.setdefault("state", {})["committed"] = True


def was_committed(scope) -> bool:
    return bool(scope.get("state", {}).get("committed"))


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session. Routes commit themselves, before they answer.

    async so that closing it (a rollback of what a read-only request left open, which
    gives its connection back) never waits for one of the few request threads: a
    finished request holding its connection until a thread is free, while the threads
    wait for connections, would stall the process until the pool timeout (seen under
    load with a sync dependency). Opening a Session does no I/O.
    """
    session = Session(request.app.state.engine, expire_on_commit=False)
    event.listen(session, "after_commit", lambda _session: mark_committed(request.scope))
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]
