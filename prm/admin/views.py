"""Administration: staff accounts and the audit log."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request

from prm.admin import audit_labels
from prm.admin import service as accounts
from prm.admin.forms import AuditQuery, StaffForm
from prm.audit import service as audit
from prm.auth import service as auth
from prm.auth.deps import actor_for, require
from prm.auth.service import StaffMember
from prm.db import SessionDep
from prm.i18n import LANGUAGES
from prm.patients.service import segment_names
from prm.roles import Permission, role_labels
from prm.web import htmx
from prm.web.forms import Posted, RowId, submit
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
def create_user(request: Request, session: SessionDep, user: Admin, posted: Posted):
    """Creates the account with a generated password, shown once to the admin."""
    def save(form: StaffForm):
        return accounts.create_account(
            session, username=form.username, full_name=form.full_name, role=form.role,
            language=form.language, by=user, actor=actor_for(request, user))

    def done(form: StaffForm, created):
        new_user, password = created
        return _users_page(request, session, created=(new_user.username, password),
                           awaiting=new_user.awaiting_approval)

    return submit(
        request, session, StaffForm, posted, save=save, done=done,
        show=lambda form, error: _users_page(request, session, form=form.typed,
                                             errors=form.errors, error=error.message))


@router.post("/users/{user_id}/password")
def reset_password(request: Request, session: SessionDep, user: Admin, user_id: RowId):
    target = accounts.get_staff(session, user_id)
    password = accounts.reset_password(session, target=target, actor=actor_for(request, user))
    session.commit()
    return _users_page(request, session, created=(target.username, password))


@router.post("/users/{user_id}/approve")
def approve(request: Request, session: SessionDep, user: Admin, user_id: RowId):
    target = accounts.get_staff(session, user_id)
    accounts.approve(session, target=target, by=user, actor=actor_for(request, user))
    session.commit()
    return htmx.redirect(request, "/admin/users")


@router.post("/users/{user_id}/active")
def set_active(request: Request, session: SessionDep, user: Admin, user_id: RowId,
               active: Annotated[str, Form()] = "no"):
    target = accounts.get_staff(session, user_id)
    accounts.set_active(session, target=target, active=active == "yes", by=user,
                        actor=actor_for(request, user))
    session.commit()
    return htmx.redirect(request, "/admin/users")


@router.get("/audit")
def audit_log(request: Request, session: SessionDep, user: Auditor):
    query = AuditQuery.parse(request.query_params)
    rows, total = audit.search(
        session, filters=query.to_filter(request.app.state.settings.tz), limit=PAGE_SIZE,
        offset=(query.page - 1) * PAGE_SIZE)
    context = {"rows": rows, "total": total, "page": query.page, "page_size": PAGE_SIZE,
               "action_options": list(audit_labels.action_labels().items()),
               "action_labels": audit_labels.action_labels(),
               "describe": audit_labels.describe,
               "detail": partial(audit_labels.detail, segment_names=segment_names(session)),
               "filters": query.typed}
    template = "admin/_audit_rows.html" if htmx.is_htmx(request) else "admin/audit.html"
    return render(request, template, context)


@router.get("/audit/accounts")
def audit_accounts(request: Request, session: SessionDep, user: Auditor):
    """Accounts created or reset, and what each opened first (see account_events)."""
    return render(request, "admin/audit_accounts.html",
                  {"issued": accounts.account_events(session),
                   "first_views": accounts.FIRST_VIEWS})
