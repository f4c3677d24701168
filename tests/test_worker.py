"""The worker runs periodic jobs on time, survives a failing one, and purges old sessions."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import Session, func, select

from prm.audit import service as audit
from prm.auth.service import open_session, purge_expired_sessions
from prm.config import Settings
from prm.jobs.worker import PERIODIC_JOBS, PeriodicJob, Worker
from prm.models.audit import AuditAction, AuditEvent
from prm.models.staff import UserSession
from prm.models.types import utcnow
from tests.factories import make_staff


@dataclass
class FakeJob:
    """A job that counts its runs; can write an audit row and can fail after writing it."""

    writes: bool = False
    fails: bool = False
    runs: int = 0
    ran: threading.Event = field(default_factory=threading.Event)

    def __call__(self, session: Session, settings: Settings) -> int:
        self.runs += 1
        self.ran.set()
        if self.writes:
            audit.record(session, actor=audit.SYSTEM, action=AuditAction.update,
                         entity_type="fake_job")
        if self.fails:
            raise RuntimeError("the job broke")
        return 7


def _fake_rows(session: Session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.entity_type == "fake_job")).one()


def test_it_runs_every_job_on_the_first_round(engine, settings):
    first, second = FakeJob(), FakeJob()
    worker = Worker(engine, settings, jobs=[PeriodicJob("first", 60, first),
                                            PeriodicJob("second", 600, second)])

    done = worker.run_due_jobs(now=1000.0)

    assert done == {"first": 7, "second": 7}
    assert (first.runs, second.runs) == (1, 1)


def test_it_runs_each_job_only_when_its_interval_has_passed(engine, settings):
    often, rarely = FakeJob(), FakeJob()
    worker = Worker(engine, settings, jobs=[PeriodicJob("often", 60, often),
                                            PeriodicJob("rarely", 600, rarely)])

    assert set(worker.run_due_jobs(now=0.0)) == {"often", "rarely"}
    assert worker.run_due_jobs(now=59.0) == {}
    assert set(worker.run_due_jobs(now=60.0)) == {"often"}
    assert worker.run_due_jobs(now=119.0) == {}
    assert set(worker.run_due_jobs(now=600.0)) == {"often", "rarely"}
    assert (often.runs, rarely.runs) == (3, 2)


def test_a_job_commits_its_work(engine, settings, session):
    job = FakeJob(writes=True)

    Worker(engine, settings, jobs=[PeriodicJob("writer", 60, job)]).run_due_jobs(now=0.0)

    assert _fake_rows(session) == 1


def test_a_failing_job_is_logged_rolled_back_and_does_not_stop_the_others(
    engine, settings, session, caplog
):
    broken, healthy = FakeJob(writes=True, fails=True), FakeJob()
    worker = Worker(engine, settings, jobs=[PeriodicJob("broken", 60, broken),
                                            PeriodicJob("healthy", 60, healthy)])

    with caplog.at_level(logging.ERROR, logger="prm.worker"):
        done = worker.run_due_jobs(now=0.0)

    assert done == {"broken": 0, "healthy": 7}
    assert healthy.runs == 1
    assert _fake_rows(session) == 0  # what the broken job wrote was not committed
    [failure] = [r for r in caplog.records if r.name == "prm.worker"]
    assert failure.levelno == logging.ERROR
    assert failure.job == "broken"
    assert failure.exc_info is not None


def test_a_failed_job_is_tried_again_when_its_interval_has_passed(engine, settings):
    broken = FakeJob(fails=True)
    worker = Worker(engine, settings, jobs=[PeriodicJob("broken", 60, broken)])

    worker.run_due_jobs(now=0.0)
    worker.run_due_jobs(now=30.0)
    worker.run_due_jobs(now=60.0)

    assert broken.runs == 2


def test_the_worker_loop_stops_when_asked(engine, settings):
    job = FakeJob()
    worker = Worker(engine, settings, jobs=[PeriodicJob("job", 60, job)])
    thread = threading.Thread(target=worker.run_forever, daemon=True)

    thread.start()
    assert job.ran.wait(10)
    worker.stopping.set()
    thread.join(10)

    assert not thread.is_alive()


def test_purging_sessions_is_one_of_the_periodic_jobs():
    assert "purge_expired_sessions" in {job.name for job in PERIODIC_JOBS}


def _age(session: Session, row: UserSession, **changes) -> None:
    for name, value in changes.items():
        setattr(row, name, value)
    session.add(row)


def test_purge_removes_expired_and_idle_sessions_only(session, settings):
    user = make_staff(session)
    now = utcnow()
    _token, fresh = open_session(session, user=user, settings=settings)
    _token, expired = open_session(session, user=user, settings=settings)
    _token, idle = open_session(session, user=user, settings=settings)
    _token, nearly_idle = open_session(session, user=user, settings=settings)
    _age(session, expired, expires_at=now - timedelta(seconds=1))
    _age(session, idle, last_seen_at=now - timedelta(minutes=settings.session_idle_minutes + 1))
    _age(session, nearly_idle,
         last_seen_at=now - timedelta(minutes=settings.session_idle_minutes - 1))
    session.commit()

    removed = purge_expired_sessions(session, settings=settings)
    session.commit()

    assert removed == 2
    left = set(session.exec(select(UserSession.token_hash)))
    assert left == {fresh.token_hash, nearly_idle.token_hash}


def test_the_worker_purges_sessions_through_its_periodic_job(engine, settings, session):
    user = make_staff(session)
    _token, row = open_session(session, user=user, settings=settings)
    _age(session, row, expires_at=utcnow() - timedelta(minutes=1))
    session.commit()
    [job] = [job for job in PERIODIC_JOBS if job.name == "purge_expired_sessions"]

    done = Worker(engine, settings, jobs=[job]).run_due_jobs(now=0.0)

    assert done == {"purge_expired_sessions": 1}
    session.expire_all()
    assert session.exec(select(func.count()).select_from(UserSession)).one() == 0
