"""Acting on recorded rest-hook notifications (the worker's side; the web route only
checks the secret, parses and records them, see ``prm.fhir.notifications``).

A notification names resources by ``Type/id``; each is read from the server before it
changes a patient, because whoever holds the shared secret could push anything. Pushed
content is ingested as it is only when ``PRM_FHIR_TRUST_PUSHED_RESOURCES`` says so. A
notification that names nothing (an "empty" event) runs an incremental sync.

All or nothing per notification: when one read fails, nothing of it is ingested and the
row is kept as failed with the error, to be tried again later.
"""

from __future__ import annotations

import dataclasses
import logging

from sqlalchemy import Engine
from sqlmodel import Session

from fhir_adapter.chunks import ChunkResult, map_resources
from fhir_adapter.client import FhirClient, FhirError, ResourceGone
from fhir_adapter.notifications import Notification, parse_notification
from fhir_adapter.settings import connection, mapping_config
from fhir_adapter.sync import run_sync
from prm.config import Settings
from prm.fhir import notifications as queue
from prm.ingest import ingest, progress
from prm.ingest.records import DeletedRecord, SourceKey

log = logging.getLogger(__name__)
BATCH = 20


def process_notifications(engine: Engine, settings: Settings, *,
                          client: FhirClient | None = None, limit: int = BATCH) -> dict:
    """Acts on up to ``limit`` due notifications, one transaction each. Stops at the
    first failure: the server is likely down, and the rest wait for their turn rather
    than each waiting for a timeout. Returns ``{"done": n, "failed": n}``."""
    outcome = {"done": 0, "failed": 0}
    own_client = client is None
    try:
        for _ in range(limit):
            with Session(engine, expire_on_commit=False) as session:
                row = queue.claim_next(session)
                if row is None:
                    break
                # Made when there is work: the worker asks every few seconds. No retries
                # inside the client: the queue retries, with longer waits between tries.
                client = client or FhirClient(
                    dataclasses.replace(connection(settings), max_retries=0))
                result = _process(session, settings, row, client)
            outcome[result] += 1
            if result == "failed":
                break
    finally:
        if own_client and client is not None:
            client.close()
    return outcome


def _process(session: Session, settings: Settings, row, client: FhirClient) -> str:
    """Acts on one claimed row and commits its outcome: "done" or "failed"."""
    try:
        act_on(session, settings, parse_notification(row.body.encode()), client=client)
    except Exception as error:  # whatever it was, the row keeps it and is tried again
        session.rollback()
        if not isinstance(error, FhirError):
            log.exception("notification failed", extra={"notification": row.id})
        queue.mark_failed(session, notification=row, error=_described(error),
                          max_attempts=settings.fhir_notification_max_attempts)
        session.commit()
        return "failed"
    queue.mark_done(session, notification=row)
    session.commit()
    return "done"


def act_on(session: Session, settings: Settings, notification: Notification, *,
           client: FhirClient) -> dict:
    """Reads what the notification names and ingests it in ``session`` (flushed, not
    committed). Raises FhirError when the server could not be read."""
    if notification.asks_for_sync:
        return _sync(session, settings, client)
    config = mapping_config(settings, client.connection.name)
    pushed = list(notification.resources) if settings.fhir_trust_pushed_resources else []
    chunk = map_resources(pushed, config, origin="subscription")
    have = {f"{r['resourceType']}/{r['id']}" for r in pushed}
    for reference in notification.references:
        if reference not in have:
            _read_back(client, reference, config, chunk)
    ctx = ingest(session, chunk.records, tz=settings.tz)
    progress.quarantine(session, [*chunk.quarantined, *ctx.rejected])
    by_type = {name: {"imported": c.imported, "linked": c.linked, "quarantined": c.quarantined}
               for name, c in ctx.summary.by_type.items()}
    progress.audit_run(session, what="subscription", summary={"by_type": by_type})
    return {"by_type": by_type}


def _sync(session: Session, settings: Settings, client: FhirClient) -> dict:
    summary = run_sync(session.get_bind(), settings, client=client)
    if summary["errors"]:
        raise FhirError("; ".join(f"{t}: {e}" for t, e in sorted(summary["errors"].items())))
    return summary


def _read_back(client: FhirClient, reference: str, config, chunk: ChunkResult) -> None:
    """The server's copy of ``reference`` into ``chunk``; deleted (410) becomes a deletion.
    Anything else that stops the read (404 included: the server may not have it yet)
    raises FhirError, failing the whole notification."""
    resource_type, resource_id = reference.split("/", 1)
    try:
        resource = client.read(resource_type, resource_id)
    except ResourceGone:
        chunk.records.append(DeletedRecord(SourceKey(config.server, resource_type,
                                                     resource_id)))
        return
    fetched = map_resources([resource], config, origin=reference)
    chunk.records.extend(fetched.records)
    chunk.quarantined.extend(fetched.quarantined)


def _described(error: Exception) -> str:
    return str(error) if isinstance(error, FhirError) else f"{type(error).__name__}: {error}"
