"""Staff accounts, authentication with lock-out, and server-side sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, delete, select

from prm.auth import throttle
from prm.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    verify_password,
)
from prm.config import Settings
from prm.errors import Conflict, ValidationFailed
from prm.i18n import _, ngettext
from prm.models.staff import Role, User, UserSession
from prm.models.types import utcnow

USERNAME_LIMIT = User.__table__.c.username.type.length
# Refresh last_seen_at at most this often, so every page view is not a write.
_SEEN_RESOLUTION = timedelta(minutes=1)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session, *, username: str, role: Role, password: str, full_name: str = "",
    language: str = "th", one_time: bool = False,
) -> User:
    """Create a staff account; ``one_time`` as for ``set_password``. Raises
    ValidationFailed or Conflict (username taken)."""
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
        full_name=full_name.strip(), language=language, must_change_password=one_time,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, *, user: User, password: str, one_time: bool = False,
                 keep_token: str = "") -> None:
    """Set ``user``'s password and end their sessions, except the one behind
    ``keep_token`` (the browser that changed it). ``one_time``: an administrator chose
    it, so it opens one session, in which the user must choose their own.
    Raises ValidationFailed (too short)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        message = _("At least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
        raise ValidationFailed(message, field_errors={"password": message})
    user.password_hash = hash_password(password)
    user.must_change_password = one_time
    user.one_time_login_at = None
    session.add(user)
    # A new password ends every session opened with the old one.
    session.exec(delete(UserSession).where(UserSession.user_id == user.id,
                                           UserSession.token_hash != _token_hash(keep_token)))
    session.flush()


def change_own_password(session: Session, *, user: User, current: str, new: str,
                        confirm: str, token: str) -> None:
    """The user replaces their password: ``current`` must be it, ``new`` long enough,
    different from it and typed twice alike. Ends their other sessions, keeps the one
    behind ``token``. Raises ValidationFailed with the field at fault."""
    errors = {}
    if not verify_password(user.password_hash, current):
        errors["current_password"] = _("That is not your current password.")
    if len(new) < MIN_PASSWORD_LENGTH:
        errors["new_password"] = _("At least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
    elif new == current:
        errors["new_password"] = _("Choose a password different from the current one.")
    if new != confirm:
        errors["confirm_password"] = _("The two new passwords are not the same.")
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    set_password(session, user=user, password=new, keep_token=token)


@dataclass
class LoginResult:
    """``user`` is set when the login worked; otherwise ``error`` says why, and
    ``locked_seconds`` how long the attempt is throttled (0: it is not)."""

    user: User | None
    error: str = ""
    locked_seconds: int = 0


def authenticate(
    session: Session, *, username: str, password: str, address: str, settings: Settings,
    now: datetime | None = None,
) -> LoginResult:
    """Check a username and password typed from ``address`` (see ``prm.auth.throttle``).

    A refusal is the same, in answer and in work, whether the account is unknown,
    inactive or throttled, or the password wrong: the password is always checked
    (against a dummy hash for an unknown name) and both counters counted unless the
    attempt was blocked already. Only someone who typed the right password learns more:
    that an administrator's one-time password was used already.
    """
    now = now or utcnow()
    username = username.strip().lower()
    keys = throttle.keys_for(username=username, address=address, settings=settings)
    waiting = throttle.blocked_seconds(session, keys=keys, now=now)
    # A name no account can have (a NUL, which PostgreSQL cannot even compare) is looked
    # up as nobody, and still costs the same password check.
    possible = username.isprintable() and len(username) <= USERNAME_LIMIT
    user = session.exec(select(User).where(User.username == username)).first() if (
        possible) else None
    matches = verify_password(user.password_hash if user else None, password)
    accepted = bool(matches and user and user.is_active and not waiting)
    if accepted and not _one_time_spent(user):
        return _logged_in(session, user=user, keys=keys, now=now)
    # Attempts while blocked are not counted: the block runs its course, not longer.
    locked = waiting or throttle.register_failure(session, keys=keys, settings=settings,
                                                  now=now)
    if locked:
        return LoginResult(None, _locked_message(locked), locked)
    if accepted:
        return LoginResult(None, _("This password has been used once already. Ask an "
                                   "administrator for a new one."))
    return LoginResult(None, _("Wrong username or password."))


def _one_time_spent(user: User) -> bool:
    return user.must_change_password and user.one_time_login_at is not None


def _logged_in(session: Session, *, user: User, keys: throttle.Keys,
               now: datetime) -> LoginResult:
    user.last_login_at = now
    if user.must_change_password:
        user.one_time_login_at = now  # its one session: it logs in no more
    session.add(user)
    throttle.forget_pair(session, keys=keys)
    session.flush()
    return LoginResult(user)


def _locked_message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return ngettext("Too many failed attempts from this computer. Try again in %(num)s "
                    "minute.",
                    "Too many failed attempts from this computer. Try again in %(num)s "
                    "minutes.", minutes)


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
           User.must_change_password, User.is_active, UserSession.last_seen_at,
           UserSession.expires_at)
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
    must_change_password: bool = False  # may only choose a password (prm.auth.deps)


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
    user = StaffMember(row.id, row.username, row.full_name, row.role, row.language,
                       row.must_change_password)
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
