"""Route dependencies: who is logged in, and may they do this."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from prm.audit.service import Actor
from prm.auth import service
from prm.auth.service import StaffMember
from prm.db import SessionDep
from prm.errors import Forbidden, LoginRequired, PasswordChangeRequired
from prm.i18n import _
from prm.logs import request_id_var
from prm.roles import Permission, role_may
from prm.web.middleware import SESSION_COOKIE


def signed_in_user(request: Request, session: SessionDep) -> StaffMember:
    """The logged-in user, even one who must still choose a password (only the password
    page and logging out take this); raises LoginRequired (a redirect to /login).

    Every request runs this: one read of the session and its user; ``last_seen_at`` is
    written at most once a minute, so a page view is not a write.
    """
    token = request.cookies.get(SESSION_COOKIE, "")
    resolved = service.resolve_session(session, token=token,
                                       settings=request.app.state.settings)
    if resolved is None:
        raise LoginRequired(_("Please log in."))
    if resolved.seen_is_stale:
        service.mark_seen(session, resolved)
    # Ends the read (or the write above): the connection goes back to the pool while the
    # request waits for a thread to run its route.
    session.commit()
    request.state.user = resolved.user
    return resolved.user


SignedInUser = Annotated[StaffMember, Depends(signed_in_user)]


# async: no I/O here, so FastAPI need not hop to a worker thread for it.
async def current_user(user: SignedInUser) -> StaffMember:
    """The logged-in user, who may use PRM: one logged in with a password an
    administrator set is sent to choose their own first (PasswordChangeRequired)."""
    if user.must_change_password:
        raise PasswordChangeRequired(_("Choose your own password before you continue."))
    return user


CurrentUser = Annotated[StaffMember, Depends(current_user)]


def require(permission: Permission):
    """Dependency factory: the current user, if their role grants ``permission``."""

    # async: no I/O here, so FastAPI need not hop to a worker thread for it.
    async def check(user: CurrentUser) -> StaffMember:
        if not role_may(user.role, permission):
            raise Forbidden(_("Your role does not allow this."))
        return user

    return Depends(check)


def actor_for(request: Request, user: StaffMember | None) -> Actor:
    """Who is acting and from where, for audit rows."""
    where = {
        "ip": request.client.host if request.client else "",
        "user_agent": request.headers.get("user-agent", "")[:300],
        "request_id": request_id_var.get(),
    }
    if user is None:
        return Actor(user_id=None, username="anonymous", **where)
    return Actor.for_user(user, **where)
