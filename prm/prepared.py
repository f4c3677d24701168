"""The few statements every page runs, compiled once and handed straight to the driver.

SQLAlchemy spends about 0.1 ms of Python on each execution (execution context, result
metadata, row objects), whatever the statement: more than SQLite needs to read a row
by its key, and the patient page runs a dozen statements on every view. For those hot,
fixed statements this module keeps what SQLAlchemy compiled (the SQL text, the order of
its parameters, the conversions of values in and out) and gives the driver only values.
Everything else in PRM goes through the ORM as usual; add a statement here only when a
benchmark shows it is worth it. tests/test_prepared.py checks every statement that uses
this against SQLAlchemy's own execution, on both databases.

On PostgreSQL the reads of a page go as one statement: each read a subquery whose rows
come back as one JSON array, decoded here to what psycopg itself would have returned.
psycopg spends Python on every statement, even pipelined: on one connection the patient
page's ten reads took ≈0.7 ms of the web process's CPU in a pipeline and ≈0.25 ms as one
statement, with the server's work about the same (measured). The server plans the
statement once per connection: psycopg prepares a statement it sees repeatedly, and the
plan is generic. (psycopg forgets a connection's prepared statements when a transaction
on it is rolled back, as a read-only request's is when its session closes; that
connection then plans them again for a few uses.) Reads with a column JSON cannot carry
exactly (NUMERIC, intervals, bytes…) go in one pipeline instead.
"""

from __future__ import annotations

import json
import re
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

from sqlalchemy import Executable, types
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    order: tuple[str, ...]  # placeholder order (positional drivers such as sqlite3)
    fixed: dict[str, Any]  # values the statement carries itself, by placeholder name
    given: tuple[tuple[str, str], ...]  # (placeholder, caller's key) for values passed in
    bind: tuple[tuple[str, Convert], ...]  # conversions of values going in, by placeholder
    row: type | None  # a named tuple of the selected columns; None: returns no rows
    convert: tuple[tuple[int, Convert], ...]  # conversions of values coming out, by column
    # PostgreSQL: JSON values back to what psycopg returns, by column (None: some column
    # cannot come through JSON exactly).
    from_json: tuple[tuple[int, Convert], ...] | None = None

    def values(self, params: Mapping[str, Any]) -> dict[str, Any] | list[Any]:
        found = dict(self.fixed)
        for placeholder, key in self.given:
            found[placeholder] = params[key]
        for placeholder, convert in self.bind:
            found[placeholder] = convert(found[placeholder])
        if self.order:
            return [found[name] for name in self.order]
        return found

    def rows(self, raw: list[tuple]) -> list:
        if not self.convert:
            return [self.row._make(values) for values in raw]
        made = []
        for values in raw:
            values = list(values)
            for index, convert in self.convert:
                values[index] = convert(values[index])
            made.append(self.row._make(values))
        return made


@lru_cache(maxsize=256)
def _compile(statement: Executable, dialect: Dialect,
             column_keys: tuple[str, ...] = ()) -> _Compiled | None:
    """None when the statement needs SQLAlchemy at every run: a list the caller passes
    for ``IN``, or a column default computed in Python (``column_keys``: the columns an
    INSERT or UPDATE is given values for; defaults fill the others)."""
    compiled = statement.compile(dialect=dialect, column_keys=list(column_keys) or None)
    if compiled.insert_prefetch or compiled.update_prefetch:
        return None
    sql = compiled.string
    names = compiled.bind_names  # BindParameter → its placeholder name
    for bind in compiled.post_compile_params:
        if bind.required or bind.callable is not None or not bind.value:
            return None
        # A constant list (statuses, kinds): written into the SQL once, as SQLAlchemy
        # would at every run.
        literal = bind.type.dialect_impl(dialect).literal_processor(dialect)
        sql = sql.replace(f"__[POSTCOMPILE_{names[bind]}]",
                          ", ".join(literal(value) for value in bind.value))
    inlined = {names[bind] for bind in compiled.post_compile_params}
    binds = {name: bind for bind, name in names.items() if name not in inlined}
    if any(bind.callable is not None for bind in binds.values()):
        return None
    converts = ((name, bind.type.dialect_impl(dialect).bind_processor(dialect))
                for name, bind in binds.items())
    columns = list(getattr(statement, "selected_columns", []))
    outgoing = ((index, column.type.dialect_impl(dialect).result_processor(dialect, None))
                for index, column in enumerate(columns))
    # A name the driver's placeholder style cannot hold ("a.b") is written escaped.
    written = compiled.escaped_bind_names or {}
    return _Compiled(
        sql=sql,
        order=tuple(written.get(name, name)
                    for name in compiled.positiontup or () if name not in inlined),
        fixed={written.get(name, name): bind.value
               for name, bind in binds.items() if not bind.required},
        given=tuple((written.get(name, name), bind.key)
                    for name, bind in binds.items() if bind.required),
        bind=tuple((written.get(name, name), convert)
                   for name, convert in converts if convert is not None),
        row=namedtuple("Row", [c.key for c in columns], rename=True) if columns else None,
        convert=tuple((index, convert) for index, convert in outgoing if convert is not None),
        from_json=_from_json(columns, dialect),
    )


def read_together(session: Session, queries: dict[str, Executable],
                  params: Mapping[str, Any]) -> dict[str, list]:
    """Run independent SELECTs and return each one's rows, in its own order, by name.

    Rows are named tuples (``row.id``). ``params`` holds every query's bound values.
    """
    connection = session.connection()
    dialect = connection.dialect
    found: dict[str, list] = {}
    ready = []
    for name, query in queries.items():
        compiled = _compile(query, dialect)
        if compiled is None:
            found[name] = list(connection.execute(query, dict(params)))
        else:
            ready.append((name, compiled))
    driver = connection.connection.driver_connection
    with _as_sqlalchemy_errors(connection, "\n".join(c.sql for _, c in ready)):
        if dialect.name != "postgresql":
            raw = [_one(driver, c.sql, c.values(params)) for _, c in ready]
        elif len(ready) > 1 and all(c.from_json is not None for _, c in ready):
            raw = _as_one_statement(driver, [c for _, c in ready], params)
        else:
            raw = _pipelined(driver, [(c.sql, c.values(params)) for _, c in ready])
    for (name, compiled), rows in zip(ready, raw, strict=True):
        found[name] = compiled.rows(rows)
    return {name: found[name] for name in queries}


async def read_together_async(driver, dialect: Dialect, queries: dict[str, Executable],
                              params: Mapping[str, Any]) -> dict[str, list]:
    """``read_together`` on a psycopg async connection (``driver``), awaited on the event
    loop; ``dialect`` compiles. Only for statements that need no SQLAlchemy at run time."""
    ready = [(name, _compiled_or_fail(query, dialect)) for name, query in queries.items()]
    reads = [compiled for _, compiled in ready]
    with _as_sqlalchemy_errors_of(dialect, "\n".join(c.sql for c in reads)):
        if len(reads) > 1 and all(c.from_json is not None for c in reads):
            raw = _split(reads, (await _one_async(driver, *_one_statement(reads, params)))[0])
        else:
            raw = [await _one_async(driver, c.sql, c.values(params)) for c in reads]
    return {name: compiled.rows(rows)
            for (name, compiled), rows in zip(ready, raw, strict=True)}


async def execute_async(driver, dialect: Dialect, statement: Executable,
                        params: Mapping[str, Any]) -> None:
    """``execute`` on a psycopg async connection, in its transaction."""
    compiled = _compiled_or_fail(statement, dialect, tuple(params))
    with _as_sqlalchemy_errors_of(dialect, compiled.sql):
        async with driver.cursor() as cursor:
            await cursor.execute(compiled.sql, compiled.values(params))


def _compiled_or_fail(statement: Executable, dialect: Dialect,
                      column_keys: tuple[str, ...] = ()) -> _Compiled:
    compiled = _compile(statement, dialect, column_keys)
    if compiled is None:
        raise TypeError("This statement needs SQLAlchemy at every run; use read_together "
                        "or execute with a Session.")
    return compiled


def rows(session: Session, query: Executable, params: Mapping[str, Any]) -> list:
    """One SELECT's rows as named tuples."""
    return read_together(session, {"rows": query}, params)["rows"]


def execute(session: Session, statement: Executable, params: Mapping[str, Any]) -> None:
    """An INSERT, UPDATE or DELETE in the session's transaction (the caller commits)."""
    connection = session.connection()
    compiled = _compile(statement, connection.dialect, tuple(params))
    if compiled is None:
        connection.execute(statement, dict(params))
        return
    cursor = connection.connection.driver_connection.cursor()
    try:
        with _as_sqlalchemy_errors(connection, compiled.sql):
            cursor.execute(compiled.sql, compiled.values(params))
    finally:
        cursor.close()


@contextmanager
def _as_sqlalchemy_errors(connection: Connection, sql: str) -> Iterator[None]:
    """Driver errors raised as SQLAlchemy's (IntegrityError, OperationalError…), as the
    rest of PRM expects; a lost connection is thrown away so the pool does not hand
    it out again."""
    dialect = connection.dialect
    try:
        yield
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, None)
        if lost:
            connection.invalidate(error)
        raise DBAPIError.instance(sql, None, error, dialect.loaded_dbapi.Error,
                                  connection_invalidated=lost, dialect=dialect) from error


@contextmanager
def _as_sqlalchemy_errors_of(dialect: Dialect, sql: str) -> Iterator[None]:
    """For connections outside SQLAlchemy's pool: the caller drops a broken one."""
    try:
        yield
    except dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(sql, None, error, dialect.loaded_dbapi.Error,
                                  dialect=dialect) from error


async def _one_async(driver, sql: str, values) -> list[tuple]:
    async with driver.cursor() as cursor:
        await cursor.execute(sql, values)
        return await cursor.fetchall()


def _one(driver, sql: str, values) -> list[tuple]:
    cursor = driver.cursor()
    try:
        cursor.execute(sql, values)
        return cursor.fetchall()
    finally:
        cursor.close()


def _pipelined(driver, statements: list[tuple[str, Any]]) -> list[list[tuple]]:
    if len(statements) == 1:
        return [_one(driver, *statements[0])]
    cursors = []
    try:
        with driver.pipeline():
            for sql, values in statements:
                cursor = driver.cursor()
                cursors.append(cursor)
                cursor.execute(sql, values)
        return [cursor.fetchall() for cursor in cursors]
    finally:
        for cursor in cursors:
            cursor.close()


# ---- PostgreSQL: several reads as one statement ---------------------------------------

_PLACEHOLDER = re.compile(r"%\(([^)]+)\)s")
# json_build_array takes at most 100 arguments (PostgreSQL's limit for any function).
_MOST_JSON_COLUMNS = 100


def _as_one_statement(driver, reads: list[_Compiled],
                      params: Mapping[str, Any]) -> list[list[tuple]]:
    """The rows of each read, from one statement: a JSON array of arrays per read."""
    return _split(reads, _one(driver, *_one_statement(reads, params))[0])


def _one_statement(reads: list[_Compiled], params: Mapping[str, Any]) -> tuple[str, dict]:
    values: dict[str, Any] = {}
    for index, read in enumerate(reads):
        values.update((f"q{index}_{name}", value)
                      for name, value in read.values(params).items())  # type: ignore[union-attr]
    return _combined_sql(tuple(read.sql for read in reads),
                         tuple(len(read.row._fields) for read in reads)), values


def _split(reads: list[_Compiled], found: tuple) -> list[list[tuple]]:
    return [_decoded(text, read.from_json or ()) for text, read in zip(found, reads,
                                                                        strict=True)]


@lru_cache(maxsize=64)
def _combined_sql(statements: tuple[str, ...], widths: tuple[int, ...]) -> str:
    subqueries = []
    for index, (sql, width) in enumerate(zip(statements, widths, strict=True)):
        # Each read's placeholders get its own prefix: two reads may both call a value
        # param_1 and mean different things.
        sql = _PLACEHOLDER.sub(lambda found, i=index: f"%(q{i}_{found.group(1)})s", sql)
        # Renamed by position, so two columns of the same name stay two.
        columns = ", ".join(f"c{n}" for n in range(width))
        # The rows keep the read's own order: the aggregate takes them as the ordered
        # subquery yields them.
        subqueries.append(f"(SELECT json_agg(json_build_array({columns}))::text "
                          f"FROM ({sql}) AS q{index}({columns}))")
    return "SELECT " + ",\n".join(subqueries)


def _decoded(text: str | None, from_json: tuple[tuple[int, Convert], ...]) -> list[tuple]:
    rows = json.loads(text) if text else []  # NULL: the read found nothing
    if from_json:
        for row in rows:
            for index, convert in from_json:
                if row[index] is not None:
                    row[index] = convert(row[index])
    return rows


def _from_json(columns: list, dialect: Dialect) -> tuple[tuple[int, Convert], ...] | None:
    if dialect.name != "postgresql" or not columns or len(columns) > _MOST_JSON_COLUMNS:
        return None
    found = []
    for index, column in enumerate(columns):
        kind = column.type.dialect_impl(dialect)
        while isinstance(kind, types.TypeDecorator):  # e.g. UTCDateTime: its own type
            kind = kind.impl_instance.dialect_impl(dialect)
        if isinstance(kind, _AS_JSON_GIVES):
            continue
        convert = next((c for t, c in _FROM_JSON_TEXT if isinstance(kind, t)), None)
        if convert is None:
            return None
        found.append((index, convert))
    return tuple(found)


# What JSON gives as psycopg would: strings, integers, booleans, JSON itself. Float: a
# float written without a fraction comes back an int. Everything else (NUMERIC, which
# JSON would turn into a float, intervals, bytes, arrays…) keeps the pipeline.
_AS_JSON_GIVES = (types.String, types.Integer, types.Boolean, types.JSON)
_FROM_JSON_TEXT: tuple[tuple[type, Convert], ...] = (
    (types.DateTime, datetime.fromisoformat), (types.Date, date.fromisoformat),
    (types.Time, time.fromisoformat), (types.Float, float),
)
