"""The queue of rest-hook notifications: the web route records one (deduplicated,
bounded), the worker claims it, ``fhir_adapter.subscription`` acts on it, and the
outcome is written here (done, or failed with the error and a later retry, or given up).

The database is the queue: a request never calls the FHIR server (a notification that
arrives while the server is down must not hold a request thread).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from prm.errors import PrmError
from prm.models.integration import FhirNotification, NotificationStatus
from prm.models.types import utcnow

# Waits between tries of a failing notification: 1, 2, 4 … minutes, at most an hour.
FIRST_RETRY_SECONDS = 60
LONGEST_RETRY_SECONDS = 3600
# What a sender is told to wait when the queue is full.
QUEUE_FULL_RETRY_AFTER_SECONDS = 60
# Finished notifications are kept this long (what came in, for an integrator), then purged.
KEEP_FINISHED_DAYS = 7
ERROR_LIMIT = 4000


class QueueFull(PrmError):
    """Too many notifications are waiting: the sender should try again later."""

    status = 503
    retry_after_seconds = QUEUE_FULL_RETRY_AFTER_SECONDS


@dataclass(frozen=True)
class Received:
    notification: FhirNotification
    duplicate: bool  # the same work was already waiting: no new row


@dataclass(frozen=True)
class QueueCounts:
    pending: int
    retrying: int  # pending rows that have failed at least once
    failed: int  # given up


def receive(session: Session, *, body: str, key: str, max_pending: int) -> Received:
    """Record a notification for the worker; the same ``key`` already waiting is that
    row. Raises QueueFull when ``max_pending`` notifications are waiting."""
    waiting = _waiting_with(session, key)
    if waiting is not None:
        return Received(waiting, duplicate=True)
    if pending_count(session) >= max_pending:
        raise QueueFull("Too many notifications are waiting; send this one again later.")
    now = utcnow()
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(FhirNotification)
    # Two copies arriving at once: the unique key lets one in, the other finds it.
    new_id = session.execute(insert.values(
        waiting_key=key, body=body, status=NotificationStatus.pending, attempts=0, error="",
        received_at=now, next_attempt_at=now,
    ).on_conflict_do_nothing().returning(FhirNotification.id)).scalar_one_or_none()
    if new_id is None:
        return Received(_waiting_with(session, key), duplicate=True)
    return Received(session.get(FhirNotification, new_id), duplicate=False)


def _waiting_with(session: Session, key: str) -> FhirNotification | None:
    return session.execute(select(FhirNotification).where(
        FhirNotification.waiting_key == key)).scalars().first()


def pending_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(FhirNotification).where(
        FhirNotification.status == NotificationStatus.pending)).scalar_one()


def claim_next(session: Session, *, now: datetime | None = None) -> FhirNotification | None:
    """The oldest notification due now, locked until the caller's transaction ends;
    rows another worker holds are skipped (PostgreSQL; SQLite has one writer)."""
    statement = (select(FhirNotification)
                 .where(FhirNotification.status == NotificationStatus.pending,
                        FhirNotification.next_attempt_at <= (now or utcnow()))
                 .order_by(FhirNotification.next_attempt_at, FhirNotification.id)
                 .limit(1).with_for_update(skip_locked=True))
    return session.execute(statement).scalars().first()


def mark_done(session: Session, *, notification: FhirNotification) -> None:
    notification.attempts += 1
    notification.status, notification.error = NotificationStatus.done, ""
    _finish(session, notification)


def mark_failed(session: Session, *, notification: FhirNotification, error: str,
                max_attempts: int) -> None:
    """Keeps the row with the error: due again after a growing wait, or given up
    (status failed) once ``max_attempts`` tries have failed."""
    notification.attempts += 1
    notification.error = error[:ERROR_LIMIT]
    if notification.attempts >= max_attempts:
        notification.status = NotificationStatus.failed
        _finish(session, notification)
        return
    wait = min(FIRST_RETRY_SECONDS * 2 ** (notification.attempts - 1), LONGEST_RETRY_SECONDS)
    notification.next_attempt_at = utcnow() + timedelta(seconds=wait)
    session.add(notification)
    session.flush()


def _finish(session: Session, notification: FhirNotification) -> None:
    # The key only deduplicates what waits: the same change notified later is new work.
    notification.waiting_key = None
    notification.finished_at = utcnow()
    session.add(notification)
    session.flush()


def purge_finished(session: Session, *, older_than_days: int = KEEP_FINISHED_DAYS) -> int:
    """Deletes done notifications finished more than ``older_than_days`` ago; failed
    ones stay until an integrator has seen them. Returns how many went."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    result = session.execute(delete(FhirNotification).where(
        FhirNotification.status == NotificationStatus.done,
        FhirNotification.finished_at < cutoff).execution_options(preserve_rowcount=True))
    return result.rowcount or 0


def queue_counts(session: Session) -> QueueCounts:
    pending = FhirNotification.status == NotificationStatus.pending
    row = session.execute(select(
        func.count().filter(pending),
        func.count().filter(pending & (FhirNotification.attempts > 0)),
        func.count().filter(FhirNotification.status == NotificationStatus.failed),
    ).select_from(FhirNotification)).one()
    return QueueCounts(*row)
