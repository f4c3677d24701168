"""What one ingest call shares between its writers: the session, the server, the clock,
the counts, and what it could not take."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from prm.ingest.records import IngestSummary, QuarantineRecord


@dataclass
class IngestContext:
    session: Session
    tz: ZoneInfo
    now: datetime
    summary: IngestSummary = field(default_factory=IngestSummary)
    # Records PRM refused (e.g. a payer no segment rule knows); the caller quarantines them.
    rejected: list[QuarantineRecord] = field(default_factory=list)
    # Pending rows parked during this call, so releasing one moves it from "waiting"
    # to "imported" instead of counting it twice.
    parked_now: set[int] = field(default_factory=set)

    def reject(self, record, error: str) -> None:
        from prm.ingest.codec import encode

        key = record.key
        self.rejected.append(QuarantineRecord(
            server=key.server, origin=f"{key.resource_type}/{key.resource_id}", error=error,
            raw=encode(record), resource_type=key.resource_type, resource_id=key.resource_id))
        self.summary.counts(key.resource_type).quarantined += 1
