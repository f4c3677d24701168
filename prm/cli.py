"""The ``prm`` command: serve, worker, migrate, demo, users, fhir."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from sqlmodel import Session, func, select

from fhir_adapter.cli import fhir_app
from prm.config import PROJECT_ROOT, get_settings
from prm.timeline_registry import register_all

app = typer.Typer(help="PRM — hospital patient-relationship management.", no_args_is_help=True)
users_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(fhir_app, name="fhir")

DEMO_STAFF = [
    ("admin", "admin", "ผู้ดูแลระบบ"),
    ("nurse", "nurse", "พยาบาล สมศรี ใจดี"),
    ("frontdesk", "front_desk", "เวชระเบียน มานี มีสุข"),
    ("quality", "quality", "ทีมคุณภาพ วิภา รักงาน"),
]


def demo_logins_file() -> Path | None:
    """Where demo passwords are kept: beside the SQLite file (dev only); None otherwise."""
    from sqlalchemy.engine import make_url

    url = make_url(get_settings().database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).resolve().parent / "demo-logins.txt"


def _engine():
    from prm.db import make_engine

    return make_engine(get_settings().database_url)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from prm.migrate import upgrade

    upgrade(get_settings().database_url)
    typer.echo("database is up to date")


@app.command()
def serve(host: str = "127.0.0.1", port: int = typer.Option(None, envvar="PORT")) -> None:
    """Serve the web app (with the worker embedded unless PRM_EMBEDDED_WORKER=false)."""
    import uvicorn

    from prm.logs import configure_logging

    port = port or 8000
    configure_logging()
    logins = demo_logins_file()
    if logins and logins.exists() and get_settings().environment == "development":
        typer.echo(f"\nDemo logins (username, password, role) — kept in {logins}:")
        typer.echo(logins.read_text())
    typer.echo(f"PRM is at http://{host}:{port}/  (Ctrl+C stops it)\n")
    uvicorn.run("prm.app:app_factory", factory=True, host=host, port=port,
                proxy_headers=True, log_config=None)


@app.command()
def worker() -> None:
    """Run the background worker until SIGTERM (several may run on PostgreSQL)."""
    from prm.jobs.worker import Worker
    from prm.logs import configure_logging

    configure_logging()
    running = Worker(_engine(), get_settings())
    running.install_signal_handlers()
    running.run_forever()


@app.command()
def demo(
    patients: int = typer.Option(2000, help="How many patients to generate."),
    seed: int = typer.Option(1, help="Same seed, same hospital."),
    if_empty: bool = typer.Option(False, help="Do nothing when patients already exist."),
) -> None:
    """Fill the database with a deterministic Thai demo hospital and demo staff logins."""
    from prm.demo.generate import generate_demo
    from prm.models.patient import Patient

    engine = _engine()
    with Session(engine) as session:
        existing = session.exec(select(func.count()).select_from(Patient)).one()
    if if_empty and existing:
        typer.echo(f"demo: {existing:,} patients already there, nothing generated")
        return
    with typer.progressbar(length=patients, label="patients", file=sys.stderr) as bar:
        summary = generate_demo(engine, patients=patients, seed=seed,
                                progress=lambda done: bar.update(done - bar.pos))
    typer.echo(f"demo: {summary.patients:,} patients, {summary.coverages:,} coverages "
               f"in {summary.seconds:.1f} s")
    _create_demo_staff(engine)  # first: the demo's calls on the worklists are theirs
    _generate_care(engine, patients, seed)


def _generate_care(engine, patients: int, seed: int) -> None:
    """Appointments, visits, medicines and lab results around now, so every worklist has
    work and today reads like a working day at this hour; then the follow-up rules run
    once and their lists get the history of lists staff work every day."""
    from datetime import UTC, datetime

    from prm.demo.care import generate_care
    from prm.demo.worklists import work_the_lists
    from prm.followups.rules import run_rules

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with typer.progressbar(length=patients, label="care records", file=sys.stderr) as bar:
        care = generate_care(engine, seed=seed, reference=now,
                             progress=lambda done: bar.update(done - bar.pos))
    typer.echo(f"demo: {care.appointments:,} appointments, {care.encounters:,} visits, "
               f"{care.lab_results:,} lab results in {care.seconds:.1f} s")
    with Session(engine) as session:
        created = sum(run.created for run in run_rules(session, now=now,
                                                         tz=get_settings().tz).values())
        session.commit()
    history = work_the_lists(engine, seed=seed, reference=now)
    typer.echo(f"demo: {created:,} follow-up items on the worklists "
               f"({history.closed:,} already worked and closed, {history.attempts:,} calls)")


def _create_demo_staff(engine) -> None:
    """One account per role with a generated password, written to var/ (mode 600)."""
    from prm.auth.passwords import generate_password
    from prm.auth.service import create_user
    from prm.models.staff import Role, User

    lines = []
    with Session(engine) as session:
        for username, role, full_name in DEMO_STAFF:
            if session.exec(select(User).where(User.username == username)).first():
                continue
            password = generate_password()
            create_user(session, username=username, role=Role(role), password=password,
                        full_name=full_name)
            lines.append(f"  {username:<10} {password}   ({role})")
        session.commit()
    if not lines:
        return
    typer.echo("Demo staff accounts (username, password, role):\n" + "\n".join(lines))
    logins = demo_logins_file()
    if logins:
        logins.parent.mkdir(parents=True, exist_ok=True)
        logins.touch(mode=0o600)
        with logins.open("a") as out:
            out.write("\n".join(lines) + "\n")


@users_app.command("create")
def users_create(
    username: str,
    role: str = typer.Option(..., help="front_desk | nurse | quality | admin"),
    full_name: str = typer.Option("", help="Shown in the top bar and on the timeline."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from standard input."),
) -> None:
    """Create a staff account."""
    from prm.auth.service import create_user
    from prm.errors import PrmError
    from prm.models.staff import Role

    if role not in Role.__members__:
        raise typer.BadParameter(f"role must be one of {', '.join(Role)}", param_hint="--role")
    password = _read_password(password_stdin)
    with Session(_engine()) as session:
        try:
            user = create_user(session, username=username, role=Role(role), password=password,
                               full_name=full_name)
        except PrmError as error:
            details = "; ".join(f"{k}: {v}" for k, v in error.field_errors.items())
            typer.echo(f"error: {error.message} {details}".strip(), err=True)
            raise typer.Exit(1) from error
        session.commit()
        typer.echo(f"created {user.username} ({user.role})")


@users_app.command("set-password")
def users_set_password(
    username: str,
    password_stdin: bool = typer.Option(False, "--password-stdin"),
) -> None:
    """Set a new password (ends the user's sessions)."""
    from prm.auth.service import set_password
    from prm.errors import PrmError
    from prm.models.staff import User

    password = _read_password(password_stdin)
    with Session(_engine()) as session:
        user = session.exec(select(User).where(User.username == username.lower())).first()
        if user is None:
            typer.echo(f"error: no user {username}", err=True)
            raise typer.Exit(1)
        try:
            set_password(session, user=user, password=password)
        except PrmError as error:
            typer.echo(f"error: {error.message}", err=True)
            raise typer.Exit(1) from error
        session.commit()
        typer.echo(f"password changed for {user.username}")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    Path(PROJECT_ROOT / "var").mkdir(exist_ok=True)
    register_all()
    app()


if __name__ == "__main__":
    main()
