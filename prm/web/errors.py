"""One place that turns domain errors into pages (or fragments, or redirects)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from prm.errors import LoginRequired, PasswordChangeRequired, PrmError
from prm.i18n import _, current_language, normalise_language
from prm.web import htmx
from prm.web.templating import ENVIRONMENTS, render


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") and not htmx.is_htmx(request)


async def _login_required(request: Request, exc: LoginRequired) -> Response:
    """Back to where the user was after logging in: the page for a GET; for a refused
    POST (session expired mid-form) the page the form was on, never the POST URL."""
    if request.method == "GET":
        target = request.url.path + ("?" + request.url.query if request.url.query else "")
    else:
        target = htmx.page_it_came_from(request.headers.get("referer", ""),
                                   host=request.url.netloc)
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


async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
    """A path, query or form value FastAPI could not read (an id no row can have, a
    number where a word was expected): an address that names nothing is a 404, the rest
    a 400. Forms are read by prm.forms, which never gets here."""
    in_path = any(error.get("loc", ("",))[0] == "path" for error in exc.errors())
    status = 404 if in_path else 400
    message = _("This page does not exist.") if in_path else _("The address is not valid.")
    if _wants_json(request):
        return JSONResponse({"error": message}, status)
    return render(request, "errors/page.html", {"message": message, "status": status},
                  status=status)


def server_error_body() -> bytes:
    """The 500 page, in the request's language (RequestContextMiddleware sends it with the
    security headers). It names no one and holds no form token: it is rendered from
    nothing of the request, since whatever failed may be in it."""
    language = normalise_language(current_language.get())
    message = _("Something went wrong on our side. Nothing was saved. Please try again.")
    page = ENVIRONMENTS[language].get_template("errors/page.html")
    return page.render({"request": None, "user": None, "csrf_token": "", "language": language,
                        "message": message, "status": 500}).encode()


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PasswordChangeRequired, _password_change_required)
    app.add_exception_handler(PrmError, _prm_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _bad_request)
