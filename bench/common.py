"""Shared set-up for the benchmarks: a demo database of the wanted size, a real server
process, a logged-in client. Run by hand (not in CI); each script prints its figures.

Databases are kept between runs under bench/out/ (SQLite; ``PRM_BENCH_OUT`` names another
directory, so several checkouts can share one generated file) or as ``prm_bench_<n>``
(PostgreSQL) so the 200,000-patient set is generated once.
"""

from __future__ import annotations

import os
import platform
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, func, select

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("PRM_BENCH_OUT") or ROOT / "bench" / "out")
PASSWORD = "bench-password-123"
POSTGRES_SERVER = os.environ.get("PRM_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1/")
# A fixed "now" for the demo's care records, so every run measures the same data.
REFERENCE = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def database_url(backend: str, patients: int) -> str:
    if backend == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{OUT / f'bench_{patients}.db'}"
    return str(make_url(POSTGRES_SERVER).set(database=f"prm_bench_{patients}"))


def prepare(backend: str, patients: int, *, care: bool = True) -> str:
    """Migrated database with ``patients`` demo patients (and care records); reused."""
    from prm.db import make_engine
    from prm.migrate import upgrade
    from prm.models.patient import Patient

    url = database_url(backend, patients)
    if backend == "postgresql":
        _create_postgres_database(url)
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        have = session.exec(select(func.count()).select_from(Patient)).one()
    if have < patients:
        _generate(engine, patients, care)
    _ensure_bench_user(engine)
    engine.dispose()
    return url


def warm_file_cache(url: str) -> None:
    """Read the whole database once, so the operating system holds it in memory, as it
    does on a server that has been up for a while: a freshly booted machine otherwise
    measures its disk on each first read of a patient, differently on every run."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for path in Path(parsed.database).parent.glob(Path(parsed.database).name + "*"):
            with path.open("rb") as file:
                while file.read(1 << 24):
                    pass
        return
    engine = create_engine(parsed.set(drivername="postgresql+psycopg"))
    with engine.begin() as connection:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
        connection.execute(text(
            "SELECT pg_prewarm(c.oid, 'read') FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')"))
    engine.dispose()


def _generate(engine, patients: int, care: bool) -> None:
    from prm.demo.generate import generate_demo

    started = time.perf_counter()
    print(f"  generating {patients:,} demo patients …", flush=True)
    generate_demo(engine, patients=patients, seed=1)
    if care:
        from prm.demo.care import generate_care

        generate_care(engine, seed=1, reference=REFERENCE)
    print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)


def _create_postgres_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(drivername="postgresql+psycopg", database="postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                    {"n": parsed.database}).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def _ensure_bench_user(engine) -> None:
    from prm.auth.service import create_user
    from prm.models.staff import Role, User

    with Session(engine) as session:
        if not session.exec(select(User).where(User.username == "bench")).first():
            create_user(session, username="bench", role=Role.nurse, password=PASSWORD)
            session.commit()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def server(url: str, *, workers: int = 2, layout: str = "uvicorn", log: Path | None = None):
    """A real server on a free port; yields its base URL. ``layout``:

    - ``uvicorn``: ``uvicorn --factory prm.app:app_factory --workers N`` with production
      settings and no worker at all (the web stack alone);
    - ``production``: the same plus one ``prm worker`` process beside it, as the README's
      "Production" section runs it;
    - ``serve``: ``prm serve`` as ``make run`` starts it: one process, development
      settings, the worker embedded (``workers`` is ignored).

    The processes' stderr (JSON log lines) goes to ``log``, else nowhere.
    """
    port = free_port()
    sink = log.open("ab") if log else subprocess.DEVNULL
    env = _server_env(url, layout)  # once: web and worker processes share one secret key
    # Each in its own process group, so uvicorn's worker processes are stopped with it.
    processes = [subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True,
                                  stdout=subprocess.DEVNULL, stderr=sink)
                 for command in _server_commands(layout, port, workers)]
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base)
        yield base
    finally:
        for process in processes:
            _signal_group(process, signal.SIGTERM)
        for process in processes:
            _reap(process)
        if log:
            sink.close()


def prm_command() -> str:
    """The ``prm`` console script of the interpreter running the bench (its venv)."""
    beside = Path(sys.executable).with_name("prm")
    return str(beside) if beside.exists() else "prm"


def _server_commands(layout: str, port: int, workers: int) -> list[list[str]]:
    if layout == "serve":
        return [[prm_command(), "serve", "--port", str(port)]]
    web = [sys.executable, "-m", "uvicorn", "--factory", "prm.app:app_factory",
           "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
           "--log-level", "warning", "--no-access-log"]
    return [web, [prm_command(), "worker"]] if layout == "production" else [web]


def _server_env(url: str, layout: str) -> dict[str, str]:
    if layout == "serve":
        # What `make run` gets: development defaults, whatever the caller's shell has set.
        return {**os.environ, "PRM_DATABASE_URL": url, "PRM_ENVIRONMENT": "development",
                "PRM_EMBEDDED_WORKER": "true"}
    # Production settings (templates are not re-checked on disk), with a throwaway key.
    return {**os.environ, "PRM_DATABASE_URL": url, "PRM_EMBEDDED_WORKER": "false",
            "PRM_ENVIRONMENT": "production", "PRM_SECRET_KEY": secrets.token_urlsafe(32)}


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def _reap(process: subprocess.Popen) -> None:
    """Waits for a clean stop; a server still busy with a backlog of abandoned requests
    (an overloaded open loop) is killed, its worker processes too, not left running."""
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)
    _signal_group(process, signal.SIGKILL)
    process.wait()


def _wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("server did not start")


def login(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    page = client.get("/login")
    _send_secure_cookies_over_http(client)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"username": "bench", "password": PASSWORD,
                                           "csrf_token": token})
    if response.status_code != 303:
        raise RuntimeError(f"login failed: {response.status_code}")
    _send_secure_cookies_over_http(client)
    return client


def _send_secure_cookies_over_http(client: httpx.Client) -> None:
    """The production layout marks every cookie Secure (HTTPS ends at the proxy in a
    hospital); the bench talks to the server directly over HTTP on this machine."""
    for cookie in client.cookies.jar:
        cookie.secure = False


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary_ms(values: list[float]) -> str:
    p50, p95 = percentile(values, .5) * 1000, percentile(values, .95) * 1000
    return (f"p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   "
            f"mean {statistics.fmean(values) * 1000:6.1f} ms   n={len(values)}")


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
