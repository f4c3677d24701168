"""Staff accounts as the administrator manages them: each change checked and audited.

The account rules themselves (username shape, password length, ending sessions) are in
``prm.auth.service``; this adds what an admin's action needs on top: a generated
password shown once, the audit row, and that nobody locks themselves out.
"""

from __future__ import annotations

from sqlmodel import Session

from prm.audit import service as audit
from prm.audit.service import Actor
from prm.auth import service as auth
from prm.auth.passwords import generate_password
from prm.auth.service import StaffMember
from prm.errors import NotFound, PrmError, ValidationFailed
from prm.i18n import LANGUAGES, _
from prm.models.audit import AuditAction
from prm.models.staff import Role, User


def get_staff(session: Session, user_id: int) -> User:
    """The account; raises NotFound."""
    target = session.get(User, user_id)
    if target is None:
        raise NotFound(_("No such user."))
    return target


def create_account(
    session: Session, *, username: str, full_name: str, role: str, language: str,
    actor: Actor,
) -> tuple[User, str]:
    """A new account with a generated password. Returns (user, password to show once).
    Raises ValidationFailed (unknown role, bad username) or Conflict (username taken)."""
    errors = {name: _("Choose one of the options.") for name, value, choices in (
        ("role", role, Role.__members__), ("language", language, LANGUAGES))
        if value not in choices}
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    password = generate_password()
    user = auth.create_user(session, username=username, role=Role(role), password=password,
                            full_name=full_name, language=language)
    audit.record(session, actor=actor, action=AuditAction.create, entity_type="staff_user",
                 entity_id=user.id)
    return user, password


def reset_password(session: Session, *, target: User, actor: Actor) -> str:
    """A new generated password (ends the account's sessions). Returns it, to show once."""
    password = generate_password()
    auth.set_password(session, user=target, password=password)
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="staff_user",
                 entity_id=target.id, detail="password reset")
    return password


def set_active(session: Session, *, target: User, active: bool, by: StaffMember,
               actor: Actor) -> None:
    """Switch an account on or off (off ends its sessions). Raises PrmError when an
    admin would deactivate their own account: nobody may be left without one."""
    if target.id == by.id and not active:
        raise PrmError(_("You cannot deactivate your own account."))
    auth.set_active(session, user=target, active=active)
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="staff_user",
                 entity_id=target.id, detail=f"active={'yes' if active else 'no'}")
