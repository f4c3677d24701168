"""Administration: staff accounts and the audit log."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request

from prm.admin import service as accounts
from prm.audit import service as audit
from prm.auth import service as auth
from prm.auth.deps import actor_for, require
from prm.auth.service import StaffMember
from prm.db import SessionDep
from prm.errors import PrmError
from prm.i18n import LANGUAGES
from prm.models.audit import AuditAction
from prm.roles import Permission, role_labels
from prm.web import htmx
from prm.web.templating import render

router = APIRouter(prefix="/admin")
Admin = Annotated[StaffMember, require(Permission.users_manage)]
Auditor = Annotated[StaffMember, require(Permission.audit_view)]
PAGE_SIZE = 100


@router.get("")
def admin_home(request: Request, user: Admin):
    return htmx.redirect(request, "/admin/users")


def _users_page(request, session, status: int = 200, **extra):
    context = {"users": auth.list_users(session), "role_options": list(role_labels().items()),
               "languages": LANGUAGES,
               "form": {}, "errors": {}, **extra}
    return render(request, "admin/users.html", context, status=status)


@router.get("/users")
def users(request: Request, session: SessionDep, user: Admin):
    return _users_page(request, session)


@router.post("/users")
def create_user(
    request: Request, session: SessionDep, user: Admin,
    username: Annotated[str, Form()] = "", full_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "", language: Annotated[str, Form()] = "th",
):
    """Creates the account with a generated password, shown once to the admin."""
    form = {"username": username, "full_name": full_name, "role": role, "language": language}
    try:
        new_user, password = accounts.create_account(
            session, username=username, full_name=full_name, role=role, language=language,
            actor=actor_for(request, user))
    except PrmError as error:
        session.rollback()
        return _users_page(request, session, status=error.status, form=form,
                           errors=error.field_errors, error=error.message)
    session.commit()
    return _users_page(request, session, created=(new_user.username, password))


@router.post("/users/{user_id}/password")
def reset_password(request: Request, session: SessionDep, user: Admin, user_id: int):
    target = accounts.get_staff(session, user_id)
    password = accounts.reset_password(session, target=target, actor=actor_for(request, user))
    session.commit()
    return _users_page(request, session, created=(target.username, password))


@router.post("/users/{user_id}/active")
def set_active(request: Request, session: SessionDep, user: Admin, user_id: int,
               active: Annotated[str, Form()] = "no"):
    target = accounts.get_staff(session, user_id)
    accounts.set_active(session, target=target, active=active == "yes", by=user,
                        actor=actor_for(request, user))
    session.commit()
    return htmx.redirect(request, "/admin/users")


def _day(value: str, tz, *, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.fromisoformat(value).date()
    except ValueError:
        return None
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start + timedelta(days=1) if end else start


@router.get("/audit")
def audit_log(
    request: Request, session: SessionDep, user: Auditor, username: str = "", action: str = "",
    patient_id: str = "", since: str = "", until: str = "", page: int = 1,
):
    tz = request.app.state.settings.tz
    filters = audit.AuditFilter(
        username=username, action=action if action in AuditAction.__members__ else "",
        patient_id=int(patient_id) if patient_id.isdigit() else None,
        since=_day(since, tz), until=_day(until, tz, end=True),
    )
    page = max(page, 1)
    events, total = audit.search(session, filters=filters, limit=PAGE_SIZE,
                                 offset=(page - 1) * PAGE_SIZE)
    context = {"events": events, "total": total, "page": page, "page_size": PAGE_SIZE,
               "action_options": [(a.value, a.value) for a in AuditAction], "filters": {
                   "username": username, "action": action, "patient_id": patient_id,
                   "since": since, "until": until}}
    template = "admin/_audit_rows.html" if htmx.is_htmx(request) else "admin/audit.html"
    return render(request, template, context)
