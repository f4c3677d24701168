"""Follow-up worklists: items the rules create, the attempts staff make, rule settings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field, SQLModel

from prm.models.types import UTCDateTime, utcnow


class FollowUpRule(StrEnum):
    missed_pickup = "missed_pickup"
    abnormal_lab = "abnormal_lab"
    no_show = "no_show"
    discharge_call = "discharge_call"
    discharge_appointment = "discharge_appointment"
    lapsed_return = "lapsed_return"
    # Made by what patients answer (prm.messaging), not by a rule's scan.
    reschedule_request = "reschedule_request"
    message_reply = "message_reply"


class ItemStatus(StrEnum):
    open = "open"
    snoozed = "snoozed"
    closed = "closed"


class Priority(StrEnum):
    critical = "1_critical"
    high = "2_high"
    normal = "3_normal"
    low = "4_low"


class AttemptOutcome(StrEnum):
    reached = "reached"
    no_answer = "no_answer"
    wrong_number = "wrong_number"
    agreed_to_visit = "agreed_to_visit"
    rebooked = "rebooked"
    refused = "refused"
    moved_elsewhere = "moved_elsewhere"
    deceased = "deceased"
    call_back_later = "call_back_later"


class WorklistItem(SQLModel, table=True):
    __tablename__ = "worklist_item"
    __table_args__ = (
        Index("ix_worklist_item_queue", "status", "rule", "priority", "due_at"),
        Index("ix_worklist_item_today", "status", "priority", "due_at"),
        Index("ix_worklist_item_patient", "patient_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule: FollowUpRule = Field(sa_type=String(24))
    # What caused the item ("lab_result:42"); one item per rule and cause, ever.
    cause_key: str = Field(sa_column=Column(String(80), unique=True, nullable=False))
    cause_id: int = Field(default=0)  # id of the lab result, order, appointment… behind it
    patient_id: int = Field(foreign_key="patient.id")
    segment_code: str = Field(foreign_key="segment.code", max_length=40)
    clinic_id: int | None = Field(default=None, foreign_key="clinic.id")
    priority: Priority = Field(default=Priority.normal, sa_type=String(12))
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: ItemStatus = Field(default=ItemStatus.open, sa_type=String(10))
    claimed_by_user_id: int | None = Field(default=None, foreign_key="staff_user.id")
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    close_reason: str = Field(default="", max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WorklistAttempt(SQLModel, table=True):
    __tablename__ = "worklist_attempt"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="worklist_item.id", index=True, ondelete="CASCADE")
    patient_id: int = Field(foreign_key="patient.id", index=True)
    attempted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    outcome: AttemptOutcome = Field(sa_type=String(20))
    note: str = Field(default="", max_length=2000)
    new_appointment_id: int | None = Field(default=None, foreign_key="appointment.id")
    call_back_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    staff_user_id: int | None = Field(default=None, foreign_key="staff_user.id")


class RuleSetting(SQLModel, table=True):
    """What admins tune per rule: on/off, thresholds, which payer segments it serves."""

    __tablename__ = "rule_setting"

    rule: str = Field(primary_key=True, max_length=24)
    enabled: bool = Field(default=True)
    threshold: int = Field(default=3)  # days, or hours for discharge calls
    # After no answer or a wrong number the item stays off the lists this long, so a
    # colleague does not call again a minute later.
    retry_minutes: int = Field(default=120)
    # Empty list = every segment.
    segments: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
