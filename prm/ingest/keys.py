"""Source keys: which (server, type, id) became which local row, at which version.

Loaded and saved a batch at a time (one query per chunk of ids), because imports
write tens of thousands of records a second.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, tuple_, update
from sqlmodel import Session

from prm.ingest.records import SourceKey
from prm.models.integration import SourceRecord
from prm.models.types import utcnow

CHUNK = 500  # ids per IN (…) list: well under SQLite's bound-parameter limit


@dataclass(slots=True)
class StoredKey:
    row_id: int
    version_id: str | None
    last_updated: datetime | None
    digest: str
    local_id: int | None
    deleted: bool
    resource_id: str = ""  # filled by ``for_local`` (``load`` keys its answer by it)


def digest(record) -> str:
    """A short fingerprint of a mapped record; equal fingerprints mean nothing changed."""
    return hashlib.blake2b(repr(record).encode(), digest_size=16).hexdigest()


def load(session: Session, server: str, resource_type: str,
         resource_ids: Iterable[str]) -> dict[str, StoredKey]:
    found: dict[str, StoredKey] = {}
    ids = list(dict.fromkeys(resource_ids))
    table = SourceRecord.__table__
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(table.c.resource_id, table.c.id, table.c.version_id, table.c.last_updated,
                   table.c.digest, table.c.local_id, table.c.deleted)
            .where(table.c.server == server, table.c.resource_type == resource_type,
                   table.c.resource_id.in_(ids[start:start + CHUNK]))
        )
        for resource_id, *rest in rows:
            found[resource_id] = StoredKey(*rest)
    return found


def for_local(session: Session, server: str, resource_type: str,
              local_id: int) -> StoredKey | None:
    """The key of the ``resource_type`` on ``server`` that stands for local row
    ``local_id`` (write-back: the Task kept for a worklist item), or None."""
    table = SourceRecord.__table__
    row = session.execute(
        select(table.c.id, table.c.version_id, table.c.last_updated, table.c.digest,
               table.c.local_id, table.c.deleted, table.c.resource_id)
        .where(table.c.server == server, table.c.resource_type == resource_type,
               table.c.local_id == local_id)
        .order_by(table.c.id).limit(1)
    ).first()
    return StoredKey(*row) if row else None


def local_ids(session: Session, server: str, references: Iterable[str]) -> dict[str, int]:
    """``"Type/id"`` → local row id, for references that are stored and not deleted."""
    pairs = sorted({tuple(ref.split("/", 1)) for ref in references if ref})
    table = SourceRecord.__table__
    found: dict[str, int] = {}
    for start in range(0, len(pairs), CHUNK):
        rows = session.execute(
            select(table.c.resource_type, table.c.resource_id, table.c.local_id)
            .where(table.c.server == server,
                   tuple_(table.c.resource_type, table.c.resource_id).in_(
                       pairs[start:start + CHUNK]),
                   table.c.local_id.is_not(None), table.c.deleted.is_(False))
        )
        for resource_type, resource_id, local_id in rows:
            found[f"{resource_type}/{resource_id}"] = local_id
    return found


def is_newer(key: SourceKey, stored: StoredKey) -> bool:
    """True when ``key`` may overwrite ``stored``: an older version never does."""
    if key.last_updated and stored.last_updated and key.last_updated != stored.last_updated:
        return key.last_updated > stored.last_updated
    if (key.version_id and stored.version_id and key.version_id != stored.version_id
            and key.version_id.isdigit() and stored.version_id.isdigit()):
        return int(key.version_id) > int(stored.version_id)
    return True  # same, opaque or unknown version: the digest decides what changed


def is_strictly_newer(key: SourceKey, stored: StoredKey) -> bool:
    """True only when the versions prove ``key`` came later: what a deleted record needs
    before it may come back (re-reading an old file must not undo a delete)."""
    if key.last_updated and stored.last_updated and key.last_updated != stored.last_updated:
        return key.last_updated > stored.last_updated
    if (key.version_id and stored.version_id and key.version_id.isdigit()
            and stored.version_id.isdigit()):
        return int(key.version_id) > int(stored.version_id)
    return False


def save(session: Session, written: list[tuple[SourceKey, str, int | None, bool]],
         stored: dict[str, StoredKey]) -> None:
    """Insert or update the key rows for ``(key, digest, local_id, deleted)`` tuples."""
    now = utcnow()
    new_rows, changed_rows = [], []
    for key, fingerprint, local_id, deleted in written:
        values = {"version_id": key.version_id, "last_updated": key.last_updated,
                  "digest": fingerprint, "local_id": local_id, "deleted": deleted,
                  "updated_at": now}
        previous = stored.get(key.resource_id)
        if previous is None:
            new_rows.append({"server": key.server, "resource_type": key.resource_type,
                             "resource_id": key.resource_id, **values})
        else:
            changed_rows.append({"row_id": previous.row_id, **values})
    table = SourceRecord.__table__
    if new_rows:
        session.execute(insert(table), new_rows)
    if changed_rows:
        session.execute(
            update(table).where(table.c.id == bindparam("row_id")).values(
                {name: bindparam(name) for name in changed_rows[0] if name != "row_id"}),
            changed_rows,
        )
