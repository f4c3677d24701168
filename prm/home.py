"""The landing page and the health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from prm import __version__
from prm.auth.deps import CurrentUser, actor_for
from prm.db import SessionDep
from prm.health import database_health
from prm.patients import service as patients
from prm.roles import Permission, role_may
from prm.web import htmx
from prm.web.templating import render

router = APIRouter()


@router.get("/")
def home(request: Request, session: SessionDep, user: CurrentUser):
    """Staff land where their work is."""
    if role_may(user.role, Permission.patient_view):
        recent = patients.recently_viewed(session, actor=actor_for(request, user))
        session.commit()
        return render(request, "home.html", {"recent": recent})
    return htmx.redirect(request, "/admin/users")


@router.get("/healthz")
def healthz(request: Request):
    database = database_health(request.app.state.engine)
    status = 200 if database["status"] == "ok" else 503
    return JSONResponse({"status": "ok" if status == 200 else "degraded",
                         "version": __version__, "database": database}, status)
