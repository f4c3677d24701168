"""Engine, metadata conventions and the request session.

SQLite is the embedded default (WAL, foreign keys on); PostgreSQL is production.
Routes commit explicitly; the dependency only closes the session.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import (
    Engine,
    MetaData,
    Select,
    cast,
    event,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.engine import make_url
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


def _on_sqlite_connect(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(database_url: str) -> Engine:
    """Create the engine for ``database_url``; makes the SQLite file's folder if needed."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, pool_size=8
        )
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def is_postgres(session_or_engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else (
        session_or_engine
    )
    return bind.dialect.name == "postgresql"


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


def read_together(session: Session, queries: dict[str, Select], params: dict) -> dict[str, list]:
    """Run independent SELECTs (built once, with bound parameters) and return each one's
    rows, in its own order, by name. Rows have attribute access (``row.id``): SQLAlchemy
    rows, or named tuples of the same fields.

    On PostgreSQL they go as one UNION ALL statement: a page reads a dozen small things
    and each round trip costs more than the reading. SQLite has no round trip to save
    and runs them faster one by one. ``params`` holds every query's bound values.
    """
    connection = session.connection()
    if is_postgres(session):
        return _as_one(connection, queries, params)
    return {name: list(connection.execute(query, params)) for name, query in queries.items()}


def _as_one(connection, queries: dict[str, Select], params: dict) -> dict[str, list]:
    union, shapes = _union(tuple(queries.values()))
    names = list(queries)
    found: dict[str, list] = {name: [] for name in names}
    for row in connection.execute(union, params):
        shape = shapes[row[0]]
        found[names[row[0]]].append(shape.row(*row[shape.start:shape.stop]))
    return found


@dataclass(frozen=True)
class _Shape:
    start: int  # where a branch's own columns sit in the union's rows
    stop: int
    row: type  # a named tuple of the branch's column names


@lru_cache(maxsize=64)
def _union(queries: tuple[Select, ...]) -> tuple[Select, list[_Shape]]:
    """One statement for all ``queries``: branch i fills its own columns and NULLs of the
    right type in the others' (PostgreSQL wants each column's type to agree), and says
    which branch it is and where each row stood in its own ORDER BY."""
    numbered = [
        query.add_columns(
            # Public API has no accessor for a statement's ORDER BY; tests compare the
            # union's rows and order with the queries run one by one, on both databases.
            func.row_number().over(order_by=query._order_by_clauses or None).label("_n")
        ).subquery(f"_b{index}")
        for index, query in enumerate(queries)
    ]
    own = [list(branch.c)[:-1] for branch in numbered]
    shapes, start = [], 2
    for query, columns in zip(queries, own, strict=True):
        keys = [column.key for column in query.selected_columns]
        shapes.append(_Shape(start, start + len(columns), namedtuple("Row", keys, rename=True)))
        start += len(columns)
    slots = [(mine, column) for mine, columns in zip(numbered, own, strict=True)
             for column in columns]
    branches = [
        select(literal_column(str(index)).label("_b"), branch.c._n, *[
            (column if mine is branch else cast(null(), column.type)).label(f"_c{slot}")
            for slot, (mine, column) in enumerate(slots)
        ])
        for index, branch in enumerate(numbered)
    ]
    union = union_all(*branches).order_by(literal_column("_b"), literal_column("_n"))
    return union, shapes
