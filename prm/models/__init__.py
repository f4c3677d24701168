"""All table models, imported here so Alembic sees one metadata."""

from prm.models.audit import AuditAction, AuditEvent
from prm.models.contact import (
    ContactChannel,
    ContactLog,
    ContactOutcome,
    ContactReason,
    PatientNote,
)
from prm.models.patient import Channel, Coverage, Patient, Sex
from prm.models.segment import Segment
from prm.models.staff import Role, User, UserSession
from prm.models.timeline import TimelineEntry

__all__ = [
    "AuditAction",
    "AuditEvent",
    "Channel",
    "ContactChannel",
    "ContactLog",
    "ContactOutcome",
    "ContactReason",
    "Coverage",
    "Patient",
    "PatientNote",
    "Role",
    "Segment",
    "Sex",
    "TimelineEntry",
    "User",
    "UserSession",
]
