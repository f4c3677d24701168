"""Log in, log out, change one's password, switch language."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from prm.auth import login as logins
from prm.auth import service
from prm.auth.deps import SESSION_COOKIE, SignedInUser, actor_for
from prm.auth.forms import PasswordForm
from prm.auth.passwords import MIN_PASSWORD_LENGTH
from prm.db import SessionDep
from prm.i18n import normalise_language
from prm.web import htmx
from prm.web.forms import Posted, submit
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
    # A one-time password opens the password page alone (prm.auth.deps.current_user).
    target = "/password" if outcome.must_change_password else _safe_next(next)
    response = htmx.redirect(request, target)
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
def logout(request: Request, session: SessionDep, user: SignedInUser):
    logins.log_out(session, token=request.cookies.get(SESSION_COOKIE, ""), user=user,
                   actor=actor_for(request, user))
    session.commit()
    response = htmx.redirect(request, "/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _password_page(request: Request, user, form=None, error: str = "", changed=False):
    """Typed passwords are never sent back: a refused form comes back empty."""
    return render(request, "auth/password.html", {
        "forced": user.must_change_password and not changed, "changed": changed,
        "errors": form.errors if form else {}, "error": error,
        "min_length": MIN_PASSWORD_LENGTH})


@router.get("/password")
def password_page(request: Request, user: SignedInUser):
    return _password_page(request, user)


@router.post("/password")
def change_password(request: Request, session: SessionDep, user: SignedInUser,
                    posted: Posted):
    """The new password ends the user's other sessions; this browser stays logged in."""
    def save(form: PasswordForm):
        logins.change_password(
            session, member=user, current=form.current_password, new=form.new_password,
            confirm=form.confirm_password, token=request.cookies.get(SESSION_COOKIE, ""),
            actor=actor_for(request, user))

    return submit(request, session, PasswordForm, posted, save=save,
                  done=lambda form, _saved: _password_page(request, user, changed=True),
                  show=lambda form, error: _password_page(request, user, form, error.message))


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
