"""Rest-hook notifications: the server tells us something changed; we fetch it.

A notification may carry full resources (ingested as they are), only references
(each read from the server), or nothing at all (a "ping": an incremental sync of every
type). The shared secret is checked by the route before this runs.
"""

from __future__ import annotations

import logging

import orjson
from sqlalchemy import Engine
from sqlmodel import Session

from fhir_adapter.chunks import ChunkResult, map_resources
from fhir_adapter.client import FhirClient, FhirError, ResourceGone
from fhir_adapter.settings import connection, mapping_config
from fhir_adapter.sync import run_sync
from prm.config import Settings
from prm.ingest import ingest, progress
from prm.ingest.records import DeletedRecord, SourceKey

log = logging.getLogger(__name__)
NOTIFICATION_TYPES = {"SubscriptionStatus", "Parameters", "Subscription"}


def parse_notification(body: bytes) -> tuple[list[dict], list[str]]:
    """(full resources, "Type/id" references) named by a notification body."""
    if not body.strip():
        return [], []
    document = orjson.loads(body)
    if not isinstance(document, dict):
        raise ValueError("a notification must be a JSON object")
    if document.get("resourceType") != "Bundle":
        return [document], []
    resources, references = [], []
    for entry in document.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        resource = entry.get("resource")
        if isinstance(resource, dict) and resource.get("resourceType") in NOTIFICATION_TYPES:
            references.extend(_focus_references(resource))
        elif isinstance(resource, dict) and len(resource) > 2:
            resources.append(resource)
        elif isinstance(entry.get("fullUrl"), str):
            references.append(_type_and_id(entry["fullUrl"]))
    return resources, [r for r in references if r]


def handle_notification(engine: Engine, settings: Settings, body: bytes, *,
                        client: FhirClient | None = None) -> dict:
    resources, references = parse_notification(body)
    if not resources and not references:
        return run_sync(engine, settings, client=client)
    conn = connection(settings)
    config = mapping_config(settings, conn.name)
    own_client = client is None
    client = client or FhirClient(conn)
    try:
        chunk = map_resources(resources, config, origin="subscription")
        for reference in references:
            _fetch(client, reference, config, chunk)
    finally:
        if own_client:
            client.close()
    with Session(engine, expire_on_commit=False) as session:
        ctx = ingest(session, chunk.records, tz=settings.tz)
        progress.quarantine(session, [*chunk.quarantined, *ctx.rejected])
        progress.audit_run(session, what="subscription", summary={"by_type": {
            name: {"imported": c.imported, "linked": c.linked, "quarantined": c.quarantined}
            for name, c in ctx.summary.by_type.items()}})
        session.commit()
    return {"resources": len(resources), "references": len(references),
            "quarantined": len(chunk.quarantined) + len(ctx.rejected)}


def _fetch(client: FhirClient, reference: str, config, chunk: ChunkResult) -> None:
    resource_type, resource_id = reference.split("/", 1)
    try:
        resource = client.read(resource_type, resource_id)
    except ResourceGone:
        chunk.records.append(DeletedRecord(SourceKey(config.server, resource_type,
                                                     resource_id)))
        return
    except (FhirError, ValueError) as error:  # ValueError: not a valid type or id
        log.warning("subscription: could not read %s: %s", reference, error)
        chunk.quarantine(config, reference, str(error), "", resource_type, resource_id)
        return
    fetched = map_resources([resource], config, origin=reference)
    chunk.records.extend(fetched.records)
    chunk.quarantined.extend(fetched.quarantined)


def _focus_references(status: dict) -> list[str]:
    found = []
    for event in status.get("notificationEvent") or []:
        focus = event.get("focus") if isinstance(event, dict) else None
        focus = focus.get("reference") if isinstance(focus, dict) else None
        if isinstance(focus, str) and focus:
            found.append(_type_and_id(focus))
    return found


def _type_and_id(url: str) -> str:
    parts = url.split("?")[0].rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[:parts.index("_history")]
    return "/".join(parts[-2:]) if len(parts) >= 2 and parts[-2][:1].isupper() else ""
