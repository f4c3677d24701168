"""The ``prm`` command: creating staff accounts and migrating, against the test database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import Result
from sqlalchemy import inspect
from sqlmodel import Session, select
from typer.testing import CliRunner

from prm import cli
from prm.auth.passwords import verify_password
from prm.config import get_settings
from prm.db import make_engine
from prm.models.staff import Role, User
from tests.factories import make_staff

Prm = Callable[..., Result]


def invoke(url: str, *args: str, input: str | None = None) -> Result:
    """Runs ``prm …`` with PRM_DATABASE_URL set to ``url``."""
    get_settings.cache_clear()  # settings are read once per process, then cached
    try:
        return CliRunner().invoke(cli.app, list(args), input=input,
                                  env={"PRM_DATABASE_URL": url})
    finally:
        get_settings.cache_clear()


@pytest.fixture
def prm(database_url) -> Prm:
    """``prm …`` against this test's database."""
    return lambda *args, input=None: invoke(database_url, *args, input=input)


def _user(session: Session, username: str) -> User | None:
    session.expire_all()
    return session.exec(select(User).where(User.username == username)).first()


def test_it_creates_a_user_with_the_password_from_stdin(prm, session):
    result = prm("users", "create", "Somsri", "--role", "nurse", "--full-name", "สมศรี ใจดี",
                 "--password-stdin", input="a-long-enough-password\n")

    assert result.exit_code == 0, result.output
    assert "created somsri (nurse)" in result.output
    user = _user(session, "somsri")
    assert user.role == Role.nurse
    assert user.full_name == "สมศรี ใจดี"
    assert verify_password(user.password_hash, "a-long-enough-password")
    assert "a-long-enough-password" not in result.output


def test_it_refuses_an_unknown_role(prm, session):
    result = prm("users", "create", "somsri", "--role", "doctor", "--password-stdin",
                 input="a-long-enough-password\n")

    assert result.exit_code != 0
    assert "role must be one of" in result.output
    assert "front_desk" in result.output
    assert _user(session, "somsri") is None


def test_it_refuses_a_short_password(prm, session):
    result = prm("users", "create", "somsri", "--role", "nurse", "--password-stdin",
                 input="short\n")

    assert result.exit_code == 1
    assert "password" in result.output
    assert _user(session, "somsri") is None


def test_it_refuses_a_username_that_is_taken(prm, session):
    make_staff(session, username="somsri")

    result = prm("users", "create", "somsri", "--role", "admin", "--password-stdin",
                 input="a-long-enough-password\n")

    assert result.exit_code == 1
    assert "username" in result.output
    assert _user(session, "somsri").role == Role.nurse


def test_it_sets_a_new_password(prm, session):
    make_staff(session, username="somsri")

    result = prm("users", "set-password", "somsri", "--password-stdin",
                 input="another-long-password\n")

    assert result.exit_code == 0, result.output
    assert verify_password(_user(session, "somsri").password_hash, "another-long-password")


def test_setting_the_password_of_nobody_fails(prm):
    result = prm("users", "set-password", "nobody", "--password-stdin",
                 input="another-long-password\n")

    assert result.exit_code == 1
    assert "no user nobody" in result.output


def test_migrate_succeeds_on_an_up_to_date_database(prm):
    result = prm("migrate")

    assert result.exit_code == 0, result.output
    assert "database is up to date" in result.output


def test_migrate_builds_the_schema_of_an_empty_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"

    result = invoke(url, "migrate")

    assert result.exit_code == 0, result.output
    engine = make_engine(url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"alembic_version", "patient", "staff_user", "audit_event"} <= tables


def test_it_leaves_no_cached_settings_behind(prm, database_url):
    prm("migrate")

    assert get_settings.cache_info().currsize == 0
