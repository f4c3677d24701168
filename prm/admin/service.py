"""Staff accounts as the administrator manages them: each change checked and audited.

The account rules themselves (username shape, password length, ending sessions) are in
``prm.auth.service``; this adds what an admin's action needs on top: a generated
one-time password shown once, the audit row, and that nobody locks themselves out.
An administrator may not open patient records, but knows the one-time password of each
account they make: so it works for one session, which can only replace it, and the
audit page lists every account made or reset with what it opened first
(``account_events``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from prm.audit import service as audit
from prm.audit.service import Actor, AuditRow
from prm.auth import service as auth
from prm.auth.login import AccountEvent
from prm.auth.passwords import generate_password
from prm.auth.service import StaffMember
from prm.errors import Conflict, Forbidden, NotFound, PrmError, ValidationFailed
from prm.i18n import LANGUAGES, _
from prm.models.audit import AuditAction, AuditEvent
from prm.models.staff import Role, User
from prm.roles import Permission, role_may


def get_staff(session: Session, user_id: int) -> User:
    """The account; raises NotFound."""
    target = session.get(User, user_id)
    if target is None:
        raise NotFound(_("No such user."))
    return target


def needs_approval(role: Role | str) -> bool:
    """Accounts that can open patient records, or approve accounts: otherwise an
    administrator would make a second administrator to approve their own nurse."""
    return role_may(role, Permission.patient_view) or role_may(role, Permission.users_manage)


def create_account(
    session: Session, *, username: str, full_name: str, role: str, language: str,
    by: StaffMember, actor: Actor,
) -> tuple[User, str]:
    """A new account with a generated one-time password. Returns (user, password to
    show once). One that ``needs_approval`` stays inactive until another administrator
    approves it (``approve``). Raises ValidationFailed (unknown role or language, bad
    username) or Conflict (username taken)."""
    errors = {name: _("Choose one of the options.") for name, value, choices in (
        ("role", role, Role.__members__), ("language", language, LANGUAGES))
        if value not in choices}
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    password = generate_password()
    user = auth.create_user(session, username=username, role=Role(role), password=password,
                            full_name=full_name, language=language, one_time=True)
    user.created_by_id = by.id
    if needs_approval(user.role):
        user.is_active, user.awaiting_approval = False, True
    session.add(user)
    audit.record(session, actor=actor, action=AuditAction.create, entity_type="staff_user",
                 entity_id=user.id)
    return user, password


def approve(session: Session, *, target: User, by: StaffMember, actor: Actor) -> None:
    """Another administrator than its maker switches a new account on. Raises Conflict
    (nothing to approve) or Forbidden (``by`` made it)."""
    if not target.awaiting_approval:
        raise Conflict(_("This account is not waiting for approval."))
    if target.created_by_id == by.id:
        raise Forbidden(_("Another administrator must approve an account you created."))
    target.awaiting_approval = False
    auth.set_active(session, user=target, active=True)
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="staff_user",
                 entity_id=target.id, detail=AccountEvent.approved)


def reset_password(session: Session, *, target: User, actor: Actor) -> str:
    """A new generated one-time password (ends the account's sessions). Returns it, to
    show once."""
    password = generate_password()
    auth.set_password(session, user=target, password=password, one_time=True)
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="staff_user",
                 entity_id=target.id, detail=AccountEvent.reset)
    return password


def set_active(session: Session, *, target: User, active: bool, by: StaffMember,
               actor: Actor) -> None:
    """Switch an account on or off (off ends its sessions). Raises PrmError when an
    admin would deactivate their own account (nobody may be left without one) or switch
    on one waiting for approval (that is ``approve``, by another administrator)."""
    if target.id == by.id and not active:
        raise PrmError(_("You cannot deactivate your own account."))
    if target.awaiting_approval and active:
        raise PrmError(_("This account is waiting for another administrator's approval."))
    auth.set_active(session, user=target, active=active)
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="staff_user",
                 entity_id=target.id, detail=f"active={'yes' if active else 'no'}")


# --- accounts made or reset, and what they opened first --------------------------------

FIRST_VIEWS = 5


@dataclass(frozen=True)
class IssuedAccount:
    """An account an administrator made or reset (``event``, its audit row), with the
    account's first login and first patient views after it, until the next such event."""

    event: AuditEvent
    account: User | None
    approval: AuditEvent | None
    first_login: AuditEvent | None
    first_views: list[AuditRow]  # each with the patient opened (HN and name)

    @property
    def was_reset(self) -> bool:
        return self.event.action == AuditAction.update


def account_events(session: Session, *, limit: int = 50) -> list[IssuedAccount]:
    """The latest ``limit`` accounts created or reset, newest first, each with what the
    account did next: a security officer sees an account an administrator made (and so
    knew the password of) being used to read records."""
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "staff_user",
               (col(AuditEvent.action) == AuditAction.create)
               | ((col(AuditEvent.action) == AuditAction.update)
                  & (col(AuditEvent.detail) == AccountEvent.reset)))
        .order_by(col(AuditEvent.id).desc()).limit(limit)).all()
    later: dict[str, int] = {}  # account → id of its next event (newer, listed first)
    issued = []
    for event in events:
        issued.append(_issued(session, event, until_id=later.get(event.entity_id)))
        later[event.entity_id] = event.id
    return issued


def _issued(session: Session, event: AuditEvent, *, until_id: int | None) -> IssuedAccount:
    account = session.get(User, int(event.entity_id)) if event.entity_id.isdigit() else None
    if account is None:
        return IssuedAccount(event, None, None, None, [])
    by_account = [col(AuditEvent.id) > event.id, AuditEvent.user_id == account.id]
    if until_id is not None:
        by_account.append(col(AuditEvent.id) < until_id)
    first_login = session.exec(select(AuditEvent).where(
        *by_account, AuditEvent.action == AuditAction.login)
        .order_by(col(AuditEvent.id)).limit(1)).first()
    views = audit.rows_naming_patients(
        session, *by_account, AuditEvent.action == AuditAction.view,
        col(AuditEvent.patient_id).is_not(None), newest_first=False, limit=FIRST_VIEWS)
    return IssuedAccount(event, account, _approval(session, event), first_login, views)


def _approval(session: Session, created: AuditEvent) -> AuditEvent | None:
    """Who approved the account ``created`` made (a reset needs no approval)."""
    if created.action != AuditAction.create:
        return None
    return session.exec(select(AuditEvent).where(
        col(AuditEvent.id) > created.id, AuditEvent.entity_type == "staff_user",
        AuditEvent.entity_id == created.entity_id, AuditEvent.detail == AccountEvent.approved,
    ).order_by(col(AuditEvent.id)).limit(1)).first()
