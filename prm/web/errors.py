"""One place that turns domain errors into pages (or fragments, or redirects)."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlparse

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from prm.errors import LoginRequired, PasswordChangeRequired, PrmError
from prm.i18n import _
from prm.web import htmx
from prm.web.templating import render

log = logging.getLogger("prm.errors")


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") and not htmx.is_htmx(request)


async def _login_required(request: Request, exc: LoginRequired) -> Response:
    """Back to where the user was after logging in: the page for a GET; for a refused
    POST (session expired mid-form) the page the form was on, never the POST URL."""
    if request.method == "GET":
        target = request.url.path + ("?" + request.url.query if request.url.query else "")
    else:
        referer = urlparse(request.headers.get("referer", ""))
        same_site = referer.netloc in ("", request.url.netloc)
        target = referer.path if same_site and referer.path.startswith("/") else "/"
    return htmx.redirect(request, "/login?next=" + quote(target, safe=""))


async def _password_change_required(request: Request,
                                    exc: PasswordChangeRequired) -> Response:
    return htmx.redirect(request, "/password")


async def _prm_error(request: Request, exc: PrmError) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": exc.message, "fields": exc.field_errors}, exc.status)
    template = "errors/_message.html" if htmx.is_htmx(request) else "errors/page.html"
    return render(request, template, {"message": exc.message, "status": exc.status},
                  status=exc.status)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    messages = {404: _("This page does not exist."), 405: _("That action is not allowed here.")}
    message = messages.get(exc.status_code, str(exc.detail))
    if _wants_json(request):
        return JSONResponse({"error": message}, exc.status_code)
    return render(request, "errors/page.html", {"message": message, "status": exc.status_code},
                  status=exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error")
    message = _("Something went wrong on our side. Nothing was saved. Please try again.")
    return render(request, "errors/page.html", {"message": message, "status": 500}, status=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PasswordChangeRequired, _password_change_required)
    app.add_exception_handler(PrmError, _prm_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
