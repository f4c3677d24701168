"""Contacts with a patient (calls, walk-ins, LINE) and staff notes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from prm.models.types import UTCDateTime, utcnow


class ContactChannel(StrEnum):
    phone_in = "phone_in"
    phone_out = "phone_out"
    walk_in = "walk_in"
    line = "line"
    other = "other"


class ContactReason(StrEnum):
    appointment = "appointment"
    result_question = "result_question"
    disease_information = "disease_information"
    medication = "medication"
    billing = "billing"
    complaint = "complaint"
    follow_up = "follow_up"
    other = "other"


class ContactOutcome(StrEnum):
    answered = "answered"
    reached = "reached"
    no_answer = "no_answer"
    wrong_number = "wrong_number"
    appointment_booked = "appointment_booked"
    call_back_later = "call_back_later"
    referred = "referred"
    other = "other"


class ContactLog(SQLModel, table=True):
    __tablename__ = "contact_log"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True, ondelete="CASCADE")
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    channel: ContactChannel = Field(sa_type=String(20))
    reason: ContactReason = Field(sa_type=String(30))
    outcome: ContactOutcome = Field(sa_type=String(30))
    note: str = Field(default="", max_length=4000)
    staff_user_id: int | None = Field(default=None, foreign_key="staff_user.id")
    # The appointment a call ended with, for call-to-appointment conversion.
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id")


class PatientNote(SQLModel, table=True):
    __tablename__ = "patient_note"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    text: str = Field(max_length=4000)
    author_user_id: int | None = Field(default=None, foreign_key="staff_user.id")
