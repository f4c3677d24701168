"""Staff accounts and their server-side login sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from prm.models.types import UTCDateTime, utcnow


class Role(StrEnum):
    front_desk = "front_desk"
    nurse = "nurse"
    quality = "quality"
    admin = "admin"


class User(SQLModel, table=True):
    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    full_name: str = Field(default="", max_length=200)
    role: Role = Field(sa_type=String(20))
    password_hash: str = Field(max_length=255)
    language: str = Field(default="th", max_length=8)
    is_active: bool = Field(default=True)
    # An administrator set the password (new account, reset): it opens one session, in
    # which the user can do nothing but choose their own (prm.auth.deps.current_user).
    must_change_password: bool = Field(default=False)
    one_time_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Made by an administrator (None: by the command line). Such an account stays
    # inactive until another administrator approves it (prm.admin.service).
    created_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    awaiting_approval: bool = Field(default=False)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UserSession(SQLModel, table=True):
    """A logged-in browser. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "user_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="staff_user.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)


class LoginThrottle(SQLModel, table=True):
    """Failed logins counted per key (prm.auth.throttle): an address, or an account
    typed from an address. The key is a keyed hash, so neither what was typed as a
    username (sometimes a password) nor the address is stored in clear."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=64)
    failures: int = Field(default=0)
    window_started_at: datetime = Field(sa_type=UTCDateTime)
    blocked_until: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
