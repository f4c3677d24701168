"""The audit log: who viewed, changed or exported what, when, from where."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from prm.models.types import UTCDateTime, utcnow


class AuditAction(StrEnum):
    view = "view"
    create = "create"
    update = "update"
    export = "export"
    search = "search"
    listing = "listing"  # a list of patients looked at: a worklist, a clinic's day
    login = "login"
    login_failed = "login_failed"
    logout = "logout"


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    user_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    username: str = Field(default="", max_length=64)
    action: AuditAction = Field(sa_type=String(20), index=True)
    entity_type: str = Field(default="", max_length=40)
    entity_id: str = Field(default="", max_length=64)
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)
    request_id: str = Field(default="", max_length=40)
    detail: str = Field(default="", max_length=500)
