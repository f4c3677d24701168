"""Alembic environment: the URL comes from the caller (prm.migrate) or PRM_DATABASE_URL."""

from __future__ import annotations

from alembic import context

import prm.models  # noqa: F401  (registers every table on the metadata)
from prm.config import get_settings
from prm.db import make_engine, metadata

# Objects the migrations manage by hand and autogenerate must not try to drop.
HAND_MANAGED_TABLES = {"patient_name_fts"}


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table" and (name in HAND_MANAGED_TABLES or name.startswith("patient_name_fts")):
        return False
    if type_ == "index" and name and (name.endswith("_trgm") or name.endswith("_prefix")):
        return False
    return True


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
