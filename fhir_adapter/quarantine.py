"""Retrying quarantined resources after the cause was fixed (a segment rule added, a
mapping setting changed, the source corrected).

A row holds either the raw FHIR text (it failed validation or mapping: map it again) or
a PRM record a rule refused (ingest it again).
"""

from __future__ import annotations

import orjson
from sqlmodel import Session

from fhir_adapter.chunks import ChunkResult, map_resources
from fhir_adapter.mapping import MappingConfig
from fhir_adapter.settings import mapping_config
from prm.config import Settings
from prm.ingest import codec, ingest, progress


def retry(session: Session, settings: Settings, row_ids: list[int]) -> dict[str, int]:
    """Try the rows again; those that go through are marked resolved. The caller
    commits. Returns counts of resolved and still failing rows."""
    outcome = {"resolved": 0, "failed": 0}
    for row_id in row_ids:
        row = progress.open_quarantined(session, row_id)
        if row is None:
            continue
        chunk = _reread(row, mapping_config(settings, row.server))
        ctx = ingest(session, chunk.records, tz=settings.tz)
        problems = [*chunk.quarantined, *ctx.rejected]
        progress.record_retry(session, row, error=problems[0].error if problems else "",
                              at=ctx.now)
        outcome["failed" if problems else "resolved"] += 1
    session.flush()
    return outcome


def _reread(row, config: MappingConfig) -> ChunkResult:
    """Map again what ``row`` (from ``progress.open_quarantined``) holds."""
    if codec.is_encoded_record(row.raw):
        result = ChunkResult()
        result.records.append(codec.decode(row.raw))
        return result
    try:
        resource = orjson.loads(row.raw)
    except orjson.JSONDecodeError as error:
        result = ChunkResult()
        result.quarantine(config, row.origin, f"Still not valid JSON: {error}", row.raw,
                          row.resource_type, row.resource_id)
        return result
    return map_resources([resource], config, origin=row.origin)
