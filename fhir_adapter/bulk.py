"""FHIR Bulk Data ``$export``: kick-off, status polling, download of the ndjson files into
a directory with a local ``manifest.json`` (what ``prm fhir import`` reads), and
cancellation.

Downloads are resumable: a finished file gets a ``.done`` marker holding its size (and a
hash of its source URL), and a later run skips files whose size and source still match.
The local manifest is written last, so its presence means every file is complete.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from fhir_adapter.client import FHIR_JSON, NDJSON, FhirClient, FhirError, retry_after_seconds

MANIFEST_NAME = "manifest.json"
# Manifest lists whose entries are files to fetch; "error" holds OperationOutcome ndjson.
FILE_LISTS = ("output", "deleted", "error")
# Polling pace when the server gives no Retry-After: start quick, back off to a minute.
FIRST_POLL_SECONDS = 2.0
MAX_POLL_SECONDS = 60.0
_GROUP_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_SAFE_TYPE = re.compile(r"[A-Za-z]{1,64}")


def start_export(
    client: FhirClient,
    *,
    group_id: str | None = None,
    types: Sequence[str] | None = None,
    since: datetime | str | None = None,
    type_filters: Sequence[str] | None = None,
) -> str:
    """Kick off a system-level or Group-level export; returns the absolute status URL."""
    path = "$export"
    if group_id is not None:
        if not _GROUP_ID.fullmatch(group_id):
            raise ValueError(f"not a FHIR Group id: {group_id!r}")
        path = f"Group/{group_id}/$export"
    params = [("_outputFormat", NDJSON)]
    if types:
        params.append(("_type", ",".join(types)))
    if since is not None:
        params.append(("_since", fhir_instant(since)))
    # One parameter per filter: a filter is a query that may itself contain commas.
    params.extend(("_typeFilter", type_filter) for type_filter in type_filters or ())
    response = client.request(
        "GET", path, params=params, headers={"Prefer": "respond-async", "Accept": FHIR_JSON}
    )
    if response.status_code != 202:
        raise FhirError(
            f"GET {path} answered {response.status_code} instead of 202 Accepted",
            status=response.status_code,
        )
    status_url = response.headers.get("Content-Location")
    if not status_url:
        raise FhirError(f"GET {path} accepted the export but sent no Content-Location")
    return client.resolve_url(status_url)


def wait_for_export(
    client: FhirClient,
    status_url: str,
    *,
    timeout_seconds: float = 3600,
    on_progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Poll the status URL until the manifest is ready and return it.

    202 means "still working": wait Retry-After (or a growing default) and report the
    X-Progress text. A 4xx/5xx becomes a FhirError with the OperationOutcome text, after
    the client's usual retries for 429 and 5xx."""
    deadline = client.clock() + timeout_seconds
    polls = 0
    while True:
        response = client.request("GET", status_url, headers={"Accept": "application/json"})
        if response.status_code == 200:
            return _manifest(response.json() if response.content else None, status_url)
        if response.status_code != 202:
            raise FhirError(
                f"export status answered {response.status_code}, expected 200 or 202",
                status=response.status_code,
            )
        if on_progress is not None:
            on_progress(response.headers.get("X-Progress", ""))
        delay = retry_after_seconds(response.headers.get("Retry-After"))
        if delay is None:
            delay = min(MAX_POLL_SECONDS, FIRST_POLL_SECONDS * 1.5**polls)
        if client.clock() + delay > deadline:
            raise FhirError(f"export not finished after {timeout_seconds:g} s")
        client.sleep(delay)
        polls += 1


def download_export(client: FhirClient, manifest: dict[str, Any], dest_dir: Path | str) -> Path:
    """Fetch every output, deleted and error file into ``dest_dir``; returns the path of
    the local manifest, whose ``url``s are the local file names."""
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    # Per the spec the token goes with file requests only when the manifest asks for it
    # (files may live on storage that would reject or leak it).
    authenticated = bool(manifest.get("requiresAccessToken"))
    local = {key: value for key, value in manifest.items() if key not in FILE_LISTS}
    for kind in FILE_LISTS:
        local[kind] = _download_list(client, kind, manifest.get(kind) or [], dest, authenticated)
    manifest_path = dest / MANIFEST_NAME
    _write_atomically(manifest_path, json.dumps(local, indent=2, ensure_ascii=False).encode())
    return manifest_path


def cancel_export(client: FhirClient, status_url: str) -> None:
    """Ask the server to stop the export and delete its files (DELETE on the status URL)."""
    client.request("DELETE", status_url)


def fhir_instant(value: datetime | str) -> str:
    """A FHIR instant: a timezone is required, so naive datetimes are refused."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("_since needs a timezone-aware datetime")
    return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")


def _manifest(payload: Any, status_url: str) -> dict[str, Any]:
    if not isinstance(payload, dict) or not isinstance(payload.get("output"), list):
        raise FhirError(f"export at {status_url} completed without a manifest with output[]")
    return payload


def _download_list(
    client: FhirClient,
    kind: str,
    entries: list[Any],
    dest: Path,
    authenticated: bool,
) -> list[dict[str, Any]]:
    """Download one manifest list; returns its entries with ``url`` set to the file name."""
    local_entries = []
    files_per_type: dict[str, int] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("url"):
            raise FhirError(f"export manifest has a {kind} entry without a url")
        file_type = str(entry.get("type") or "")
        # The type becomes part of a file name: nothing but letters may reach the disk path.
        safe_type = file_type if _SAFE_TYPE.fullmatch(file_type) else "Unknown"
        files_per_type[safe_type] = files_per_type.get(safe_type, 0) + 1
        prefix = "" if kind == "output" else f"{kind}."
        name = f"{prefix}{safe_type}.{files_per_type[safe_type]:03d}.ndjson"
        _download_file(client, entry["url"], dest / name, authenticated)
        local_entries.append({**entry, "url": name})
    return local_entries


def _download_file(client: FhirClient, url: str, path: Path, authenticated: bool) -> None:
    marker = path.with_name(f"{path.name}.done")
    source = _source_key(url)
    if _already_downloaded(path, marker, source):
        return
    marker.unlink(missing_ok=True)
    partial = path.with_name(f"{path.name}.part")
    size = 0
    with partial.open("wb") as out:
        # Line by line keeps memory flat for multi-gigabyte files; bytes are written as
        # received, so a truncated last line stays visible to the importer.
        for line in client.stream_lines(url, authenticated=authenticated):
            out.write(line)
            size += len(line)
    partial.replace(path)
    marker.write_text(json.dumps({"size": size, "source": source}))


def _already_downloaded(path: Path, marker: Path, source: str) -> bool:
    try:
        done = json.loads(marker.read_text())
        return done["source"] == source and path.stat().st_size == done["size"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _source_key(url: str) -> str:
    """Ties a marker to the export it came from, so a new export with a file of the same
    name is fetched again. Hashed: a signed download URL is a secret."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f"{path.name}.part")
    partial.write_bytes(data)
    partial.replace(path)
