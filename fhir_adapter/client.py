"""HTTP transport to one FHIR R4 server: search with paging, read, create and update,
raw JSON and streamed ndjson, with authentication and retries.

It hands back raw JSON dicts and raw ndjson lines; validating and mapping them to PRM
records is somebody else's job. Error messages say what failed in words, with the
server's OperationOutcome text, and never carry a credential.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import httpx

from fhir_adapter.auth import TokenError, build_auth
from fhir_adapter.connection import FhirConnection
from fhir_adapter.notifications import RESOURCE_ID

log = logging.getLogger("fhir_adapter.client")

FHIR_JSON = "application/fhir+json"
NDJSON = "application/fhir+ndjson"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A POST that may have reached the server is not sent again: it could create a second
# Communication. These answers say the server did not act on it.
POST_RETRY_STATUSES = frozenset({429, 503})
BACKOFF_CAP_SECONDS = 60.0
# A Retry-After beyond this is a misconfigured server, not a reason to hang a sync run.
RETRY_AFTER_CAP_SECONDS = 300.0
_TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
# Raised before a single byte of the request left: safe to resend even a POST.
_UNSENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")

SearchParams = Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]] | None


class FhirError(Exception):
    """A FHIR interaction failed; ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None, url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class ResourceNotFound(FhirError):
    """The server has never heard of this resource (404)."""


class ResourceGone(FhirError):
    """The resource was deleted on the server (410)."""


class AuthenticationFailed(FhirError):
    """The server refused our credentials (401), or no access token could be obtained."""


class FhirClient:
    """A synchronous FHIR client for one server. Not shared between threads."""

    def __init__(
        self,
        connection: FhirConnection,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection = connection
        self.sleep = sleep
        self.clock = clock
        self._base = httpx.URL(f"{connection.base_url}/")
        self._http = httpx.Client(
            auth=build_auth(connection, clock=clock),
            transport=transport,
            timeout=connection.timeout_seconds,
            headers={"Accept": FHIR_JSON},
            # httpx drops the Authorization header when a redirect leaves our origin.
            follow_redirects=True,
        )

    # -- FHIR interactions -------------------------------------------------------------

    def search(self, resource_type: str, params: SearchParams = None) -> Iterator[dict[str, Any]]:
        """Each searchset Bundle page, following ``next`` links until there are none."""
        query = _query_pairs(params)
        if not any(name == "_count" for name, _ in query):
            query.append(("_count", str(self.connection.page_size)))
        bundle = self.get_json(_checked_type(resource_type), params=query)
        pages_seen: set[str] = set()
        while True:
            _require_bundle(bundle, resource_type)
            yield bundle
            next_url = self._next_page_url(bundle)
            if next_url is None:
                return
            if next_url in pages_seen:
                raise FhirError(f"search for {resource_type} links back to a page already read")
            pages_seen.add(next_url)
            bundle = self.get_json(next_url)

    def search_resources(
        self,
        resource_type: str,
        params: SearchParams = None,
        *,
        on_outcome: Callable[[dict[str, Any]], None] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The resources of every page (matches and includes). OperationOutcomes the server
        adds to a searchset (e.g. "ignored unknown parameter") are logged as warnings and
        passed to ``on_outcome``, never yielded as resources."""
        for bundle in self.search(resource_type, params):
            for entry in bundle.get("entry") or []:
                resource = entry.get("resource") if isinstance(entry, dict) else None
                if not isinstance(resource, dict):
                    continue
                if (entry.get("search") or {}).get("mode") == "outcome":
                    self._report_outcome(resource_type, resource, on_outcome)
                    continue
                yield resource

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        """One resource; ResourceNotFound on 404, ResourceGone on 410."""
        return self.get_json(f"{_checked_type(resource_type)}/{_checked_id(resource_id)}")

    def create(self, resource: dict[str, Any]) -> dict[str, Any]:
        """POST a new resource; returns the stored resource with its server-assigned id."""
        resource_type = _checked_type(str(resource.get("resourceType", "")))
        return self._write("POST", resource_type, resource)

    def update(self, resource: dict[str, Any]) -> dict[str, Any]:
        """PUT a resource at its id (create-or-update); returns the stored resource."""
        resource_type = _checked_type(str(resource.get("resourceType", "")))
        resource_id = _checked_id(str(resource.get("id", "")))
        return self._write("PUT", f"{resource_type}/{resource_id}", resource)

    # -- Raw transport -----------------------------------------------------------------

    def get_json(self, url: str, *, params: SearchParams = None) -> dict[str, Any]:
        """GET a URL (absolute, or relative to the base) and return its JSON object."""
        return _json_object(self.request("GET", url, params=params))

    def stream_lines(
        self, url: str, *, authenticated: bool = True, accept: str = NDJSON
    ) -> Iterator[bytes]:
        """The body of ``url`` line by line, each line with its ``\\n``. A last line without
        one is passed on as it is, so the caller can tell a truncated file."""
        response = self.request(
            "GET", url, headers={"Accept": accept}, stream=True, authenticated=authenticated
        )
        try:
            yield from _split_lines(response.iter_bytes())
        except httpx.HTTPError as error:
            where = self._display(response.request.url)
            raise FhirError(
                f"GET {where} broke off while streaming: {_error_name(error)}",
                url=self._public_url(response.request.url),
            ) from error
        finally:
            response.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: SearchParams = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        stream: bool = False,
        authenticated: bool = True,
    ) -> httpx.Response:
        """Send one interaction, retrying transient failures with backoff (honouring
        Retry-After). Returns any response below 400 (close it when ``stream``); raises
        FhirError for the rest, or once ``max_retries`` retries are spent."""
        retry_statuses = POST_RETRY_STATUSES if method == "POST" else RETRY_STATUSES
        query = _query_pairs(params) if params is not None else None
        attempt = 0
        while True:
            request = self._http.build_request(
                method, self.resolve_url(url), params=query, headers=headers, content=content
            )
            may_retry = attempt < self.connection.max_retries
            try:
                response = self._http.send(
                    request,
                    stream=stream,
                    auth=httpx.USE_CLIENT_DEFAULT if authenticated else None,
                )
            except TokenError as error:
                if not (may_retry and error.status in RETRY_STATUSES):
                    raise AuthenticationFailed(
                        str(error), status=error.status, url=error.url
                    ) from error
                wait = retry_after_seconds(error.retry_after)
                self._pause(request, attempt, f"token endpoint answered {error.status}", wait)
            except _TRANSIENT_ERRORS as error:
                resendable = method != "POST" or isinstance(error, _UNSENT_ERRORS)
                if not (may_retry and resendable):
                    raise self._transport_error(request, error, attempt + 1) from error
                self._pause(request, attempt, _error_name(error), None)
            else:
                if not (may_retry and response.status_code in retry_statuses):
                    if response.status_code >= 400:
                        raise self._status_error(request, response, attempt + 1)
                    return response
                response.close()
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                self._pause(request, attempt, f"status {response.status_code}", wait)
            attempt += 1

    def resolve_url(self, url: str) -> str:
        """An absolute URL: relative ones are relative to the server's base URL."""
        return str(self._base.join(url))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- Helpers -----------------------------------------------------------------------

    def _write(self, method: str, path: str, resource: dict[str, Any]) -> dict[str, Any]:
        response = self.request(
            method,
            path,
            content=json.dumps(resource, ensure_ascii=False).encode(),
            headers={"Content-Type": FHIR_JSON, "Prefer": "return=representation"},
        )
        if response.content.strip():
            return _json_object(response)
        # Servers may ignore Prefer: return=representation and send only a Location.
        location = response.headers.get("Location") or response.headers.get("Content-Location")
        if not location:
            where = self._display(response.request.url)
            raise FhirError(f"{method} {where} returned neither the resource nor its Location")
        return self.get_json(location)

    def _next_page_url(self, bundle: dict[str, Any]) -> str | None:
        next_links = [
            link["url"]
            for link in bundle.get("link") or []
            if isinstance(link, dict) and link.get("relation") == "next" and link.get("url")
        ]
        if not next_links:
            return None
        url = httpx.URL(self.resolve_url(next_links[0]))
        if not self._same_origin(url):
            # Our credentials go with every page; a link elsewhere must not receive them.
            raise FhirError(f"search next link points away from {self._base.host}: {url.host}")
        return str(url)

    def _report_outcome(
        self,
        resource_type: str,
        outcome: dict[str, Any],
        on_outcome: Callable[[dict[str, Any]], None] | None,
    ) -> None:
        text = operation_outcome_text(outcome) or "no details"
        log.warning("FHIR search %s: server reported: %s", resource_type, text)
        if on_outcome is not None:
            on_outcome(outcome)

    def _pause(
        self, request: httpx.Request, attempt: int, reason: str, retry_after: float | None
    ) -> None:
        delay = retry_after if retry_after is not None else backoff_seconds(attempt)
        # The path only: query strings can hold patient identifiers.
        log.warning(
            "FHIR %s %s: %s; retry %d of %d in %.1f s",
            request.method,
            request.url.path,
            reason,
            attempt + 1,
            self.connection.max_retries,
            delay,
        )
        self.sleep(delay)

    def _status_error(
        self, request: httpx.Request, response: httpx.Response, attempts: int
    ) -> FhirError:
        response.read()
        try:
            detail = operation_outcome_text(response.json())
        except ValueError:
            detail = ""
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        message = (
            f"{request.method} {self._display(request.url)} failed with "
            f"{response.status_code}{tries}: {detail or response.reason_phrase}"
        )
        response.close()
        error_class = {401: AuthenticationFailed, 404: ResourceNotFound, 410: ResourceGone}.get(
            response.status_code, FhirError
        )
        return error_class(message, status=response.status_code, url=self._public_url(request.url))

    def _transport_error(
        self, request: httpx.Request, error: Exception, attempts: int
    ) -> FhirError:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        message = f"{request.method} {self._display(request.url)} failed{tries}: "
        return FhirError(message + _error_name(error), url=self._public_url(request.url))

    def _same_origin(self, url: httpx.URL) -> bool:
        base = self._base
        return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)

    def _public_url(self, url: httpx.URL) -> str:
        """The URL fit for a message: another origin's query (a signed download URL) is
        a secret, ours is just search parameters."""
        return str(url) if self._same_origin(url) else str(url.copy_with(query=None))

    def _display(self, url: httpx.URL) -> str:
        public = self._public_url(url)
        base = str(self._base)
        return public[len(base) :] if public.startswith(base) else public


def operation_outcome_text(payload: Any) -> str:
    """The human text of an OperationOutcome's issues ("" when it is not one)."""
    if not isinstance(payload, dict) or payload.get("resourceType") != "OperationOutcome":
        return ""
    texts = []
    for issue in payload.get("issue") or []:
        if not isinstance(issue, dict):
            continue
        details = issue.get("details") if isinstance(issue.get("details"), dict) else {}
        codings = details.get("coding") or [{}]
        text = (
            issue.get("diagnostics")
            or details.get("text")
            or (codings[0].get("display") if isinstance(codings[0], dict) else None)
            or issue.get("code")
        )
        if text:
            texts.append(str(text))
    return "; ".join(texts)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), capped."""
    if not value or not value.strip():
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value.strip())
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_SECONDS)


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter: attempt 0 waits 0.5–1 s, then 1–2 s, … up to the cap.
    The jitter keeps many workers from hammering a recovering server in step."""
    ceiling = min(BACKOFF_CAP_SECONDS, 2.0**attempt)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _query_pairs(params: SearchParams) -> list[tuple[str, str]]:
    """Search parameters as ordered pairs; FHIR repeats names (``_lastUpdated=ge…&…=lt…``)."""
    if params is None:
        return []
    if isinstance(params, Mapping):
        pairs: list[tuple[str, str]] = []
        for name, value in params.items():
            values = [value] if isinstance(value, str) else list(value)
            pairs.extend((name, str(item)) for item in values)
        return pairs
    return [(str(name), str(value)) for name, value in params]


def _split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        start = 0
        while (end := buffer.find(b"\n", start)) != -1:
            yield bytes(buffer[start : end + 1])
            start = end + 1
        del buffer[:start]
    if buffer:
        yield bytes(buffer)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise FhirError(
            f"{response.request.method} {response.request.url.path} did not return a JSON object",
            status=response.status_code,
        )
    return payload


def _require_bundle(bundle: dict[str, Any], resource_type: str) -> None:
    if bundle.get("resourceType") != "Bundle":
        found = bundle.get("resourceType") or "no resourceType"
        raise FhirError(f"search for {resource_type} returned {found} instead of a Bundle")


def _checked_type(resource_type: str) -> str:
    if not _RESOURCE_TYPE.fullmatch(resource_type):
        raise ValueError(f"not a FHIR resource type: {resource_type!r}")
    return resource_type


def _checked_id(resource_id: str) -> str:
    # A strict id keeps a crafted value (``../Group/x``) from changing the request path.
    if not RESOURCE_ID.fullmatch(resource_id):
        raise ValueError(f"not a FHIR resource id: {resource_id!r}")
    return resource_id


def _error_name(error: Exception) -> str:
    """What went wrong in words, e.g. ``ReadTimeout``; httpx's text may quote URLs."""
    return type(error).__name__
