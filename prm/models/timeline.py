"""One timeline of everything that happened with a patient.

Every feature writes entries here through ``prm.timeline.record``; the 360° page
reads them with one query. ``kind`` decides the label and icon, ``data`` holds
the values the label needs, ``body`` is free text staff typed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from prm.models.types import UTCDateTime, utcnow


class TimelineEntry(SQLModel, table=True):
    __tablename__ = "timeline_entry"
    __table_args__ = (Index("ix_timeline_entry_patient_time", "patient_id", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    kind: str = Field(max_length=40)
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    body: str = Field(default="", max_length=4000)
    actor_user_id: int | None = Field(default=None, foreign_key="staff_user.id")
    ref_type: str = Field(default="", max_length=40)
    ref_id: int | None = None
