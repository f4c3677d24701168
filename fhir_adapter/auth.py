"""Authentication of FHIR requests: none, HTTP basic, a static bearer token, or SMART
Backend Services (OAuth client-credentials grant with a signed JWT client assertion).

The SMART flow runs inside httpx's auth flow, so token requests go through the same
transport, timeouts and TLS settings as the FHIR requests themselves. Secrets (password,
token, key, assertion) never appear in an error message or a log line.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Generator
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from fhir_adapter.connection import FhirConnection

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 300
# Tokens are renewed this long before they expire, so a request never leaves with a token
# that dies on the way (capped at half the lifetime for very short-lived tokens).
RENEW_MARGIN_SECONDS = 30.0
# SMART requires expires_in; a server that leaves it out gets a conservative guess.
DEFAULT_TOKEN_LIFETIME_SECONDS = 300

AuthFlow = Generator[httpx.Request, httpx.Response, None]


class TokenError(Exception):
    """Getting an access token failed; ``status`` is the token endpoint's HTTP status and
    ``retry_after`` its raw Retry-After header, for the client's retry policy."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str = "",
        retry_after: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.url = url
        self.retry_after = retry_after


class BearerAuth(httpx.Auth):
    """A static bearer token configured by the hospital's IT."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> AuthFlow:
        request.headers["Authorization"] = self._header
        yield request


class SmartBackendAuth(httpx.Auth):
    """SMART Backend Services: a cached access token, fetched with a signed JWT assertion.

    Sync clients only (token responses are read inside the flow). One instance per client;
    not shared between threads.
    """

    def __init__(
        self, connection: FhirConnection, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not connection.client_id:
            raise ValueError("SMART backend services need a client_id")
        self._connection = connection
        self._key, self._algorithm = load_signing_key(connection.private_key_pem)
        self._clock = clock
        self._token_url = connection.token_url
        self._access_token = ""
        self._renew_at = 0.0

    def auth_flow(self, request: httpx.Request) -> AuthFlow:
        if not self._access_token or self._clock() >= self._renew_at:
            yield from self._fetch_token()
        response = yield self._authorised(request)
        if response.status_code == 401:
            # The server may have revoked our token or expired it early: one fresh token,
            # one retry; a second 401 is the server's answer.
            yield from self._fetch_token()
            yield self._authorised(request)

    def _authorised(self, request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {self._access_token}"
        return request

    def _fetch_token(self) -> AuthFlow:
        if not self._token_url:
            self._token_url = yield from self._discover_token_url()
        form = {
            "grant_type": "client_credentials",
            "scope": self._connection.scopes,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self._assertion(self._token_url),
        }
        response = yield httpx.Request(
            "POST", self._token_url, data=form, headers={"Accept": "application/json"}
        )
        payload = _read_json(response, "SMART token request", self._token_url)
        if not isinstance(payload.get("access_token"), str) or not payload["access_token"]:
            raise TokenError(
                f"SMART token response from {self._token_url} has no access_token",
                status=response.status_code,
                url=self._token_url,
            )
        self._store_token(payload)

    def _discover_token_url(self) -> Generator[httpx.Request, httpx.Response, str]:
        url = f"{self._connection.base_url}/.well-known/smart-configuration"
        response = yield httpx.Request("GET", url, headers={"Accept": "application/json"})
        token_url = _read_json(response, "SMART configuration", url).get("token_endpoint")
        if not isinstance(token_url, str) or not token_url:
            raise TokenError(f"SMART configuration at {url} has no token_endpoint", url=url)
        return token_url

    def _assertion(self, token_url: str) -> str:
        now = int(time.time())  # wall clock: the server checks exp against its own
        claims = {
            "iss": self._connection.client_id,
            "sub": self._connection.client_id,
            "aud": token_url,
            "exp": now + ASSERTION_LIFETIME_SECONDS,
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": self._connection.key_id} if self._connection.key_id else None
        return jwt.encode(claims, self._key, algorithm=self._algorithm, headers=headers)

    def _store_token(self, payload: dict[str, Any]) -> None:
        lifetime = payload.get("expires_in")
        if not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_LIFETIME_SECONDS
        self._access_token = payload["access_token"]
        self._renew_at = self._clock() + lifetime - min(RENEW_MARGIN_SECONDS, lifetime / 2)


def load_signing_key(
    pem: str,
) -> tuple[rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, str]:
    """The private key and the JWT algorithm SMART asks for with it (RS384 or ES384)."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as error:
        # cryptography's messages describe the format problem, never the key material.
        raise ValueError(f"SMART private key is not a usable PEM private key: {error}") from None
    if isinstance(key, rsa.RSAPrivateKey):
        return key, "RS384"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key, "ES384"
    raise ValueError("SMART private key must be an RSA or EC key")


def build_auth(
    connection: FhirConnection, *, clock: Callable[[], float] = time.monotonic
) -> httpx.Auth | None:
    """The httpx auth for a connection's mode (None when the server is open)."""
    if connection.auth == "basic":
        return httpx.BasicAuth(connection.username, connection.password)
    if connection.auth == "bearer":
        return BearerAuth(connection.token)
    if connection.auth == "smart":
        return SmartBackendAuth(connection, clock=clock)
    return None


def _read_json(response: httpx.Response, what: str, url: str) -> dict[str, Any]:
    response.read()
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status_code >= 400:
        raise TokenError(
            f"{what} at {url} failed with {response.status_code}: {_oauth_error_text(payload)}",
            status=response.status_code,
            url=url,
            retry_after=response.headers.get("Retry-After"),
        )
    if not isinstance(payload, dict):
        raise TokenError(f"{what} at {url} did not return a JSON object", url=url)
    return payload


def _oauth_error_text(payload: Any) -> str:
    """The RFC 6749 error code and description, when the body has them."""
    if not isinstance(payload, dict):
        return "no error details"
    parts = [str(payload[key]) for key in ("error", "error_description") if payload.get(key)]
    return ": ".join(parts) or "no error details"
