"""What PRM keeps about records that come from the hospital's systems: which source
record each local row came from (and at which version), records waiting for a
reference to arrive, the quarantine, sync watermarks, import checkpoints, and the
admin-editable rules that turn a payer into a segment."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from prm.models.types import UTCDateTime, utcnow


class SourceRecord(SQLModel, table=True):
    """One source resource, keyed by (server, type, id), and the local row it became."""

    __tablename__ = "source_record"
    __table_args__ = (
        UniqueConstraint("server", "resource_type", "resource_id",
                         name="uq_source_record_key"),
        Index("ix_source_record_local", "resource_type", "local_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    server: str = Field(max_length=120)
    resource_type: str = Field(max_length=40)
    resource_id: str = Field(max_length=64)
    version_id: str | None = Field(default=None, max_length=40)
    last_updated: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Digest of the mapped record: re-reading an unchanged resource writes nothing.
    digest: str = Field(default="", max_length=32)
    local_id: int | None = None
    deleted: bool = Field(default=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SourcePending(SQLModel, table=True):
    """A record kept until the record it refers to arrives (e.g. a lab result that came
    before its patient)."""

    __tablename__ = "source_pending"
    __table_args__ = (Index("ix_source_pending_waiting", "server", "waiting_for"),)

    id: int | None = Field(default=None, primary_key=True)
    server: str = Field(max_length=120)
    resource_type: str = Field(max_length=40)
    resource_id: str = Field(max_length=64)
    waiting_for: str = Field(max_length=120)  # "Patient/123"
    record: str = Field(sa_column=Column(Text, nullable=False))  # JSON of the record
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class QuarantineStatus(StrEnum):
    open = "open"
    resolved = "resolved"
    dismissed = "dismissed"


class QuarantinedResource(SQLModel, table=True):
    """A resource that could not be read or mapped, with its raw text and the error."""

    __tablename__ = "fhir_quarantine"
    __table_args__ = (
        Index("ix_fhir_quarantine_status_created", "status", "created_at"),
        Index("ix_fhir_quarantine_key", "server", "resource_type", "resource_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    server: str = Field(max_length=120)
    origin: str = Field(max_length=500)  # file and line, or URL
    resource_type: str = Field(default="", max_length=40)
    resource_id: str = Field(default="", max_length=64)
    error: str = Field(sa_column=Column(Text, nullable=False))
    raw: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=QuarantineStatus.open, sa_type=String(12))
    attempts: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_tried_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SyncState(SQLModel, table=True):
    """Per server and resource type: how far the incremental pull has got."""

    __tablename__ = "fhir_sync_state"
    __table_args__ = (UniqueConstraint("server", "resource_type",
                                       name="uq_fhir_sync_state_key"),)

    id: int | None = Field(default=None, primary_key=True)
    server: str = Field(max_length=120)
    resource_type: str = Field(max_length=40)
    # Highest meta.lastUpdated seen in a completed pull; the next one starts there
    # minus an overlap window, since servers commit out of order.
    watermark: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    last_count: int = Field(default=0)


class ImportCheckpoint(SQLModel, table=True):
    """How far an import got through one input file, committed with the data it
    covers, so a crashed import resumes where it stopped."""

    __tablename__ = "fhir_import_checkpoint"
    __table_args__ = (UniqueConstraint("file_key", name="uq_fhir_import_checkpoint_file"),)

    id: int | None = Field(default=None, primary_key=True)
    # Path + size + modification time: a changed file starts again.
    file_key: str = Field(max_length=600)
    byte_offset: int = Field(default=0)
    lines_done: int = Field(default=0)
    finished: bool = Field(default=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SegmentRuleKind(StrEnum):
    code = "code"  # a coverage type/class code, "system|code" or "*|code"
    payor = "payor"  # a payor identifier, "system|value" or "*|value"
    payor_name = "payor_name"  # words in the payor's name (case-insensitive)


class SegmentRule(SQLModel, table=True):
    """Admin-editable: a coverage matching ``pattern`` puts the patient in ``segment``.
    Rules are tried by ``position``; the first match wins."""

    __tablename__ = "segment_rule"

    id: int | None = Field(default=None, primary_key=True)
    position: int = Field(default=100)
    kind: str = Field(max_length=12)
    pattern: str = Field(max_length=200)
    segment_code: str = Field(foreign_key="segment.code", max_length=40)
    note: str = Field(default="", max_length=300)
    active: bool = Field(default=True)


class NotificationStatus(StrEnum):
    pending = "pending"  # waiting for the worker (new, or failed and due again later)
    done = "done"
    failed = "failed"  # given up after the last attempt; kept for the integrator


class FhirNotification(SQLModel, table=True):
    """A rest-hook notification as received, waiting for the worker (the web process
    never acts on one: it only records it)."""

    __tablename__ = "fhir_notification"
    __table_args__ = (
        # While a notification waits, the same work arriving again is the same row. The
        # key is cleared when the row is finished, so a later notification of the same
        # change (a reference-only one looks the same every time) is acted on again.
        UniqueConstraint("waiting_key", name="uq_fhir_notification_waiting_key"),
        Index("ix_fhir_notification_status_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    waiting_key: str | None = Field(default=None, max_length=64)
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=NotificationStatus.pending, sa_type=String(12))
    attempts: int = Field(default=0)
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
