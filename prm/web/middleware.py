"""Pure ASGI middleware: request id + access log + security headers, and CSRF.

Pure ASGI rather than BaseHTTPMiddleware: it costs little per request and can read
and replay a form body for the CSRF check.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import time
import uuid
from urllib.parse import parse_qs

from starlette.requests import cookie_parser

from prm.i18n import LANGUAGES, current_language, gettext, normalise_language
from prm.logs import request_id_var

log = logging.getLogger("prm.http")

CSRF_COOKIE = "prm_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = b"x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# These authenticate their callers another way (Twilio signature, shared secret).
CSRF_EXEMPT_PREFIXES = ("/webhooks/", "/fhir/subscription", "/healthz")
MAX_FORM_BYTES = 64 * 1024 * 1024

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
    """Gives each request an id, logs it without query strings, adds security headers."""

    def __init__(self, app, *, secure_cookies: bool = False):
        self.app = app
        self.hsts = secure_cookies

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = _header(scope, b"x-request-id")[:40] or uuid.uuid4().hex[:16]
        token = request_id_var.set(request_id)
        # Set here, in the request's root context, so every thread-pooled part sees it.
        language_token = current_language.set(_language(scope))
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                if not scope["path"].startswith("/static/"):
                    headers.extend(SECURITY_HEADERS)
                    headers.append((b"cache-control", b"no-store"))
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if not scope["path"].startswith("/static/"):
                log.info("request", extra={
                    "method": scope["method"], "path": scope["path"], "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                })
            request_id_var.reset(token)
            current_language.reset(language_token)


class CsrfMiddleware:
    """Double-submit token: a random cookie that every unsafe request must echo back.

    The token arrives as the ``X-CSRF-Token`` header (htmx sends it on every request)
    or as the ``csrf_token`` form field. Mismatch → 403 before any route runs.
    """

    def __init__(self, app, *, secure_cookies: bool = False):
        self.app = app
        self.secure = secure_cookies

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cookie_token = _cookie(scope, CSRF_COOKIE)
        token = cookie_token or secrets.token_urlsafe(24)
        scope.setdefault("state", {})["csrf_token"] = token
        if scope["method"] not in SAFE_METHODS and not scope["path"].startswith(
            CSRF_EXEMPT_PREFIXES
        ):
            submitted, receive = await _submitted_token(scope, receive)
            if not cookie_token or not hmac.compare_digest(submitted, cookie_token):
                return await _forbidden(send)
        send = self._setting_cookie(send, token) if not cookie_token else send
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
    """The token from the header or the body; returns (token, receive that replays body)."""
    header = _header(scope, CSRF_HEADER)
    if header:
        return header, receive
    content_type = _header(scope, b"content-type")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return "", receive
    more, chunks, size = True, [], 0
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = message.get("more_body", False)
        if size > MAX_FORM_BYTES:
            return "", receive  # refused as a CSRF failure rather than buffered without end
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
    message = gettext("This form has expired or did not come from PRM. Go back, reload the "
                      "page and try again.")
    body = f"<!doctype html><title>403</title><p>{message}</p>".encode()
    await send({"type": "http.response.start", "status": 403, "headers": [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]})
    await send({"type": "http.response.body", "body": body})
