"""Run Alembic migrations programmatically (``prm migrate``, tests, ``make run``)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from prm.config import PROJECT_ROOT

# Objects the migrations manage by hand (search indexes per dialect) that autogenerate
# must neither drop nor report as differences.
HAND_MANAGED_TABLE_PREFIX = "patient_name_fts"


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    if type_ == "table" and name and name.startswith(HAND_MANAGED_TABLE_PREFIX):
        return False
    return not (type_ == "index" and name and name.endswith(("_trgm", "_prefix")))


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)
