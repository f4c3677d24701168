"""Test fixtures: every DB test runs on a freshly migrated SQLite database and, when
PRM_TEST_POSTGRES_URL is set, on PostgreSQL too.

SQLite: one migrated template file per test process, copied for each test.
PostgreSQL: one migrated database per test process, emptied after each test.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from prm.app import create_app
from prm.config import Settings
from prm.db import make_engine
from prm.migrate import upgrade
from prm.timeline_registry import register_all
from tests.care_factories import reset_rule_settings
from tests.factories import sign_in

POSTGRES_URL = os.environ.get("PRM_TEST_POSTGRES_URL", "")
# Reference data the migrations seed; kept when a PostgreSQL test database is emptied.
KEEP_TABLES = {"alembic_version", "segment"}
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])

# Fake-clock FHIR client fixtures (clock, connect) for the FHIR transport tests.
pytest_plugins = ["tests.fhir_clients"]


@pytest.fixture(scope="session", autouse=True)
def timeline_registered() -> None:
    """Services write timeline entries without an app; start-up registers the kinds."""
    register_all()


def _worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """A migrated PostgreSQL database private to this test process."""
    server = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    # The pid keeps concurrent runs on one server (two checkouts, two terminals) apart.
    name = re.sub(r"\W", "_", f"{server.database or 'prm_test'}_{_worker_id()}_{os.getpid()}")
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "prm.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_database_url")
    yield url
    _empty_postgres(url)


def _empty_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        tables = [
            row[0] for row in connection.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            if row[0] not in KEEP_TABLES
        ]
        if tables:
            quoted = ", ".join(f'"{t}"' for t in tables)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    engine.dispose()
    # The migration seeds the rule settings; tests tune them, so put the defaults back.
    with Session(make_engine(url)) as session:
        reset_rule_settings(session)


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, environment="test", embedded_worker=False,
                    secret_key="test-secret-key-that-is-long-enough-1234")


@pytest.fixture
def app(settings):
    application = create_app(settings, embedded_worker=False)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def engine(app) -> Engine:
    return app.state.engine


@pytest.fixture
def session(engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as db:
        yield db


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def nurse_client(client, session) -> TestClient:
    """Signed in as a nurse through the session service (no slow password round trip;
    tests/test_auth.py covers the login form)."""
    sign_in(client, session, role="nurse")
    return client


@pytest.fixture
def scratch_postgres_url() -> Iterator[str]:
    """A PostgreSQL database of its own (for loaders that need a fresh one), dropped after."""
    server = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    name = f"prm_scratch_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
