"""Alembic environment: the URL comes from the caller (prm.migrate) or PRM_DATABASE_URL."""

from __future__ import annotations

from alembic import context

import prm.models  # noqa: F401  (registers every table on the metadata)
from prm.config import get_settings
from prm.db import make_engine, metadata
from prm.migrate import include_object

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
