"""The one entry point for records from the hospital's systems: ``ingest()``.

Idempotent: records are upserted by their (server, type, id) key; an older version
never overwrites a newer one; an unchanged record writes nothing. References resolve
whatever order records arrive in (a record waits in ``source_pending`` until what it
refers to arrives). The caller owns the transaction: commit after ``ingest`` returns.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from prm.ingest import keys, pending
from prm.ingest.care import (
    AppointmentWriter,
    EncounterWriter,
    LabReportWriter,
    LabResultWriter,
    MedicationDispenseWriter,
    MedicationOrderWriter,
    OrganizationWriter,
    PractitionerWriter,
)
from prm.ingest.context import IngestContext
from prm.ingest.patients import CoverageWriter, PatientWriter
from prm.ingest.records import (
    RECORD_ORDER,
    AppointmentRecord,
    CoverageRecord,
    DeletedRecord,
    EncounterRecord,
    LabReportRecord,
    LabResultRecord,
    MedicationDispenseRecord,
    MedicationOrderRecord,
    OrganizationRecord,
    PatientRecord,
    PractitionerRecord,
)
from prm.ingest.writer import Writer
from prm.models.types import utcnow

WRITER_CLASSES: dict[type, type[Writer]] = {
    OrganizationRecord: OrganizationWriter, PractitionerRecord: PractitionerWriter,
    PatientRecord: PatientWriter, CoverageRecord: CoverageWriter,
    EncounterRecord: EncounterWriter, AppointmentRecord: AppointmentWriter,
    MedicationOrderRecord: MedicationOrderWriter,
    MedicationDispenseRecord: MedicationDispenseWriter, LabResultRecord: LabResultWriter,
    LabReportRecord: LabReportWriter,
}
# Which writer owns the local rows of a deleted source resource.
WRITER_BY_RESOURCE_TYPE: dict[str, type] = {
    "Organization": OrganizationRecord, "Practitioner": PractitionerRecord,
    "Patient": PatientRecord, "Coverage": CoverageRecord, "Encounter": EncounterRecord,
    "Appointment": AppointmentRecord, "MedicationRequest": MedicationOrderRecord,
    "MedicationDispense": MedicationDispenseRecord, "Observation": LabResultRecord,
    "DiagnosticReport": LabReportRecord,
}


def ingest(session: Session, records: list, *, tz: ZoneInfo,
           now: datetime | None = None) -> IngestContext:
    """Write ``records``; returns the context with counts per resource type and the
    records refused by a rule (``ctx.rejected``, for the caller to quarantine)."""
    ctx = IngestContext(session=session, tz=tz, now=now or utcnow())
    writers = {cls: writer() for cls, writer in WRITER_CLASSES.items()}
    _write(ctx, writers, records)
    return ctx


def _write(ctx: IngestContext, writers: dict, records: list) -> None:
    groups: dict[tuple, list] = defaultdict(list)
    for record in records:
        key = record.key
        groups[(RECORD_ORDER.index(type(record)), key.server, key.resource_type)].append(
            record)
    for (_order, server, _type), group in sorted(groups.items()):
        if isinstance(group[0], DeletedRecord):
            _delete(ctx, writers, group)
            continue
        written = writers[type(group[0])].write_group(ctx, group)
        if written:
            _release_waiting(ctx, writers, server,
                             [item.record.key.reference for item in written])


def _release_waiting(ctx: IngestContext, writers: dict, server: str,
                     references: list[str]) -> None:
    parked_now, parked_earlier = pending.release(ctx, server, references)
    if parked_now:
        _write(ctx, writers, parked_now)
    if parked_earlier:
        # Written now, but read by an earlier import: counted as "linked", not imported.
        earlier = IngestContext(session=ctx.session, tz=ctx.tz, now=ctx.now)
        _write(earlier, writers, parked_earlier)
        for resource_type, counts in earlier.summary.by_type.items():
            ctx.summary.counts(resource_type).linked += counts.imported
        ctx.rejected.extend(earlier.rejected)


def _delete(ctx: IngestContext, writers: dict, group: list[DeletedRecord]) -> None:
    server, resource_type = group[0].key.server, group[0].key.resource_type
    counts = ctx.summary.counts(resource_type)
    stored = keys.load(ctx.session, server, resource_type, (r.key.resource_id for r in group))
    record_type = WRITER_BY_RESOURCE_TYPE.get(resource_type)
    # A record still waiting for what it refers to must not appear once that arrives.
    dropped = pending.discard(ctx, server, resource_type,
                              [r.key.resource_id for r in group])
    applied, local_ids = [], []
    for record in group:
        previous = stored.get(record.key.resource_id)
        if previous is None and record.key.resource_id in dropped:
            counts.imported += 1
            continue
        if previous is None or previous.deleted or not keys.is_newer(record.key, previous):
            counts.unchanged += 1
            continue
        # A delete without version information keeps the version it deleted, so only a
        # provably later version of the resource can bring it back.
        applied.append((_versioned(record.key, previous), "", None, True))
        if previous.local_id is not None:
            local_ids.append(previous.local_id)
    if local_ids and record_type is not None:
        writers[record_type].delete(ctx, local_ids)
    keys.save(ctx.session, applied, stored)
    counts.imported += len(applied)


def _versioned(key, previous: keys.StoredKey):
    if key.version_id or key.last_updated:
        return key
    return replace(key, version_id=previous.version_id, last_updated=previous.last_updated)
