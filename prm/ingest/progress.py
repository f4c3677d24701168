"""Bookkeeping around ingest: the quarantine, import checkpoints and sync watermarks.
Each is written in the caller's transaction, together with the data it describes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlmodel import Session

from prm.ingest.records import QuarantineRecord
from prm.models.integration import (
    ImportCheckpoint,
    QuarantinedResource,
    QuarantineStatus,
    SyncState,
)
from prm.models.types import utcnow

RAW_LIMIT = 1_000_000  # characters of raw input kept per quarantined resource


def quarantine(session: Session, items: list[QuarantineRecord]) -> None:
    """Keep what failed with its raw text and error; a resource already waiting in the
    quarantine is updated (one row per resource, with an attempt count)."""
    now = utcnow()
    for item in items:
        existing = None
        if item.resource_id:
            existing = session.execute(select(QuarantinedResource).where(
                QuarantinedResource.server == item.server,
                QuarantinedResource.resource_type == item.resource_type,
                QuarantinedResource.resource_id == item.resource_id,
                QuarantinedResource.status == QuarantineStatus.open)).scalars().first()
        if existing is None:
            session.add(QuarantinedResource(
                server=item.server, origin=item.origin[:500],
                resource_type=item.resource_type[:40], resource_id=item.resource_id[:64],
                error=item.error, raw=item.raw[:RAW_LIMIT], created_at=now, last_tried_at=now))
        else:
            existing.error, existing.raw = item.error, item.raw[:RAW_LIMIT]
            existing.origin, existing.attempts = item.origin[:500], existing.attempts + 1
            existing.last_tried_at = now
            session.add(existing)
    session.flush()


def open_quarantine_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(QuarantinedResource).where(
        QuarantinedResource.status == QuarantineStatus.open)).scalar_one()


def resolve_quarantined(session: Session, row_id: int, status: str) -> None:
    session.execute(update(QuarantinedResource).where(QuarantinedResource.id == row_id)
                    .values(status=status, last_tried_at=utcnow()))


def open_quarantined(session: Session, row_id: int) -> QuarantinedResource | None:
    """The quarantined row when it is still open (what a retry works on), else None."""
    row = session.get(QuarantinedResource, row_id)
    return row if row is not None and row.status == QuarantineStatus.open else None


def record_retry(session: Session, row: QuarantinedResource, *, error: str,
                 at: datetime) -> None:
    """The outcome of retrying ``row``: resolved when ``error`` is empty; otherwise the
    new error is kept and the attempt counted. The caller commits."""
    if not error:
        resolve_quarantined(session, row.id, QuarantineStatus.resolved)
        return
    row.error, row.attempts, row.last_tried_at = error, row.attempts + 1, at
    session.add(row)


@dataclass(frozen=True)
class Checkpoint:
    byte_offset: int = 0
    lines_done: int = 0
    finished: bool = False


def checkpoint(session: Session, file_key: str) -> Checkpoint:
    row = session.execute(select(ImportCheckpoint).where(
        ImportCheckpoint.file_key == file_key)).scalars().first()
    if row is None:
        return Checkpoint()
    return Checkpoint(row.byte_offset, row.lines_done, row.finished)


def save_checkpoint(session: Session, file_key: str, mark: Checkpoint) -> None:
    row = session.execute(select(ImportCheckpoint).where(
        ImportCheckpoint.file_key == file_key)).scalars().first()
    row = row or ImportCheckpoint(file_key=file_key)
    row.byte_offset, row.lines_done, row.finished = (
        mark.byte_offset, mark.lines_done, mark.finished)
    row.updated_at = utcnow()
    session.add(row)
    session.flush()


def sync_state(session: Session, server: str, resource_type: str) -> SyncState:
    row = session.execute(select(SyncState).where(
        SyncState.server == server, SyncState.resource_type == resource_type)).scalars().first()
    if row is None:
        row = SyncState(server=server, resource_type=resource_type)
        session.add(row)
        session.flush()
    return row


def sync_states(session: Session) -> list[SyncState]:
    return list(session.execute(select(SyncState).order_by(
        SyncState.server, SyncState.resource_type)).scalars())


def advance_watermark(row: SyncState, seen: datetime | None) -> None:
    if seen and (row.watermark is None or seen > row.watermark):
        row.watermark = seen


def audit_run(session: Session, *, what: str, summary: dict) -> None:
    """One audit row per import, sync or notification: patient records were written by
    the integration, not by a member of staff (per-record rows would bury the log)."""
    from prm.audit import service as audit
    from prm.audit.service import Actor
    from prm.models.audit import AuditAction

    written = sum(c.get("imported", 0) + c.get("linked", 0)
                  for c in summary.get("by_type", {}).values())
    quarantined = sum(c.get("quarantined", 0) for c in summary.get("by_type", {}).values())
    audit.record(session, actor=Actor(user_id=None, username=f"integration:{what}"),
                 action=AuditAction.update, entity_type="fhir_records",
                 detail=f"{what}: {written} records written, {quarantined} quarantined")
