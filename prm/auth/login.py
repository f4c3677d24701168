"""Logging in and out as a request does it: the check, the session and the audit row.

The rules (lock-out, session lifetimes) are in ``prm.auth.service``; this keeps every
attempt, failed or not, in the audit log, so routes only parse, call and set cookies.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlmodel import Session

from prm.audit import service as audit
from prm.audit.service import Actor
from prm.auth import service
from prm.auth.service import StaffMember
from prm.config import Settings
from prm.i18n import normalise_language
from prm.models.audit import AuditAction


@dataclass(frozen=True)
class LoginOutcome:
    """``token`` is set when the login worked; otherwise ``error`` says why."""

    token: str = ""
    language: str = ""
    error: str = ""
    locked_seconds: int = 0


def log_in(session: Session, *, username: str, password: str, settings: Settings,
           anonymous: Actor) -> LoginOutcome:
    """Check the password and open a session; both outcomes are audited. ``anonymous``
    is who is asking, from where, before we know who they are. The caller commits."""
    result = service.authenticate(session, username=username, password=password,
                                  settings=settings)
    if result.user is None:
        audit.record(session, actor=anonymous, action=AuditAction.login_failed,
                     entity_type="staff_user", detail=username[:64])
        return LoginOutcome(error=result.error, locked_seconds=result.locked_seconds)
    actor = replace(anonymous, user_id=result.user.id, username=result.user.username)
    token, _row = service.open_session(session, user=result.user, settings=settings,
                                       ip=actor.ip, user_agent=actor.user_agent)
    audit.record(session, actor=actor, action=AuditAction.login, entity_type="staff_user",
                 entity_id=result.user.id)
    # normalised: an account saved with a language PRM has no catalog for still logs in.
    return LoginOutcome(token=token, language=normalise_language(result.user.language))


def log_out(session: Session, *, token: str, user: StaffMember, actor: Actor) -> None:
    """End the session behind ``token`` and audit it. The caller commits."""
    service.close_session(session, token=token)
    audit.record(session, actor=actor, action=AuditAction.logout, entity_type="staff_user",
                 entity_id=user.id)
