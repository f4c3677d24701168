"""The batch write every record type shares: skip what is unchanged or older, park what
refers to something not here yet, insert or update the rest in bulk, save the keys.

A writer for one record type says which references it needs, which columns a record
becomes, and what follows from writing it (a segment to re-derive, a pickup date to
move). See ``prm/ingest/writers.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Table, bindparam, insert, update

from prm.ingest import keys, pending
from prm.ingest.context import IngestContext
from prm.ingest.keys import StoredKey


@dataclass(slots=True)
class Item:
    record: object
    stored: StoredKey | None
    fingerprint: str
    local_id: int | None = None
    refs: dict[str, int] = field(default_factory=dict)

    @property
    def is_new(self) -> bool:
        return self.local_id is None


class Writer:
    """Base writer: subclasses set ``table`` and implement ``values``."""

    table: Table
    resource_types: tuple[str, ...] = ()

    def required_refs(self, record) -> tuple[str, ...]:
        patient_ref = getattr(record, "patient_ref", None)
        return (patient_ref,) if patient_ref else ()

    def optional_refs(self, record) -> tuple[str, ...]:
        return ()

    def values(self, ctx: IngestContext, item: Item) -> dict | None:
        """Column values for the local row; None rejects the record (after ctx.reject).
        Every writer that keeps rows defines it (the lab-report writer keeps none)."""
        raise NotImplementedError

    def insert_defaults(self, ctx: IngestContext, item: Item) -> dict:
        return {}

    def prepare(self, ctx: IngestContext, items: list[Item]) -> list[Item]:
        """Hook before writing (e.g. matching patients registered by hand)."""
        return items

    def after(self, ctx: IngestContext, items: list[Item]) -> None:
        """Consequences of the written records, set-based."""

    def delete(self, ctx: IngestContext, local_ids: list[int]) -> None:
        """What a delete at the source does to the local rows; every writer defines it."""
        raise NotImplementedError

    def key_of(self, record):
        return record.key

    def fingerprint(self, record) -> str:
        return keys.digest(record)

    # -- the shared flow ------------------------------------------------------------

    def write_group(self, ctx: IngestContext, records: list) -> list[Item]:
        server, resource_type = self.key_of(records[0]).server, self.key_of(
            records[0]).resource_type
        newest = _newest_per_id(records, self.key_of)
        stored = keys.load(ctx.session, server, resource_type,
                           (self.key_of(r).resource_id for r in newest))
        counts = ctx.summary.counts(records[0].key.resource_type)
        counts.unchanged += len(records) - len(newest)
        items = []
        for record in newest:
            key = self.key_of(record)
            fingerprint = self.fingerprint(record)
            previous = stored.get(key.resource_id)
            if previous and (not keys.is_newer(key, previous)
                             or (previous.deleted and not keys.is_strictly_newer(key, previous))
                             or (previous.digest == fingerprint and not previous.deleted)):
                counts.unchanged += 1
                continue
            local_id = previous.local_id if previous and not previous.deleted else None
            items.append(Item(record, previous, fingerprint, local_id))
        ready = self._resolve(ctx, server, items)
        ready = self.prepare(ctx, ready)
        written = self._write_rows(ctx, ready)
        keys.save(ctx.session, [(self.key_of(i.record), i.fingerprint, i.local_id, False)
                                for i in written], stored)
        for item in written:
            ctx.summary.counts(item.record.key.resource_type).imported += 1
        self.after(ctx, written)
        return written

    def _resolve(self, ctx: IngestContext, server: str, items: list[Item]) -> list[Item]:
        wanted = {ref for i in items for ref in (*self.required_refs(i.record),
                                                  *self.optional_refs(i.record)) if ref}
        resolved = keys.local_ids(ctx.session, server, wanted)
        ready = []
        for item in items:
            missing = [ref for ref in self.required_refs(item.record) if ref not in resolved]
            if missing:
                pending.park(ctx, item.record, missing[0])
                continue
            item.refs = resolved
            ready.append(item)
        return ready

    def _write_rows(self, ctx: IngestContext, items: list[Item]) -> list[Item]:
        inserts, updates = [], []
        for item in items:
            values = self.values(ctx, item)
            if values is None:
                continue
            too_long = _too_long(self.table, values)
            if too_long:  # quarantined whole, never cut (and never a failed batch)
                ctx.reject(item.record, too_long)
                continue
            if item.is_new:
                inserts.append((item, {**self.insert_defaults(ctx, item), **values}))
            else:
                updates.append((item, values))
        if inserts:
            statement = insert(self.table).returning(self.table.c.id,
                                                     sort_by_parameter_order=True)
            ids = ctx.session.execute(statement, [row for _, row in inserts]).scalars().all()
            for (item, _row), local_id in zip(inserts, ids, strict=True):
                item.local_id = local_id
        if updates:
            _update_by_id(ctx, self.table, updates)
        return [item for item, _ in inserts] + [item for item, _ in updates]


def _too_long(table: Table, values: dict) -> str:
    """Why a text does not fit its column, or "" when every one fits."""
    for name, value in values.items():
        length = getattr(table.c[name].type, "length", None)
        if isinstance(value, str) and length and len(value) > length:
            return f"{name} is {len(value)} characters long; PRM keeps at most {length}"
    return ""


def _update_by_id(ctx: IngestContext, table: Table, updates: list[tuple[Item, dict]]) -> None:
    # executemany needs the same columns in every row: group rows by their column set.
    by_columns: dict[tuple[str, ...], list[dict]] = {}
    for item, values in updates:
        by_columns.setdefault(tuple(sorted(values)), []).append(
            {"_local_id": item.local_id, **values})
    for rows in by_columns.values():
        # No .values(): the SET clause comes from the parameter names, which match columns.
        statement = update(table).where(table.c.id == bindparam("_local_id"))
        ctx.session.execute(statement, rows)


def _newest_per_id(records: list, key_of) -> list:
    """One record per id: a batch may hold several versions of the same resource."""
    chosen: dict[str, object] = {}
    for record in records:
        key = key_of(record)
        current = chosen.get(key.resource_id)
        if current is None or _sort_key(key) >= _sort_key(key_of(current)):
            chosen[key.resource_id] = record
    return list(chosen.values())


def _sort_key(key) -> tuple:
    version = int(key.version_id) if key.version_id and key.version_id.isdigit() else -1
    return (key.last_updated.timestamp() if key.last_updated else 0.0, version)
