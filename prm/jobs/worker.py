"""The worker: runs periodic jobs until told to stop (SIGTERM/SIGINT-safe).

Jobs are plain functions ``job(session, settings) -> int`` (how much they did). Each
runs in its own transaction; a failing job is logged and retried next round, the
others go on. Later features add their jobs (reminder planner, outbox dispatcher)
to ``PERIODIC_JOBS``; the FHIR ones (sync, notifications, write-back) run when a server is
configured.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

from prm.auth.service import purge_expired_sessions
from prm.auth.throttle import purge_stale
from prm.config import Settings
from prm.fhir.notifications import purge_finished
from prm.models.types import utcnow
from prm.timeline_registry import register_all

log = logging.getLogger("prm.worker")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: float
    run: Callable[[Session, Settings], int]


def _follow_up_rules(session: Session, settings: Settings) -> int:
    """Marks overdue no-shows, opens and closes worklist items; returns items created."""
    from prm.followups.rules import run_rules

    return sum(run.created for run in run_rules(session, tz=settings.tz).values())


def _fhir_sync(session: Session, settings: Settings) -> int:
    """Pulls what changed on the hospital's FHIR server; returns records written."""
    from fhir_adapter.sync import run_sync
    from prm.ingest.progress import audit_run

    summary = run_sync(session.get_bind(), settings)
    audit_run(session, what="scheduled sync", summary=summary)
    for resource_type, error in summary["errors"].items():
        log.warning("fhir sync failed", extra={"type": resource_type, "error": error})
    return sum(counts["imported"] for counts in summary["by_type"].values())


def _fhir_write_back(session: Session, settings: Settings) -> int:
    """Follow-up items → Task resources on the hospital's server (when switched on)."""
    from fhir_adapter.writeback import push_tasks

    sent = push_tasks(session.get_bind(), settings)
    return sent["created"] + sent["updated"]


def _fhir_notifications(session: Session, settings: Settings) -> int:
    """Acts on the rest-hook notifications the web process recorded; returns how many
    went through (failed ones keep their row, error and attempt count)."""
    from fhir_adapter.subscription import process_notifications

    return process_notifications(session.get_bind(), settings)["done"]


PERIODIC_JOBS: list[PeriodicJob] = [
    PeriodicJob("purge_expired_sessions", 600,
                lambda session, settings: purge_expired_sessions(session, settings=settings)),
    PeriodicJob("forget_old_login_failures", 3600,
                lambda session, settings: purge_stale(session, settings=settings, now=utcnow())),
    PeriodicJob("follow_up_rules", 300, _follow_up_rules),
    PeriodicJob("purge_fhir_notifications", 3600,
                lambda session, settings: purge_finished(session)),
]


def default_jobs(settings: Settings) -> list[PeriodicJob]:
    jobs = list(PERIODIC_JOBS)
    if settings.fhir_base_url and settings.fhir_sync_seconds:
        jobs.append(PeriodicJob("fhir_sync", settings.fhir_sync_seconds, _fhir_sync))
    if settings.fhir_base_url:
        # Every round: a notification should not wait long, and an idle round is one query.
        jobs.append(PeriodicJob("fhir_notifications", 0, _fhir_notifications))
    if settings.fhir_base_url and settings.fhir_write_back:
        jobs.append(PeriodicJob("fhir_write_back", 60, _fhir_write_back))
    return jobs


class Worker:
    def __init__(self, engine: Engine, settings: Settings, jobs: list[PeriodicJob] | None = None):
        register_all()  # jobs write timeline entries (a worker may run without the web app)
        self.engine = engine
        self.settings = settings
        self.jobs = jobs if jobs is not None else default_jobs(settings)
        self.stopping = threading.Event()
        self._last_run: dict[str, float] = {}

    def run_due_jobs(self, now: float | None = None) -> dict[str, int]:
        """One round: every job whose interval has passed. Returns job name → work done."""
        now = time.monotonic() if now is None else now
        done = {}
        for job in self.jobs:
            last = self._last_run.get(job.name)
            if last is not None and now - last < job.every_seconds:
                continue
            done[job.name] = self._run_one(job)
            self._last_run[job.name] = now
        return done

    def _run_one(self, job: PeriodicJob) -> int:
        started = time.perf_counter()
        try:
            with Session(self.engine) as session:
                count = job.run(session, self.settings)
                session.commit()
        except Exception:
            log.exception("job failed", extra={"job": job.name})
            return 0
        log.info("job done", extra={"job": job.name, "count": count,
                                    "ms": round((time.perf_counter() - started) * 1000, 1)})
        return count

    def run_forever(self) -> None:
        log.info("worker started", extra={"jobs": [j.name for j in self.jobs]})
        while not self.stopping.is_set():
            self.run_due_jobs()
            self.stopping.wait(self.settings.worker_poll_seconds)
        log.info("worker stopped")

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())


def start_embedded(engine: Engine, settings: Settings) -> Worker:
    """A worker thread inside the web process (``make run``); stopped at shutdown."""
    worker = Worker(engine, settings)
    threading.Thread(target=worker.run_forever, name="prm-worker", daemon=True).start()
    return worker
