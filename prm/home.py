"""The landing page and the health check."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.responses import JSONResponse

from prm import __version__
from prm.auth.deps import CurrentUser
from prm.db import SessionDep
from prm.patients import service as patients
from prm.roles import Permission, role_may
from prm.web import htmx
from prm.web.templating import render

router = APIRouter()


@router.get("/")
def home(request: Request, session: SessionDep, user: CurrentUser):
    """Staff land where their work is."""
    if role_may(user.role, Permission.patient_view):
        recent = patients.recently_viewed(session, user_id=user.id)
        return render(request, "home.html", {"recent": recent})
    return htmx.redirect(request, "/admin/users")


@router.get("/healthz")
def healthz(request: Request):
    started = time.perf_counter()
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database = {"status": "ok", "dialect": request.app.state.engine.dialect.name,
                    "ms": round((time.perf_counter() - started) * 1000, 1)}
        status = 200
    except Exception as error:  # report, don't raise: this is what monitors read
        database = {"status": "error", "error": type(error).__name__}
        status = 503
    return JSONResponse({"status": "ok" if status == 200 else "degraded",
                         "version": __version__, "database": database}, status)
