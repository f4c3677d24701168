"""A fake FHIR R4 server for tests: a real HTTP server on 127.0.0.1 (port 0, background
thread) that the real httpx client talks to.

    with FakeFhirServer(auth="smart") as server:
        server.register_client("prm", public_key_pem)
        server.put({"resourceType": "Patient", "id": "p1"})
        ... FhirConnection(base_url=server.base_url, token_url=server.token_url, ...)

What it does: an in-memory store with versionId/lastUpdated (``server.now`` is the clock),
search with paging (stable snapshots, opaque page tokens) on ``_count``, ``_lastUpdated``,
``_id``, ``patient``/``subject``; read (404/410), create, update; metadata and SMART
configuration; a token endpoint checking signed JWT assertions; Bulk Data ``$export`` at
system and Group level with ``_type``/``_since`` and deleted files; and fault injection
(``fail_next``, ``delay_next``, ``truncate_export_file``), each counted. Every request is
recorded in ``server.requests`` as (method, path with query, lower-cased headers).
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import jwt

BASE_PATH = "/fhir"
TOKEN_PATH = "/auth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
NDJSON_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
SEARCH_CONTROL = {"_count", "_getpages", "_getpagesoffset", "_format"}
SEARCH_FILTERS = {"_lastUpdated", "_id", "patient", "subject"}
# Reachable without credentials, as on real servers: clients need them to find out how
# to authenticate.
OPEN_PATHS = {f"{BASE_PATH}/metadata", f"{BASE_PATH}/.well-known/smart-configuration", TOKEN_PATH}


@dataclass
class Incoming:
    method: str
    target: str  # path with query, as sent
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.query if key == name), None)


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """Answer the next ``remaining`` matching requests with ``status``."""

    remaining: int
    status: int
    retry_after: str | None
    path_contains: str | None
    text: str
    served: int = 0


@dataclass
class Delay:
    """Hold the next ``remaining`` matching requests for ``seconds`` before answering."""

    remaining: int
    seconds: float
    path_contains: str | None
    served: int = 0


@dataclass
class Stored:
    resource: dict[str, Any]
    updated: datetime


@dataclass
class ExportJob:
    request_url: str
    transaction_time: str
    files: dict[str, tuple[str, list[bytes]]]  # file name -> (resource type, ndjson lines)
    output: list[dict[str, Any]]
    deleted: list[dict[str, Any]]
    polls: int = 0


class FakeFhirServer:
    def __init__(
        self,
        auth: str = "none",
        *,
        username: str = "prm",
        password: str = "s3cret",
        bearer_token: str = "static-token",
        token_lifetime: int = 300,
        page_size: int = 10,
    ) -> None:
        if auth not in ("none", "basic", "bearer", "smart"):
            raise ValueError(f"unknown auth mode {auth!r}")
        self.auth = auth
        self.username = username
        self.password = password
        self.bearer_token = bearer_token
        self.token_lifetime = token_lifetime
        self.default_page_size = page_size
        # Knobs tests turn.
        self.now: datetime | None = None  # None: the real time
        self.export_polls = 2  # status polls answered 202 before the manifest
        self.export_retry_after = 1
        self.export_file_size: int | None = None  # resources per ndjson file
        self.lenient = False  # unknown search params become an outcome entry, not a 400
        self.minimal_write_replies = False  # 201/200 without a body, like some servers
        self.relative_next_links = False  # "Patient?_getpages=…" instead of absolute URLs
        # What happened, for assertions.
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.faults: list[Fault] = []
        self.delays: list[Delay] = []
        self.tokens_issued = 0
        self.exports_cancelled = 0
        self._lock = threading.RLock()
        self._store: dict[tuple[str, str], Stored] = {}
        self._versions: dict[tuple[str, str], int] = {}
        self._deleted: dict[tuple[str, str], Stored] = {}
        self._searches: dict[str, tuple[str, list[dict[str, Any]], int, list[str]]] = {}
        self._jobs: dict[str, ExportJob] = {}
        self._truncated_types: set[str] = set()
        self._client_keys: dict[str, Any] = {}
        self._used_jtis: set[str] = set()
        self._tokens: dict[str, float] = {}
        self._next_id = 0
        self._httpd: ThreadingHTTPServer | None = None
        # First match wins; {name} is a path segment handed to the handler by that name.
        self._routes = [
            _route("GET", BASE_PATH, self._search_page),
            _route("GET", f"{BASE_PATH}/", self._search_page),
            _route("GET", f"{BASE_PATH}/metadata", self._metadata),
            _route("GET", f"{BASE_PATH}/.well-known/smart-configuration", self._smart),
            _route("POST", TOKEN_PATH, self._token),
            _route("GET", f"{BASE_PATH}/$export", self._export),
            _route("GET", f"{BASE_PATH}/Group/{{group_id}}/$export", self._export),
            _route("GET", f"{BASE_PATH}/bulkstatus/{{job_id}}", self._export_status),
            _route("DELETE", f"{BASE_PATH}/bulkstatus/{{job_id}}", self._cancel),
            _route("GET", f"{BASE_PATH}/bulkfiles/{{job_id}}/{{name}}", self._export_file),
            _route("GET", f"{BASE_PATH}/{{rtype}}", self._search),
            _route("POST", f"{BASE_PATH}/{{rtype}}", self._create),
            _route("GET", f"{BASE_PATH}/{{rtype}}/{{rid}}", self._read),
            _route("PUT", f"{BASE_PATH}/{{rtype}}/{{rid}}", self._update),
            _route("GET", f"{BASE_PATH}/{{rtype}}/{{rid}}/_history/{{vid}}", self._vread),
        ]

    # -- Lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self  # type: ignore[attr-defined]
        thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def origin(self) -> str:
        assert self._httpd is not None, "use the server as a context manager"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}{BASE_PATH}"

    @property
    def token_url(self) -> str:
        return f"{self.origin}{TOKEN_PATH}"

    # -- Store ---------------------------------------------------------------------------

    def put(self, resource: dict[str, Any], *, last_updated: datetime | str | None = None) -> dict:
        """Store a resource (assigning an id if it has none); returns the stored copy."""
        with self._lock:
            stored = copy.deepcopy(resource)
            if not stored.get("id"):
                self._next_id += 1
                stored["id"] = f"srv{self._next_id}"
            key = (stored["resourceType"], stored["id"])
            self._versions[key] = self._versions.get(key, 0) + 1
            updated = _instant(last_updated) if last_updated is not None else self.current_time()
            stored["meta"] = {
                **stored.get("meta", {}),
                "versionId": str(self._versions[key]),
                "lastUpdated": _format_instant(updated),
            }
            self._store[key] = Stored(stored, updated)
            self._deleted.pop(key, None)
            return copy.deepcopy(stored)

    def get(self, resource_type: str, resource_id: str) -> dict[str, Any] | None:
        with self._lock:
            stored = self._store.get((resource_type, resource_id))
            return copy.deepcopy(stored.resource) if stored else None

    def all(self, resource_type: str) -> list[dict[str, Any]]:
        """Every stored resource of one type (e.g. the Tasks PRM wrote back)."""
        with self._lock:
            return [copy.deepcopy(s.resource) for (kind, _id), s in sorted(self._store.items())
                    if kind == resource_type]

    def delete(self, resource_type: str, resource_id: str) -> None:
        """Delete a resource: reads answer 410 and exports with _since list it as deleted."""
        with self._lock:
            key = (resource_type, resource_id)
            stored = self._store.pop(key)
            self._deleted[key] = Stored(stored.resource, self.current_time())

    def current_time(self) -> datetime:
        return self.now or datetime.now(UTC)

    # -- Fault injection and test helpers ------------------------------------------------

    def fail_next(
        self,
        n: int,
        status: int = 500,
        retry_after: float | str | None = None,
        path_contains: str | None = None,
        operation_outcome: str = "Injected failure",
    ) -> Fault:
        """Answer the next ``n`` requests (whose path contains ``path_contains``) with
        ``status`` and an OperationOutcome; before any auth check, like a gateway would."""
        fault = Fault(
            n,
            status,
            None if retry_after is None else str(retry_after),
            path_contains,
            operation_outcome,
        )
        with self._lock:
            self.faults.append(fault)
        return fault

    def delay_next(self, n: int, seconds: float, path_contains: str | None = None) -> Delay:
        delay = Delay(n, seconds, path_contains)
        with self._lock:
            self.delays.append(delay)
        return delay

    def truncate_export_file(self, resource_type: str) -> None:
        """Serve the last export file of this type with its last line cut in half."""
        self._truncated_types.add(resource_type)

    def register_client(self, client_id: str, public_key_pem: str | bytes) -> None:
        """Accept SMART assertions from ``client_id`` signed with this key's private half."""
        self._client_keys[client_id] = public_key_pem

    def revoke_tokens(self) -> None:
        """Forget every issued access token: the next request with one gets a 401."""
        with self._lock:
            self._tokens.clear()

    def requests_to(self, path_contains: str, method: str | None = None) -> list[str]:
        """Paths (with query) of the recorded requests whose path contains the text."""
        with self._lock:
            return [
                path
                for seen_method, path, _ in self.requests
                if path_contains in path and method in (None, seen_method)
            ]

    # -- Dispatch ------------------------------------------------------------------------

    def handle(self, incoming: Incoming) -> Reply:
        with self._lock:
            self.requests.append((incoming.method, incoming.target, incoming.headers))
        self._apply_delay(incoming.target)
        if fault := self._take_fault(incoming.target):
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return outcome_reply(fault.status, fault.text, code="transient", headers=headers)
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(incoming.path)
            if match and method == incoming.method:
                if incoming.path not in OPEN_PATHS and not self._authorised(incoming):
                    challenge = 'Basic realm="fhir"' if self.auth == "basic" else "Bearer"
                    headers = {"WWW-Authenticate": challenge}
                    return outcome_reply(401, "Authentication required", "login", headers)
                return handler(incoming, **match.groupdict())
        return outcome_reply(404, f"No route for {incoming.method} {incoming.path}", "not-found")

    def _apply_delay(self, raw_path: str) -> None:
        with self._lock:
            delay = _first_matching(self.delays, raw_path)
            if delay:
                delay.remaining -= 1
                delay.served += 1
        if delay:
            time.sleep(delay.seconds)

    def _take_fault(self, raw_path: str) -> Fault | None:
        with self._lock:
            fault = _first_matching(self.faults, raw_path)
            if fault:
                fault.remaining -= 1
                fault.served += 1
            return fault

    def _authorised(self, incoming: Incoming) -> bool:
        header = incoming.headers.get("authorization", "")
        if self.auth == "none":
            return True
        if self.auth == "basic":
            expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return header == f"Basic {expected}"
        if self.auth == "bearer":
            return header == f"Bearer {self.bearer_token}"
        with self._lock:
            expires = self._tokens.get(header.removeprefix("Bearer "), 0.0)
        return expires > time.monotonic()

    # -- Capability and SMART ------------------------------------------------------------

    def _metadata(self, incoming: Incoming) -> Reply:
        with self._lock:
            types = sorted({resource_type for resource_type, _ in self._store})
        return json_reply(
            200,
            {
                "resourceType": "CapabilityStatement",
                "status": "active",
                "kind": "instance",
                "fhirVersion": "4.0.1",
                "format": ["json"],
                "rest": [{"mode": "server", "resource": [{"type": name} for name in types]}],
            },
        )

    def _smart(self, incoming: Incoming) -> Reply:
        return json_reply(
            200,
            {
                "token_endpoint": self.token_url,
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
                "scopes_supported": ["system/*.read"],
                "capabilities": ["client-confidential-asymmetric"],
            },
            content_type="application/json",
        )

    def _token(self, incoming: Incoming) -> Reply:
        form = dict(parse_qsl(incoming.body.decode()))
        if form.get("grant_type") != "client_credentials":
            return oauth_error(400, "unsupported_grant_type", "only client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return oauth_error(400, "invalid_request", "a JWT client assertion is required")
        try:
            self._verify_assertion(form.get("client_assertion", ""))
        except jwt.InvalidTokenError as error:
            return oauth_error(401, "invalid_client", str(error))
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_lifetime
            self.tokens_issued += 1
        return json_reply(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.token_lifetime,
                "scope": form.get("scope", ""),
            },
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    def _verify_assertion(self, assertion: str) -> None:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
        client_id = unverified.get("iss")
        if client_id not in self._client_keys:
            raise jwt.InvalidTokenError(f"unknown client {client_id!r}")
        claims = jwt.decode(
            assertion,
            self._client_keys[client_id],
            algorithms=["RS384", "ES384"],
            audience=self.token_url,
            issuer=client_id,
            options={"require": ["exp", "iss", "sub", "aud", "jti"]},
        )
        if claims["sub"] != client_id:
            raise jwt.InvalidTokenError("sub must equal iss")
        with self._lock:
            if claims["jti"] in self._used_jtis:
                raise jwt.InvalidTokenError("assertion jti was already used")
            self._used_jtis.add(claims["jti"])

    # -- REST ----------------------------------------------------------------------------

    def _read(self, incoming: Incoming, rtype: str, rid: str) -> Reply:
        with self._lock:
            stored = self._store.get((rtype, rid))
            gone = (rtype, rid) in self._deleted
        if stored:
            version = stored.resource["meta"]["versionId"]
            return json_reply(200, stored.resource, headers={"ETag": f'W/"{version}"'})
        if gone:
            return outcome_reply(410, f"{rtype}/{rid} has been deleted", "deleted")
        return outcome_reply(404, f"{rtype}/{rid} is not known", "not-found")

    def _vread(self, incoming: Incoming, rtype: str, rid: str, vid: str) -> Reply:
        # Only the current version is kept: older ones are as good as expunged.
        current = self.get(rtype, rid)
        if current is None or current["meta"]["versionId"] != vid:
            return outcome_reply(404, f"{rtype}/{rid}/_history/{vid} is not known", "not-found")
        return json_reply(200, current, headers={"ETag": f'W/"{vid}"'})

    def _create(self, incoming: Incoming, rtype: str) -> Reply:
        resource = _json_body(incoming)
        if not resource or resource.get("resourceType") != rtype:
            return outcome_reply(400, f"body must be a {rtype} resource", "invalid")
        resource.pop("id", None)  # the server assigns ids on create
        return self._written(201, self.put(resource))

    def _update(self, incoming: Incoming, rtype: str, rid: str) -> Reply:
        resource = _json_body(incoming)
        if not resource or resource.get("resourceType") != rtype or resource.get("id") != rid:
            return outcome_reply(400, f"body must be {rtype} with id {rid}", "invalid")
        existed = self.get(rtype, rid) is not None
        return self._written(200 if existed else 201, self.put(resource))

    def _written(self, status: int, stored: dict[str, Any]) -> Reply:
        version = stored["meta"]["versionId"]
        location = f"{self.base_url}/{stored['resourceType']}/{stored['id']}/_history/{version}"
        headers = {"Location": location, "ETag": f'W/"{version}"'}
        if self.minimal_write_replies:
            return Reply(status, b"", headers)
        return json_reply(status, stored, headers=headers)

    # -- Search --------------------------------------------------------------------------

    def _search(self, incoming: Incoming, rtype: str) -> Reply:
        if incoming.param("_getpages"):
            return self._search_page(incoming)
        warnings = []
        for name, _ in incoming.query:
            if name not in SEARCH_CONTROL | SEARCH_FILTERS:
                if not self.lenient:
                    return outcome_reply(400, f"Unknown search parameter '{name}'", "not-supported")
                warnings.append(f"Ignored unknown search parameter '{name}'")
        try:
            matches = self._matches(rtype, incoming)
            count = int(incoming.param("_count") or self.default_page_size)
        except ValueError as error:
            return outcome_reply(400, str(error), "invalid")
        search_id = secrets.token_hex(8)
        with self._lock:
            # A snapshot: later writes cannot shift pages under a client mid-way.
            self._searches[search_id] = (rtype, matches, max(count, 1), warnings)
        return self._page(search_id, 0)

    def _search_page(self, incoming: Incoming) -> Reply:
        search_id = incoming.param("_getpages") or ""
        if search_id not in self._searches:
            return outcome_reply(404, "This search has expired or never existed", "not-found")
        return self._page(search_id, int(incoming.param("_getpagesoffset") or 0))

    def _page(self, search_id: str, offset: int) -> Reply:
        rtype, matches, count, warnings = self._searches[search_id]
        page = matches[offset : offset + count]
        entries: list[dict[str, Any]] = [
            {
                "fullUrl": f"{self.base_url}/{rtype}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in page
        ]
        if offset == 0 and warnings:
            outcome = operation_outcome("; ".join(warnings), "not-supported", "warning")
            entries.append({"resource": outcome, "search": {"mode": "outcome"}})
        links = [{"relation": "self", "url": self._page_url(rtype, search_id, offset, count)}]
        if offset + count < len(matches):
            next_url = self._page_url(rtype, search_id, offset + count, count)
            links.append({"relation": "next", "url": next_url})
        return json_reply(
            200,
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(matches),
                "link": links,
                "entry": entries,
            },
        )

    def _page_url(self, rtype: str, search_id: str, offset: int, count: int) -> str:
        # Opaque to clients, as on HAPI: the token names a server-side snapshot.
        query = f"?_getpages={search_id}&_getpagesoffset={offset}&_count={count}"
        return f"{rtype}{query}" if self.relative_next_links else f"{self.base_url}{query}"

    def _matches(self, rtype: str, incoming: Incoming) -> list[dict[str, Any]]:
        checks = [
            _search_check(name, value) for name, value in incoming.query if name in SEARCH_FILTERS
        ]
        with self._lock:
            found = [
                stored
                for (stored_type, _), stored in self._store.items()
                if stored_type == rtype and all(check(stored) for check in checks)
            ]
        found.sort(key=lambda stored: (stored.updated, stored.resource["id"]))
        return [copy.deepcopy(stored.resource) for stored in found]

    # -- Bulk export ---------------------------------------------------------------------

    def _export(self, incoming: Incoming, group_id: str | None = None) -> Reply:
        if incoming.headers.get("prefer") != "respond-async":
            return outcome_reply(400, "Prefer: respond-async is required", "invalid")
        output_format = incoming.param("_outputFormat")
        if output_format and output_format not in NDJSON_FORMATS:
            return outcome_reply(400, f"Unsupported _outputFormat {output_format}", "invalid")
        types = incoming.param("_type")
        type_set = set(types.split(",")) if types else None
        try:
            since = _instant(incoming.param("_since")) if incoming.param("_since") else None
        except ValueError:
            return outcome_reply(400, f"_since is not a FHIR instant: {incoming.param('_since')}")
        members = self._group_members(group_id) if group_id else None
        if members is None and group_id:
            return outcome_reply(404, f"Group/{group_id} is not known", "not-found")
        job_id = secrets.token_hex(8)
        job = self._build_job(job_id, self.origin + incoming.target, type_set, since, members)
        with self._lock:
            self._jobs[job_id] = job
        return Reply(202, headers={"Content-Location": f"{self.base_url}/bulkstatus/{job_id}"})

    def _group_members(self, group_id: str) -> set[str] | None:
        group = self.get("Group", group_id)
        if group is None:
            return None
        return {member["entity"]["reference"] for member in group.get("member", [])}

    def _build_job(
        self,
        job_id: str,
        request_url: str,
        types: set[str] | None,
        since: datetime | None,
        members: set[str] | None,
    ) -> ExportJob:
        def wanted(stored: Stored) -> bool:
            resource = stored.resource
            return (
                (types is None or resource["resourceType"] in types)
                and (since is None or stored.updated >= since)
                and (members is None or _in_group(resource, members))
            )

        with self._lock:
            transaction_time = _format_instant(self.current_time())
            current = sorted(
                (s for s in self._store.values() if wanted(s)),
                key=lambda s: (s.resource["resourceType"], s.updated),
            )
            deleted = [s for s in self._deleted.values() if since is not None and wanted(s)]
        job = ExportJob(request_url, transaction_time, {}, [], [])
        by_type: dict[str, list[bytes]] = {}
        for stored in current:
            by_type.setdefault(stored.resource["resourceType"], []).append(_ndjson(stored.resource))
        for rtype, lines in by_type.items():
            job.output.extend(self._add_files(job, job_id, rtype, rtype, lines))
        if deleted:
            lines = [_ndjson(_deletion_bundle(s.resource)) for s in deleted]
            job.deleted.extend(self._add_files(job, job_id, "Bundle", "deleted", lines))
        return job

    def _add_files(
        self, job: ExportJob, job_id: str, rtype: str, stem: str, lines: list[bytes]
    ) -> list[dict[str, Any]]:
        size = self.export_file_size or len(lines)
        entries = []
        for number, start in enumerate(range(0, len(lines), size), start=1):
            name = f"{stem}-{number}.ndjson"
            chunk = lines[start : start + size]
            job.files[name] = (rtype, chunk)
            url = f"{self.base_url}/bulkfiles/{job_id}/{name}"
            entries.append({"type": rtype, "url": url, "count": len(chunk)})
        return entries

    def _export_status(self, incoming: Incoming, job_id: str) -> Reply:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return outcome_reply(404, "No such export (cancelled or expired)", "not-found")
            if job.polls < self.export_polls:
                job.polls += 1
                return Reply(
                    202,
                    headers={
                        "Retry-After": str(self.export_retry_after),
                        "X-Progress": f"in progress ({job.polls}/{self.export_polls})",
                    },
                )
        return json_reply(
            200,
            {
                "transactionTime": job.transaction_time,
                "request": job.request_url,
                "requiresAccessToken": self.auth != "none",
                "output": job.output,
                "deleted": job.deleted,
                "error": [],
            },
            content_type="application/json",
        )

    def _cancel(self, incoming: Incoming, job_id: str) -> Reply:
        with self._lock:
            if self._jobs.pop(job_id, None) is None:
                return outcome_reply(404, "No such export (cancelled or expired)", "not-found")
            self.exports_cancelled += 1
        return json_reply(
            202, operation_outcome("Export cancelled", "informational", "information")
        )

    def _export_file(self, incoming: Incoming, job_id: str, name: str) -> Reply:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or name not in job.files:
                return outcome_reply(404, f"No export file {name}", "not-found")
            rtype, lines = job.files[name]
            names_of_type = [n for n, (file_type, _) in job.files.items() if file_type == rtype]
            truncate = rtype in self._truncated_types and name == names_of_type[-1]
        body = b"".join(lines)
        if truncate:
            # A connection that died mid-line: the last line stops half-way, no newline.
            body = b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2]
        return Reply(200, body, {"Content-Type": "application/fhir+ndjson"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects from real servers
    # Headers and body go out in two writes; with Nagle on, the second waits for a
    # delayed ACK and every request takes 40 ms.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_GET

    def _dispatch(self) -> None:
        fake: FakeFhirServer = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        incoming = Incoming(
            self.command,
            self.path,
            parts.path,
            parse_qsl(parts.query, keep_blank_values=True),
            {name.lower(): value for name, value in self.headers.items()},
            body,
        )
        try:
            reply = fake.handle(incoming)
        except Exception as error:  # a bug in the fake: say so instead of hanging up
            reply = outcome_reply(500, f"fake server error: {error!r}", "exception")
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up waiting (timeout tests): nobody to answer.
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest output is for failures."""


# -- Replies ---------------------------------------------------------------------------


def json_reply(
    status: int,
    payload: dict[str, Any],
    *,
    content_type: str = "application/fhir+json",
    headers: dict[str, str] | None = None,
) -> Reply:
    body = json.dumps(payload).encode()
    return Reply(status, body, {"Content-Type": content_type, **(headers or {})})


def operation_outcome(text: str, code: str, severity: str = "error") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": text}],
    }


def outcome_reply(
    status: int, text: str, code: str = "processing", headers: dict[str, str] | None = None
) -> Reply:
    return json_reply(status, operation_outcome(text, code), headers=headers)


def oauth_error(status: int, error: str, description: str) -> Reply:
    payload = {"error": error, "error_description": description}
    return json_reply(status, payload, content_type="application/json")


# -- Helpers ---------------------------------------------------------------------------

Route = tuple[str, re.Pattern[str], Callable[..., Reply]]
_SEGMENTS = {
    "rtype": r"[A-Z][A-Za-z]+",
    "rid": r"[A-Za-z0-9.-]+",
    "vid": r"[A-Za-z0-9.-]+",
    "group_id": r"[A-Za-z0-9.-]+",
    "job_id": r"[0-9a-f]+",
    "name": r"[\w.-]+",
}


def _route(method: str, template: str, handler: Callable[..., Reply]) -> Route:
    """``/fhir/{rtype}/{rid}`` → a pattern with named groups; the rest matches literally."""
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>{_SEGMENTS[part]})"
        for index, part in enumerate(parts)
    )
    return method, re.compile(pattern), handler


def _first_matching(rules: list[Any], raw_path: str) -> Any:
    return next(
        (
            rule
            for rule in rules
            if rule.remaining > 0 and (rule.path_contains is None or rule.path_contains in raw_path)
        ),
        None,
    )


def _search_check(name: str, value: str) -> Callable[[Stored], bool]:
    if name == "_lastUpdated":
        return _last_updated_check(value)
    if name == "_id":
        ids = set(value.split(","))
        return lambda stored: stored.resource["id"] in ids
    wanted = {value, value.rsplit("/", 1)[-1]}  # "Patient/p1" or "p1"
    return lambda stored: _reference_id(stored.resource, name) in wanted


def _last_updated_check(value: str) -> Callable[[Stored], bool]:
    comparisons: dict[str, Callable[[datetime, datetime], bool]] = {
        "ge": lambda a, b: a >= b,
        "gt": lambda a, b: a > b,
        "le": lambda a, b: a <= b,
        "lt": lambda a, b: a < b,
    }
    prefix, instant = value[:2], value[2:]
    if prefix not in comparisons:
        raise ValueError(f"_lastUpdated needs a ge/gt/le/lt prefix: {value!r}")
    bound = _instant(instant)
    return lambda stored: comparisons[prefix](stored.updated, bound)


def _reference_id(resource: dict[str, Any], name: str) -> str | None:
    reference = (resource.get(name) or {}).get("reference", "")
    return reference.rsplit("/", 1)[-1] if reference else None


def _in_group(resource: dict[str, Any], members: set[str]) -> bool:
    if resource["resourceType"] == "Patient":
        return f"Patient/{resource['id']}" in members
    references = {(resource.get(name) or {}).get("reference") for name in ("subject", "patient")}
    return bool(references & members)


def _deletion_bundle(resource: dict[str, Any]) -> dict[str, Any]:
    """Bulk Data: a deleted resource is a transaction Bundle with a DELETE entry."""
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"request": {"method": "DELETE", "url": f"{resource['resourceType']}/{resource['id']}"}}
        ],
    }


def _ndjson(resource: dict[str, Any]) -> bytes:
    return json.dumps(resource, separators=(",", ":")).encode() + b"\n"


def _json_body(incoming: Incoming) -> dict[str, Any] | None:
    try:
        payload = json.loads(incoming.body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _instant(value: datetime | str) -> datetime:
    """A FHIR instant or date as an aware datetime (UTC when no zone is given)."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _format_instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
