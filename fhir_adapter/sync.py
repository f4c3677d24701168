"""Incremental pull from the hospital's FHIR server: per resource type, search with a
``_lastUpdated`` watermark (started an overlap window early, since servers commit out
of order), page through ``next`` links, map, ingest, and move the watermark when the
type's pull completes. A pull that fails keeps the old watermark, so the next run reads
the same window again; upserts make that harmless.

Bulk mode asks the server for an ``$export`` since the oldest watermark, downloads it,
and imports the folder like ``prm fhir import``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from fhir_adapter import bulk
from fhir_adapter.chunks import ChunkResult, map_resources
from fhir_adapter.client import FhirClient, FhirError
from fhir_adapter.importer import Importer, merge_counts
from fhir_adapter.mapping import MappingConfig
from fhir_adapter.settings import connection, mapping_config, sync_types
from fhir_adapter.sources import collect
from prm.config import PROJECT_ROOT, Settings
from prm.ingest import ingest, progress
from prm.ingest.records import IngestSummary

log = logging.getLogger(__name__)


def run_sync(engine: Engine, settings: Settings, *, client: FhirClient | None = None,
             types: list[str] | None = None) -> dict:
    """Pull every configured type; returns the summary (``errors`` lists failed types)."""
    conn = connection(settings)
    config = mapping_config(settings, conn.name)
    summary, errors = IngestSummary(), {}
    own_client = client is None
    client = client or FhirClient(conn)
    started = datetime.now(UTC)
    try:
        for resource_type in types or sync_types(settings):
            try:
                _pull(engine, client, config, settings, resource_type, summary)
            except FhirError as error:
                errors[resource_type] = str(error)
    finally:
        if own_client:
            client.close()
    return _summary_json(summary, started, errors)


def _pull(engine: Engine, client: FhirClient, config: MappingConfig, settings: Settings,
          resource_type: str, summary: IngestSummary) -> None:
    overlap = timedelta(seconds=settings.fhir_overlap_seconds)
    with Session(engine, expire_on_commit=False) as session:
        state = progress.sync_state(session, config.server, resource_type)
        state.last_started_at = datetime.now(UTC)
        since = state.watermark - overlap if state.watermark else None
        session.commit()
    # No _sort: not every server supports it, and the watermark only moves once the whole
    # type has been read, so the order of pages does not matter.
    params = []
    if since:
        params.append(("_lastUpdated", f"ge{bulk.fhir_instant(since)}"))
    newest, count = None, 0
    try:
        for page in client.search(resource_type, params):
            resources = _page_resources(page)
            newest = max(filter(None, [newest, *map(_last_updated, resources)]), default=None)
            count += len(resources)
            _write(engine, map_resources(resources, config, origin=resource_type), summary,
                   settings)
    except FhirError as error:
        _record_outcome(engine, config.server, resource_type, error=str(error))
        raise
    _record_outcome(engine, config.server, resource_type, newest=newest, count=count)


def _page_resources(page: dict) -> list[dict]:
    return [entry["resource"] for entry in page.get("entry") or []
            if isinstance(entry.get("resource"), dict)
            and (entry.get("search") or {}).get("mode") != "outcome"]


def _last_updated(resource: dict) -> datetime | None:
    value = (resource.get("meta") or {}).get("lastUpdated")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def _write(engine: Engine, chunk: ChunkResult, summary: IngestSummary,
           settings: Settings) -> None:
    with Session(engine, expire_on_commit=False) as session:
        ctx = ingest(session, chunk.records, tz=settings.tz)
        progress.quarantine(session, [*chunk.quarantined, *ctx.rejected])
        session.commit()
    merge_counts(summary, chunk, ctx.summary)


def _record_outcome(engine: Engine, server: str, resource_type: str, *, error: str = "",
                    newest: datetime | None = None, count: int = 0) -> None:
    with Session(engine, expire_on_commit=False) as session:
        state = progress.sync_state(session, server, resource_type)
        if error:
            state.last_error = error[:4000]
        else:
            progress.advance_watermark(state, newest)
            state.last_success_at, state.last_error, state.last_count = datetime.now(UTC), "", count
        session.add(state)
        session.commit()


def run_bulk_sync(engine: Engine, settings: Settings, *, group_id: str | None = None,
                  client: FhirClient | None = None, folder: Path | None = None) -> dict:
    """``$export`` of what changed since the oldest watermark, downloaded and imported."""
    conn = connection(settings)
    config = mapping_config(settings, conn.name)
    types = sync_types(settings)
    with Session(engine) as session:
        marks = [progress.sync_state(session, config.server, t).watermark for t in types]
        session.commit()
    since = None if any(m is None for m in marks) else min(marks)
    own_client = client is None
    client = client or FhirClient(conn)
    try:
        status_url = bulk.start_export(client, group_id=group_id, types=types, since=since)
        manifest = bulk.wait_for_export(client, status_url)
        target = folder or _export_folder(config.server, manifest)
        bulk.download_export(client, manifest, target)
    finally:
        if own_client:
            client.close()
    result = Importer(engine, tz=settings.tz, config=config).run(collect([target]))
    _bulk_watermarks(engine, config.server, types, manifest.get("transactionTime"))
    return result.as_json()


def _export_folder(server: str, manifest: dict) -> Path:
    stamp = str(manifest.get("transactionTime", datetime.now(UTC).isoformat()))
    safe = "".join(c if c.isalnum() else "_" for c in f"{server}_{stamp}")
    return PROJECT_ROOT / "var" / "fhir-exports" / safe


def _bulk_watermarks(engine: Engine, server: str, types: list[str],
                     transaction_time: str | None) -> None:
    """Everything up to the export's transactionTime is in: the next pull starts there."""
    if not transaction_time:
        return
    moment = datetime.fromisoformat(transaction_time.replace("Z", "+00:00"))
    with Session(engine) as session:
        for resource_type in types:
            state = progress.sync_state(session, server, resource_type)
            progress.advance_watermark(state, moment)
            state.last_success_at, state.last_error = datetime.now(UTC), ""
            session.add(state)
        session.commit()


def _summary_json(summary: IngestSummary, started: datetime, errors: dict) -> dict:
    by_type = {name: {"read": c.read, "imported": c.imported, "unchanged": c.unchanged,
                      "quarantined": c.quarantined, "skipped": c.skipped,
                      "waiting": c.waiting, "linked": c.linked}
               for name, c in sorted(summary.by_type.items())}
    return {"by_type": by_type, "seconds": round((datetime.now(UTC) - started).total_seconds(), 3),
            "errors": errors}
