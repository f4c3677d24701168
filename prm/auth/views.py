"""Log in, log out, switch language."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from prm.auth import login as logins
from prm.auth import service
from prm.auth.deps import SESSION_COOKIE, CurrentUser, actor_for
from prm.db import SessionDep
from prm.i18n import normalise_language
from prm.web import htmx
from prm.web.middleware import CSRF_COOKIE, LANGUAGE_COOKIE
from prm.web.templating import render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login form cannot bounce users elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    # Browsers treat a backslash as a slash (/\evil.example is //evil.example) and drop
    # tabs and newlines from URLs.
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return "/"
    return target if not urlparse(target).netloc else "/"


@router.get("/login")
def login_page(request: Request, next: str = "/"):
    return render(request, "auth/login.html", {"next": _safe_next(next), "error": ""})


@router.post("/login")
def login(
    request: Request, session: SessionDep, username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/",
):
    settings = request.app.state.settings
    outcome = logins.log_in(session, username=username, password=password, settings=settings,
                            anonymous=actor_for(request, None))
    session.commit()
    if not outcome.token:
        return render(request, "auth/login.html",
                      {"next": _safe_next(next), "error": outcome.error, "username": username},
                      status=429 if outcome.locked_seconds else 401)
    response = htmx.redirect(request, _safe_next(next))
    _set_session_cookie(response, outcome.token, settings)
    _set_language_cookie(response, outcome.language)
    # A fresh CSRF token after login, so one planted before it is worthless.
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


def _set_session_cookie(response: Response, token: str, settings) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=settings.session_absolute_hours * 3600, httponly=True,
        samesite="lax", secure=settings.cookie_secure, path="/",
    )


@router.post("/logout")
def logout(request: Request, session: SessionDep, user: CurrentUser):
    logins.log_out(session, token=request.cookies.get(SESSION_COOKIE, ""), user=user,
                   actor=actor_for(request, user))
    session.commit()
    response = htmx.redirect(request, "/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language")
def switch_language(
    request: Request, session: SessionDep, language: Annotated[str, Form()] = "th",
    next: Annotated[str, Form()] = "/",
):
    """Logged-in staff keep their choice on their account; others in a cookie."""
    language = normalise_language(language)
    resolved = service.resolve_session(
        session, token=request.cookies.get(SESSION_COOKIE, ""),
        settings=request.app.state.settings,
    )
    if resolved:
        service.set_language(session, user_id=resolved.user.id, language=language)
        session.commit()
    response = htmx.redirect(request, _safe_next(next))
    _set_language_cookie(response, language)
    return response


def _set_language_cookie(response: Response, language: str) -> None:
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="lax",
                        httponly=True, path="/")
