"""Pure ASGI middleware, outermost first: request id + access log + security headers
(and the 500 page), the request body limit, and CSRF.

Pure ASGI rather than BaseHTTPMiddleware: it costs little per request, can refuse a
body before anything reads it, and can read and replay a form body for the CSRF check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
import uuid
from collections.abc import Mapping
from urllib.parse import parse_qs, quote

from starlette.requests import cookie_parser

from prm.db import was_committed
from prm.i18n import LANGUAGES, current_language, gettext, normalise_language
from prm.logs import request_id_var
from prm.web.htmx import page_it_came_from

log = logging.getLogger("prm.http")

SESSION_COOKIE = "prm_session"
CSRF_COOKIE = "prm_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = b"x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# These authenticate their callers another way (Twilio signature, shared secret).
CSRF_EXEMPT_PREFIXES = ("/webhooks/", "/fhir/subscription", "/healthz")
# The largest form staff post (a patient with every field, a 2,000-character Thai note)
# is under 60 KB url-encoded; routes that take more say so (BodyLimitMiddleware).
DEFAULT_BODY_LIMIT = 256 * 1024

SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
     b"base-uri 'self'; object-src 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


STATIC_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"referrer-policy", b"same-origin"),
]


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def _cookie(scope, name: str) -> str:
    # Starlette's parser (what request.cookies uses): lenient like browsers, never raises,
    # and a tenth of SimpleCookie's cost on every request.
    return cookie_parser(_header(scope, b"cookie")).get(name, "")


LANGUAGE_COOKIE = "prm_lang"


def _language(scope) -> str:
    """The cookie staff set (and login sets from their account), else the browser's."""
    chosen = _cookie(scope, LANGUAGE_COOKIE)
    if chosen:
        return normalise_language(chosen)
    for part in _header(scope, b"accept-language").split(","):
        code = part.split(";")[0].strip()[:2].lower()
        if code in LANGUAGES:
            return code
    return normalise_language(None)


class RequestContextMiddleware:
    """Gives each request an id, logs it without query strings, adds security headers.

    Also the one place an unexpected error becomes the 500 page: here, inside the layer
    that adds the headers, so the page carries them like every other response
    (Starlette's own last-resort handler sits outside all middleware).
    """

    def __init__(self, app, *, secure_transport: bool = False):
        self.app = app
        self.secure = secure_transport

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = _header(scope, b"x-request-id")[:40] or uuid.uuid4().hex[:16]
        if not request_id.isascii() or not request_id.isprintable():
            request_id = uuid.uuid4().hex[:16]
        token = request_id_var.set(request_id)
        # Set here, in the request's root context, so every thread-pooled part sees it.
        language_token = current_language.set(_language(scope))
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_headers(message):
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                message["headers"] = self._headers(scope, message, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error")
            if response_started:
                raise
            if was_committed(scope):
                await _send_saved_anyway(scope, send_with_headers)
            else:
                await _send_server_error(send_with_headers)
        finally:
            if not scope["path"].startswith("/static/"):
                log.info("request", extra={
                    "method": scope["method"], "path": scope["path"], "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                })
            request_id_var.reset(token)
            current_language.reset(language_token)

    def _headers(self, scope, message, request_id: str) -> list:
        headers = [(name, _secure_cookie(value) if self.secure and name == b"set-cookie"
                    else value) for name, value in message.get("headers", [])]
        headers.append((b"x-request-id", request_id.encode()))
        if scope["path"].startswith("/static/"):
            # Files, not pages: they may be cached, but never sniffed as another type, read
            # by another site, or run a script when opened directly (an SVG can hold one).
            headers.extend(STATIC_HEADERS)
        else:
            headers.extend(SECURITY_HEADERS)
            headers.append((b"cache-control", b"no-store"))
        if self.secure:
            headers.append((b"strict-transport-security", b"max-age=31536000"))
        return headers


def _secure_cookie(value: bytes) -> bytes:
    """Every cookie PRM sets is Secure over HTTPS, whichever route set it."""
    return value if b"; secure" in value.lower() else value + b"; Secure"


async def _send_server_error(send) -> None:
    # Imported here: the error page renders through the templates, which need settings.
    from prm.web.errors import server_error_body

    body = server_error_body()
    await send({"type": "http.response.start", "status": 500, "headers": [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]})
    await send({"type": "http.response.body", "body": body})


async def _send_saved_anyway(scope, send) -> None:
    """What was asked was saved, but showing the result failed: never say "nothing was
    saved". Reload the page (htmx) or go back to it (a plain form), which shows the change."""
    if _header(scope, b"hx-request") == "true":
        headers = [(b"hx-refresh", b"true")]
        status = 204
    else:
        path = page_it_came_from(_header(scope, b"referer"), host=_header(scope, b"host"))
        headers = [(b"location", quote(path, safe="/").encode())]
        status = 303
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


class BodyLimitMiddleware:
    """Refuses a request body over its route's limit with 413 before anything reads it.

    ``limits`` maps a path prefix to the bytes its routes accept; others get ``default``.
    A declared Content-Length over the limit is refused at once; a body sent without one
    (chunked) is counted as it arrives and refused when it passes the limit. Nothing
    downstream (the CSRF check, a form parser) ever buffers more than the limit.
    """

    def __init__(self, app, *, default: int = DEFAULT_BODY_LIMIT,
                 limits: Mapping[str, int] | None = None):
        self.app = app
        self.default = default
        self.limits = sorted((limits or {}).items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        return next((limit for prefix, limit in self.limits if path.startswith(prefix)),
                    self.default)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope["path"])
        declared = _header(scope, b"content-length")
        if declared and (not declared.isdigit() or int(declared) > limit):
            return await _too_large(send, limit)
        received, started = 0, False

        async def counted():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge
            return message

        async def noting_start(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, noting_start)
        except _BodyTooLarge:
            if started:
                raise
            await _too_large(send, limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send, limit: int) -> None:
    message = gettext("What was sent is too large (at most %(n)s KB). Nothing was saved.",
                      n=limit // 1024)
    await _plain_page(send, 413, message)


def csrf_token_for(secret: bytes, *, session_cookie: str, anonymous_cookie: str) -> str:
    """The token a page hands out: an HMAC of the login session's cookie (or, before login,
    of the browser's random CSRF cookie) under the secret key. Someone else's token, or a
    token from before login, never matches; the server stores nothing for it."""
    bound_to = f"session:{session_cookie}" if session_cookie else f"browser:{anonymous_cookie}"
    digest = hmac.new(secret, bound_to.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


class CsrfMiddleware:
    """Every unsafe request must carry the token bound to its session.

    The token arrives as the ``X-CSRF-Token`` header (htmx sends it on every request)
    or as the ``csrf_token`` form field (url-encoded or multipart). Mismatch → 403
    before any route runs. Before login the token is bound to a random ``prm_csrf``
    cookie (SameSite=Strict), which must be present: a login form posted from another
    site carries none.
    """

    def __init__(self, app, *, secret_key: str, secure_cookies: bool = False):
        self.app = app
        self.secret = secret_key.encode()
        self.secure = secure_cookies

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        session_cookie = _cookie(scope, SESSION_COOKIE)
        browser_cookie = _cookie(scope, CSRF_COOKIE)
        new_browser_cookie = "" if browser_cookie else secrets.token_urlsafe(24)
        expected = csrf_token_for(self.secret, session_cookie=session_cookie,
                                  anonymous_cookie=browser_cookie or new_browser_cookie)
        scope.setdefault("state", {})["csrf_token"] = expected
        if scope["method"] not in SAFE_METHODS and not scope["path"].startswith(
            CSRF_EXEMPT_PREFIXES
        ):
            submitted, receive = await _submitted_token(scope, receive)
            bound = session_cookie or browser_cookie
            if not bound or not hmac.compare_digest(submitted.encode(), expected.encode()):
                return await _forbidden(send)
        if new_browser_cookie:
            send = self._setting_cookie(send, new_browser_cookie)
        await self.app(scope, receive, send)

    def _setting_cookie(self, send, token: str):
        attributes = "; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if self.secure else "")

        async def wrapped(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append(
                    (b"set-cookie", f"{CSRF_COOKIE}={token}{attributes}".encode())
                )
            await send(message)

        return wrapped


async def _submitted_token(scope, receive):
    """The token from the header or the body; returns (token, receive that replays body).

    The body is at most the route's limit (BodyLimitMiddleware runs first)."""
    header = _header(scope, CSRF_HEADER)
    if header:
        return header, receive
    content_type = _header(scope, b"content-type")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return "", receive
    more, chunks = True, []
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    if content_type.startswith("multipart/"):
        match = re.search(rb'name="csrf_token"\r\n\r\n([^\r\n]*)\r\n', body)
        token = match.group(1).decode("latin-1") if match else ""
    else:
        values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(CSRF_FIELD, [""])
        token = values[0]
    replayed = False

    async def replay():
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return token, replay


async def _forbidden(send) -> None:
    await _plain_page(send, 403, gettext(
        "This form has expired or did not come from PRM. Go back, reload the page and try "
        "again."))


async def _plain_page(send, status: int, message: str) -> None:
    """A short page for what is refused before any route runs (the text is PRM's own)."""
    body = f"<!doctype html><title>{status}</title><p>{message}</p>".encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]})
    await send({"type": "http.response.body", "body": body})
