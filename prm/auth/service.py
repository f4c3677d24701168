"""Staff accounts, authentication with lock-out, and server-side sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, delete, select

from prm.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    verify_password,
)
from prm.config import Settings
from prm.errors import Conflict, ValidationFailed
from prm.i18n import _
from prm.models.staff import Role, User, UserSession
from prm.models.types import utcnow

# Refresh last_seen_at at most this often, so every page view is not a write.
_SEEN_RESOLUTION = timedelta(minutes=1)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session, *, username: str, role: Role, password: str, full_name: str = "",
    language: str = "th",
) -> User:
    """Create a staff account. Raises ValidationFailed or Conflict (username taken)."""
    username = username.strip().lower()
    errors = {}
    if not username or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        errors["username"] = _("Use letters, digits, dot, dash or underscore.")
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = _("At least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    if session.exec(select(User).where(User.username == username)).first():
        raise Conflict(_("That username is taken."), field_errors={"username": _("Taken.")})
    user = User(
        username=username, role=Role(role), password_hash=hash_password(password),
        full_name=full_name.strip(), language=language,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, *, user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            _("At least %(n)s characters.", n=MIN_PASSWORD_LENGTH),
            field_errors={"password": _("At least %(n)s characters.", n=MIN_PASSWORD_LENGTH)},
        )
    user.password_hash = hash_password(password)
    user.failed_login_count = 0
    user.locked_until = None
    session.add(user)
    # A new password ends every session opened with the old one.
    session.exec(delete(UserSession).where(UserSession.user_id == user.id))
    session.flush()


@dataclass
class LoginResult:
    user: User | None
    error: str = ""
    locked_seconds: int = 0


def authenticate(
    session: Session, *, username: str, password: str, settings: Settings,
    now: datetime | None = None,
) -> LoginResult:
    """Check a username and password, applying the lock-out policy.

    Returns LoginResult with ``user`` set on success; otherwise ``error`` says why in
    words a person can act on. A locked account is refused without checking the password.
    """
    now = now or utcnow()
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if user and user.locked_until and user.locked_until > now:
        seconds = int((user.locked_until - now).total_seconds()) + 1
        return LoginResult(None, _locked_message(seconds), seconds)
    if not verify_password(user.password_hash if user else None, password) or not (
        user and user.is_active
    ):
        if user:
            _register_failure(session, user, settings, now)
            if user.locked_until and user.locked_until > now:
                seconds = int((user.locked_until - now).total_seconds()) + 1
                return LoginResult(None, _locked_message(seconds), seconds)
        return LoginResult(None, _("Wrong username or password."))
    user.failed_login_count = 0
    user.locked_until = None
    user.last_login_at = now
    session.add(user)
    session.flush()
    return LoginResult(user)


def _locked_message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return _(
        "Too many failed attempts. This account is locked for %(minutes)s minute(s).",
        minutes=minutes,
    )


def _register_failure(session: Session, user: User, settings: Settings, now: datetime) -> None:
    user.failed_login_count += 1
    over = user.failed_login_count - settings.login_max_failures
    if over >= 0:
        delay = min(settings.login_lockout_cap_seconds, settings.login_lockout_seconds * 2**over)
        user.locked_until = now + timedelta(seconds=delay)
    session.add(user)
    session.flush()


def open_session(
    session: Session, *, user: User, settings: Settings, ip: str = "", user_agent: str = ""
) -> tuple[str, UserSession]:
    """Start a login session. Returns (cookie token, row); only the token's hash is stored."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = UserSession(
        token_hash=_token_hash(token), user_id=user.id, csrf_token=secrets.token_urlsafe(24),
        created_at=now, last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        ip=ip[:64], user_agent=user_agent[:300],
    )
    session.add(row)
    session.flush()
    return token, row


# Every request runs these: one read for the session and what a request needs of its
# user, as a plain row (no ORM objects to build).
_SESSION_ROW = (
    select(User.id, User.username, User.full_name, User.role, User.language,
           User.is_active, UserSession.last_seen_at, UserSession.expires_at)
    .join(UserSession, col(UserSession.user_id) == User.id)
    .where(UserSession.token_hash == bindparam("token_hash"))
)
_SEEN_NOW = (update(UserSession).where(col(UserSession.token_hash) == bindparam("seen_hash"))
             .values(last_seen_at=bindparam("seen_at")))


@dataclass(frozen=True, slots=True)
class StaffMember:
    """Who is logged in, as plain values: what routes, pages and audit rows need of them.
    Code that changes the account loads ``User`` by ``id``."""

    id: int
    username: str
    full_name: str
    role: str
    language: str


class ResolvedSession(NamedTuple):
    user: StaffMember
    token_hash: str
    seen_is_stale: bool  # last_seen_at is older than _SEEN_RESOLUTION: call mark_seen


def resolve_session(
    session: Session, *, token: str, settings: Settings
) -> ResolvedSession | None:
    """The user behind a cookie token, or None when unknown, expired, idle or deactivated.

    One query for the session and its user; nothing is written. ``last_seen_at`` moves
    forward at most once per ``_SEEN_RESOLUTION`` (``mark_seen``), so idle expiry is
    exact to within that and a page view is not a write.
    """
    if not token:
        return None
    token_hash = _token_hash(token)
    found = session.execute(_SESSION_ROW, {"token_hash": token_hash}).all()
    return _resolved(found, token_hash, settings)


def _resolved(found: list, token_hash: str, settings: Settings) -> ResolvedSession | None:
    if not found:
        return None
    row = found[0]
    now = utcnow()
    idle = now - row.last_seen_at > timedelta(minutes=settings.session_idle_minutes)
    if row.expires_at <= now or idle or not row.is_active:
        return None
    user = StaffMember(row.id, row.username, row.full_name, row.role, row.language)
    return ResolvedSession(user, token_hash, now - row.last_seen_at > _SEEN_RESOLUTION)


def mark_seen(session: Session, resolved: ResolvedSession) -> None:
    """Move the session's last_seen_at to now (the caller commits)."""
    session.execute(_SEEN_NOW, {"seen_hash": resolved.token_hash, "seen_at": utcnow()})


def set_language(session: Session, *, user_id: int, language: str) -> None:
    session.exec(update(User).where(col(User.id) == user_id).values(language=language))


def close_session(session: Session, *, token: str) -> None:
    session.exec(delete(UserSession).where(UserSession.token_hash == _token_hash(token)))
    session.flush()


def purge_expired_sessions(session: Session, *, settings: Settings) -> int:
    """Delete sessions past their absolute or idle limit. Returns how many."""
    now = utcnow()
    idle_cutoff = now - timedelta(minutes=settings.session_idle_minutes)
    result = session.exec(
        delete(UserSession).where(
            (UserSession.expires_at <= now) | (UserSession.last_seen_at < idle_cutoff)
        )
    )
    session.flush()
    return result.rowcount or 0


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.role, User.username)))


def set_active(session: Session, *, user: User, active: bool) -> None:
    user.is_active = active
    session.add(user)
    if not active:
        session.exec(delete(UserSession).where(UserSession.user_id == user.id))
    session.flush()
