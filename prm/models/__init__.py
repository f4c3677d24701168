"""All table models, imported here so Alembic sees one metadata."""

from prm.models.audit import AuditAction, AuditEvent
from prm.models.care import (
    Appointment,
    AppointmentChange,
    AppointmentStatus,
    Clinic,
    Clinician,
    DispenseStatus,
    Encounter,
    EncounterClass,
    Interpretation,
    LabResult,
    MedicationDispense,
    MedicationOrder,
)
from prm.models.contact import (
    ContactChannel,
    ContactLog,
    ContactOutcome,
    ContactReason,
    PatientNote,
)
from prm.models.integration import (
    ImportCheckpoint,
    QuarantinedResource,
    SegmentRule,
    SourcePending,
    SourceRecord,
    SyncState,
)
from prm.models.patient import Channel, Coverage, Patient, Sex
from prm.models.segment import Segment
from prm.models.staff import Role, User, UserSession
from prm.models.timeline import TimelineEntry
from prm.models.worklist import (
    AttemptOutcome,
    FollowUpRule,
    ItemStatus,
    Priority,
    RuleSetting,
    WorklistAttempt,
    WorklistItem,
)

__all__ = [
    "Appointment",
    "AppointmentChange",
    "AppointmentStatus",
    "AttemptOutcome",
    "Clinic",
    "Clinician",
    "DispenseStatus",
    "Encounter",
    "EncounterClass",
    "FollowUpRule",
    "Interpretation",
    "ItemStatus",
    "LabResult",
    "MedicationDispense",
    "MedicationOrder",
    "Priority",
    "RuleSetting",
    "WorklistAttempt",
    "WorklistItem",
    "AuditAction",
    "AuditEvent",
    "Channel",
    "ContactChannel",
    "ContactLog",
    "ContactOutcome",
    "ContactReason",
    "Coverage",
    "ImportCheckpoint",
    "QuarantinedResource",
    "SegmentRule",
    "SourcePending",
    "SourceRecord",
    "SyncState",
    "Patient",
    "PatientNote",
    "Role",
    "Segment",
    "Sex",
    "TimelineEntry",
    "User",
    "UserSession",
]
