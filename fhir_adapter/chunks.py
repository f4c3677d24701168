"""Parse, check and map a chunk of input: runs in the import's worker processes, so it
touches no database and returns only picklable records, quarantine entries and counts.

Every input resource is counted exactly once: read, then either skipped (a type or
category PRM does not use), quarantined (not JSON, not valid FHIR, not mappable), or
handed to ingest (which counts it imported, unchanged or waiting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import orjson

from fhir_adapter.mapping import MappingConfig, MappingError, cheap_skip, map_resource
from prm.ingest.records import DeletedRecord, QuarantineRecord, SourceKey

RAW_PREVIEW = 1_000_000


@dataclass
class ChunkResult:
    records: list = field(default_factory=list)
    quarantined: list[QuarantineRecord] = field(default_factory=list)
    # resource type → [read, skipped, quarantined]
    counts: dict[str, list[int]] = field(default_factory=dict)

    def quarantine(self, config: MappingConfig, origin: str, error: str, raw: str,
                   resource_type: str, resource_id: str = "") -> None:
        self.quarantined.append(QuarantineRecord(
            server=config.server, origin=origin, error=error, raw=raw[:RAW_PREVIEW],
            resource_type=resource_type, resource_id=resource_id))
        self.counts.setdefault(resource_type or "unknown", [0, 0, 0])[2] += 1


def map_lines(lines: list[bytes], origin: str, first_line: int, file_type: str,
              config: MappingConfig, deleted: bool = False) -> ChunkResult:
    result = ChunkResult()
    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        where = f"{origin}:{number}"
        try:
            resource = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            _count(result, file_type or "unknown", read=True)
            result.quarantine(config, where, f"Not valid JSON (truncated line?): {error}",
                              line.decode("utf-8", "replace"), file_type or "unknown")
            continue
        if deleted:
            _deleted_bundle(result, resource, config, where)
        else:
            _one(result, resource, config, where, refs=None, raw=line)
    return result


def map_bundle(path: Path, config: MappingConfig) -> ChunkResult:
    """A Bundle file (transaction, batch, searchset, collection) or a single resource."""
    result = ChunkResult()
    raw = path.read_bytes()
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        _count(result, "Bundle", read=True)
        result.quarantine(config, str(path), f"Not valid JSON: {error}",
                          raw.decode("utf-8", "replace"), "Bundle")
        return result
    if document.get("resourceType") != "Bundle":
        _one(result, document, config, str(path), refs=None)
        return result
    entries = [e for e in document.get("entry") or [] if isinstance(e, dict)]
    for entry in entries:
        _id_from_full_url(entry)
    refs = _full_url_refs(entries)
    for index, entry in enumerate(entries):
        where = f"{path}#entry[{index}]"
        request = entry.get("request") or {}
        if request.get("method") == "DELETE":
            _delete_entry(result, request.get("url", ""), config, where)
        elif isinstance(entry.get("resource"), dict):
            _one(result, entry["resource"], config, where, refs=refs)
    return result


def _one(result: ChunkResult, resource, config: MappingConfig, where: str, *, refs,
         raw: bytes | None = None) -> None:
    if not isinstance(resource, dict):
        _count(result, "unknown", read=True)
        result.quarantine(config, where, "Not a FHIR resource (not a JSON object)",
                          str(resource), "unknown")
        return
    resource_type = str(resource.get("resourceType") or "unknown")
    _count(result, resource_type, read=True)
    if cheap_skip(resource):
        result.counts[resource_type][1] += 1
        return
    try:
        records = map_resource(resource, config, refs)
    except MappingError as error:
        text = raw.decode("utf-8", "replace") if raw else orjson.dumps(resource).decode()
        result.quarantine(config, where, str(error), text, resource_type,
                          str(resource.get("id") or ""))
        return
    if not records:
        result.counts[resource_type][1] += 1
    result.records.extend(records)


def _deleted_bundle(result: ChunkResult, bundle, config: MappingConfig, where: str) -> None:
    """A bulk export's ``deleted`` file: Bundles whose entries are DELETE requests."""
    for entry in (bundle.get("entry") or []) if isinstance(bundle, dict) else []:
        _delete_entry(result, (entry.get("request") or {}).get("url", ""), config, where)


def _delete_entry(result: ChunkResult, url: str, config: MappingConfig, where: str) -> None:
    parts = url.split("?")[0].strip("/").split("/")
    resource_type = parts[-2] if len(parts) >= 2 else "unknown"
    _count(result, resource_type, read=True)
    if len(parts) < 2:
        result.quarantine(config, where, f"A delete without Type/id: {url!r}", url,
                          resource_type)
        return
    result.records.append(DeletedRecord(SourceKey(config.server, parts[-2], parts[-1])))


def _id_from_full_url(entry: dict) -> None:
    """A transaction entry POSTed with only a ``urn:uuid:`` fullUrl: that uuid is its id."""
    resource, full_url = entry.get("resource"), str(entry.get("fullUrl") or "")
    if isinstance(resource, dict) and not resource.get("id") and full_url.startswith(
            "urn:uuid:"):
        resource["id"] = full_url.removeprefix("urn:uuid:")


def _full_url_refs(entries: list) -> dict[str, str]:
    """Transaction bundles refer to each other by fullUrl (``urn:uuid:…``)."""
    refs = {}
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and entry.get("fullUrl") and resource.get("id"):
            refs[entry["fullUrl"]] = f"{resource.get('resourceType')}/{resource['id']}"
    return refs


def _count(result: ChunkResult, resource_type: str, *, read: bool) -> None:
    counts = result.counts.setdefault(resource_type, [0, 0, 0])
    if read:
        counts[0] += 1


def map_resources(resources: list, config: MappingConfig, *, origin: str,
                  refs: dict | None = None) -> ChunkResult:
    """Resources already parsed (a REST search page, a notification)."""
    result = ChunkResult()
    for index, resource in enumerate(resources):
        _one(result, resource, config, f"{origin}#{index}", refs=refs)
    return result
