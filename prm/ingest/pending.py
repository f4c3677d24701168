"""Records that arrived before what they refer to wait here, and are written when it
arrives (an Observation before its Patient, a dispense before its prescription)."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select

from prm.ingest import codec, keys
from prm.ingest.context import IngestContext
from prm.models.integration import SourcePending

CHUNK = 500


def park(ctx: IngestContext, record, waiting_for: str) -> None:
    key = record.key
    same_key = (SourcePending.server == key.server,
                SourcePending.resource_type == key.resource_type,
                SourcePending.resource_id == key.resource_id)
    # A newer version of a record already waiting replaces the old one; an older never does.
    for (text,) in ctx.session.execute(select(SourcePending.record).where(*same_key)):
        if not keys.is_newer(key, codec.decode(text).key):
            ctx.summary.counts(key.resource_type).unchanged += 1
            return
    ctx.session.execute(delete(SourcePending).where(*same_key))
    row_id = ctx.session.execute(insert(SourcePending).returning(SourcePending.id).values(
        server=key.server, resource_type=key.resource_type, resource_id=key.resource_id,
        waiting_for=waiting_for, record=codec.encode(record), created_at=ctx.now,
    )).scalar_one()
    ctx.parked_now.add(row_id)
    ctx.summary.counts(key.resource_type).waiting += 1


def release(ctx: IngestContext, server: str, references: list[str]) -> tuple[list, list]:
    """Take out the records waiting for any of ``references``; the caller writes them.

    Returns (parked during this call, parked by an earlier one): only the first kind was
    counted as read by this call.
    """
    now, earlier = [], []
    for row in _take(ctx, SourcePending.waiting_for, references,
                     SourcePending.server == server):
        if row.id in ctx.parked_now:
            ctx.parked_now.discard(row.id)
            ctx.summary.counts(row.resource_type).waiting -= 1
            now.append(codec.decode(row.record))
        else:
            earlier.append(codec.decode(row.record))
    return now, earlier


def discard(ctx: IngestContext, server: str, resource_type: str,
            resource_ids: list[str]) -> set[str]:
    """Drop waiting records the source has deleted since; returns their ids."""
    dropped: set[str] = set()
    for row in _take(ctx, SourcePending.resource_id, resource_ids,
                     SourcePending.server == server,
                     SourcePending.resource_type == resource_type):
        dropped.add(row.resource_id)
        if row.id in ctx.parked_now:  # read by this call: superseded, not waiting
            ctx.parked_now.discard(row.id)
            counts = ctx.summary.counts(resource_type)
            counts.waiting -= 1
            counts.unchanged += 1
    return dropped


def _take(ctx: IngestContext, column, values: list[str], *conditions) -> list:
    """Delete and return the waiting rows whose ``column`` is one of ``values``."""
    taken = []
    for start in range(0, len(values), CHUNK):
        rows = ctx.session.execute(
            select(SourcePending.id, SourcePending.resource_type, SourcePending.resource_id,
                   SourcePending.record)
            .where(*conditions, column.in_(values[start:start + CHUNK]))).all()
        if rows:
            ctx.session.execute(delete(SourcePending).where(
                SourcePending.id.in_([row.id for row in rows])))
            taken.extend(rows)
    return taken


def waiting_count(session, server: str | None = None) -> int:
    statement = select(func.count()).select_from(SourcePending)
    if server:
        statement = statement.where(SourcePending.server == server)
    return session.execute(statement).scalar_one()
