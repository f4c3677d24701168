"""Write-back (off by default, ``PRM_FHIR_WRITE_BACK``): follow-up worklist items become
``Task`` resources on the hospital's server, so the ward and the call centre see the
same follow-ups.

Run by the worker, never by a request (DESIGN: requests do not call FHIR write
endpoints). Only patients that came from that server are written back — a Task must
point at the server's own Patient. Each item's Task id is kept in ``source_record``
(type ``Task``, local id = the item), with a digest of what was sent, so an unchanged
item is not sent again. SMS → ``Communication`` waits for the messaging feature.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from fhir_adapter.client import FhirClient, FhirError
from fhir_adapter.settings import connection
from prm.config import Settings
from prm.fhir.writeback import FollowUpForTask, follow_ups_changed_since
from prm.ingest import keys, progress
from prm.ingest.records import SourceKey

STATE_TYPE = "Task (write-back)"
ITEM_SYSTEM = "urn:prm:worklist-item"
# Keyed by the names of PRM's priorities (``FollowUpForTask.priority``).
PRIORITY = {"critical": "stat", "high": "urgent", "normal": "routine", "low": "routine"}
# What the hospital's staff read on the Task; no test names or values (they are on the
# hospital's own record already).
RULE_TEXT = {
    "missed_pickup": "Follow-up call: medicines not collected",
    "abnormal_lab": "Follow-up call: lab result needs a call back",
    "no_show": "Follow-up call: missed appointment",
    "discharge_call": "Follow-up call after discharge",
    "discharge_appointment": "Follow-up appointment after discharge not booked",
    "lapsed_return": "Follow-up call: overdue return visit",
}


def push_tasks(engine: Engine, settings: Settings, *,
               client: FhirClient | None = None) -> dict[str, int]:
    """Create or update the Tasks of items changed since the last push."""
    conn = connection(settings)
    server = conn.name
    own_client = client is None
    client = client or FhirClient(conn)
    sent = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    started = datetime.now(UTC)
    try:
        with Session(engine, expire_on_commit=False) as session:
            state = progress.sync_state(session, server, STATE_TYPE)
            since = state.watermark - timedelta(minutes=5) if state.watermark else None
            for item in follow_ups_changed_since(session, server=server, since=since):
                _push_one(session, client, server, item, sent)
            if not sent["failed"]:
                progress.advance_watermark(state, started)
            state.last_count = sent["created"] + sent["updated"]
            session.add(state)
            session.commit()
    finally:
        if own_client:
            client.close()
    return sent


def _push_one(session: Session, client: FhirClient, server: str, item: FollowUpForTask,
              sent: dict[str, int]) -> None:
    task = task_for(item)
    fingerprint = keys.digest(sorted((k, str(v)) for k, v in task.items()))
    stored = keys.for_local(session, server, "Task", item.item_id)
    if stored is not None and stored.digest == fingerprint:
        sent["unchanged"] += 1
        return
    try:
        if stored is None:
            answer = client.create(task)
        else:
            answer = client.update({**task, "id": stored.resource_id})
    except FhirError:
        sent["failed"] += 1  # the watermark stays, so the next round tries again
        return
    task_id = str(answer.get("id") or (stored.resource_id if stored else ""))
    key = SourceKey(server, "Task", task_id, (answer.get("meta") or {}).get("versionId"))
    known = keys.load(session, server, "Task", [task_id])
    keys.save(session, [(key, fingerprint, item.item_id, False)], known)
    sent["updated" if stored else "created"] += 1


# Closed because the follow-up happened (or its cause went away) → completed; closed
# because it cannot happen (refused, moved, deceased) → cancelled.
CANCELLING_REASONS = {"refused", "moved_elsewhere", "deceased"}


def _task_status(item: FollowUpForTask) -> str:
    if item.status == "closed":
        return "cancelled" if item.close_reason in CANCELLING_REASONS else "completed"
    if item.status == "snoozed":
        return "on-hold"
    return "in-progress" if item.claimed else "requested"


def task_for(item: FollowUpForTask) -> dict:
    status = _task_status(item)
    task = {
        "resourceType": "Task", "status": status, "intent": "order",
        "priority": PRIORITY.get(item.priority, "routine"),
        "identifier": [{"system": ITEM_SYSTEM, "value": str(item.item_id)}],
        "code": {"text": RULE_TEXT.get(item.rule, "Follow-up call")},
        "for": {"reference": f"Patient/{item.patient_resource_id}"},
        "authoredOn": item.created_at.isoformat(),
        "restriction": {"period": {"end": item.due_at.isoformat()}},
    }
    if item.close_reason:
        task["businessStatus"] = {"text": item.close_reason}
    return task
