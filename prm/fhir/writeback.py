"""What FHIR write-back reads from PRM: the follow-up items of a server's patients that
changed, as plain values (``fhir_adapter.writeback`` turns them into ``Task``s).

The adapter never queries PRM's tables itself; where each item's Task is kept on the
server is source-key storage, in ``prm.ingest.keys``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlmodel import Session

from prm.models.integration import SourceRecord
from prm.models.worklist import ItemStatus, Priority, WorklistItem


@dataclass(frozen=True)
class FollowUpForTask:
    """One worklist item as a Task needs it. ``status`` and ``priority`` are the names
    of ``ItemStatus`` and ``Priority`` members (``open``, ``critical``…)."""

    item_id: int
    patient_resource_id: str  # the server's own Patient id
    rule: str
    status: str
    priority: str
    claimed: bool
    close_reason: str
    created_at: datetime
    due_at: datetime


def follow_ups_changed_since(session: Session, *, server: str,
                             since: datetime | None) -> list[FollowUpForTask]:
    """Items of patients that came from ``server`` created, claimed or closed at or after
    ``since`` (all of them when None), oldest item first. Patients registered only at
    the desk have no Patient on that server, so their items are not included."""
    patient_key = SourceRecord.__table__.alias("patient_key")
    statement = (
        select(WorklistItem, patient_key.c.resource_id)
        .join(patient_key, (patient_key.c.local_id == WorklistItem.patient_id)
              & (patient_key.c.server == server)
              & (patient_key.c.resource_type == "Patient")
              & patient_key.c.deleted.is_(False))
        .order_by(WorklistItem.id))
    if since is not None:
        statement = statement.where(or_(WorklistItem.created_at >= since,
                                        WorklistItem.claimed_at >= since,
                                        WorklistItem.closed_at >= since))
    return [_for_task(item, resource_id) for item, resource_id in session.execute(statement)]


def _for_task(item: WorklistItem, patient_resource_id: str) -> FollowUpForTask:
    return FollowUpForTask(
        item_id=item.id, patient_resource_id=patient_resource_id, rule=item.rule,
        status=ItemStatus(item.status).name, priority=Priority(item.priority).name,
        claimed=item.claimed_by_user_id is not None, close_reason=item.close_reason,
        created_at=item.created_at, due_at=item.due_at)
