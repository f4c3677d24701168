"""Logging in and out, and changing one's password, as a request does it: the check,
the session and the audit row.

The rules (throttling, session lifetimes, one-time passwords) are in ``prm.auth.service``
and ``prm.auth.throttle``; this keeps every attempt, failed or not, in the audit log, so
routes only parse, call and set cookies.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from sqlmodel import Session

from prm.audit import service as audit
from prm.audit.service import Actor
from prm.auth import service
from prm.auth.service import StaffMember
from prm.config import Settings
from prm.i18n import normalise_language
from prm.models.audit import AuditAction
from prm.models.staff import User


class AccountEvent(StrEnum):
    """The ``detail`` of audit rows about an account (entity ``staff_user``), so the
    audit page can find them: who made or reset an account, and what it did next."""

    reset = "password reset"
    approved = "account approved"
    changed = "password changed"
    one_time_login = "one-time password used"


@dataclass(frozen=True)
class LoginOutcome:
    """``token`` is set when the login worked; otherwise ``error`` says why."""

    token: str = ""
    language: str = ""
    error: str = ""
    locked_seconds: int = 0
    must_change_password: bool = False


def log_in(session: Session, *, username: str, password: str, settings: Settings,
           anonymous: Actor) -> LoginOutcome:
    """Check the password and open a session; both outcomes are audited. ``anonymous``
    is who is asking, from where, before we know who they are. The caller commits."""
    result = service.authenticate(session, username=username, password=password,
                                  address=anonymous.ip, settings=settings)
    if result.user is None:
        audit.record(session, actor=anonymous, action=AuditAction.login_failed,
                     entity_type="staff_user", detail=_as_typed(username[:64]))
        return LoginOutcome(error=result.error, locked_seconds=result.locked_seconds)
    user = result.user
    actor = replace(anonymous, user_id=user.id, username=user.username)
    token, _row = service.open_session(session, user=user, settings=settings,
                                       ip=actor.ip, user_agent=actor.user_agent)
    audit.record(session, actor=actor, action=AuditAction.login, entity_type="staff_user",
                 entity_id=user.id,
                 detail=AccountEvent.one_time_login if user.must_change_password else "")
    # normalised: an account saved with a language PRM has no catalog for still logs in.
    return LoginOutcome(token=token, language=normalise_language(user.language),
                        must_change_password=user.must_change_password)


def _as_typed(text: str) -> str:
    """What was typed, for the log: escaped when it holds characters nobody types."""
    return text if text.isprintable() else repr(text)


def log_out(session: Session, *, token: str, user: StaffMember, actor: Actor) -> None:
    """End the session behind ``token`` and audit it. The caller commits."""
    service.close_session(session, token=token)
    audit.record(session, actor=actor, action=AuditAction.logout, entity_type="staff_user",
                 entity_id=user.id)


def change_password(session: Session, *, member: StaffMember, current: str, new: str,
                    confirm: str, token: str, actor: Actor) -> None:
    """The signed-in user's new password (``service.change_own_password``), audited.
    Raises ValidationFailed. The caller commits."""
    user = session.get(User, member.id)
    service.change_own_password(session, user=user, current=current, new=new,
                                confirm=confirm, token=token)
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="staff_user",
                 entity_id=user.id, detail=AccountEvent.changed)
