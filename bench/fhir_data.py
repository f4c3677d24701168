"""A deterministic Synthea-like FHIR bulk-export folder of a wanted size, for
``bench/fhir_import.py``.

    .venv/bin/python bench/fhir_data.py [--size-mb 110] [--seed 1] [--fixtures DIR]

The resources of the real Synthea sample bundles (six patients, plus the hospital and
practitioner bundles) are cloned patient by patient until the output reaches the wanted
size, so the type mix stays the sample's: Observation-heavy, one Claim and one
ExplanationOfBenefit per encounter, Immunization, Condition, Procedure, … Each clone gets
fresh ids (uuid5 of the seed, the clone number and the original id), references become
``Type/id``, conditional references resolve to the shared Organization/Practitioner they
name (or are dropped), and every resource gets ``meta.versionId``/``lastUpdated``.

The folder (one ndjson file per type and a Bulk Data ``manifest.json``) is written line
by line and kept under ``bench/out/``; a folder made with the same parameters is reused.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DEFAULT_FIXTURES = ROOT / "tests" / "fixtures" / "synthea-r4"
DEFAULT_SIZE_MB = 110
# Bump when the output would change for the same parameters, so cached folders are redone.
GENERATOR_VERSION = 1
SHARED_TYPES = ("Organization", "Practitioner")
TRANSACTION_TIME = "2026-11-01T20:00:00.000+07:00"
LAST_UPDATED = "2026-11-01T12:59:00.000+00:00"
EXPORT_REQUEST = "https://fhir.example.org/fhir/$export?_outputFormat=application/fhir+ndjson"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MB = 1024 * 1024


@dataclass
class Shared:
    """Organizations and practitioners: written once, referred to by every clone."""

    new_ids: dict[str, str] = field(default_factory=dict)  # original id → new id
    types: dict[str, str] = field(default_factory=dict)  # original id → resource type
    by_identifier: dict[str, str] = field(default_factory=dict)  # "Type|system|value" → id
    resources: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Template:
    """One sample patient's resources, references rewritten to ``Type/<original id>``
    (shared ones already to their final id), as compact JSON ready to clone."""

    name: str
    lines: list[tuple[str, str]]  # (resource type, JSON text)
    patient_index: int  # which line is the Patient (its identifiers are redone per clone)


def ensure(size_mb: float = DEFAULT_SIZE_MB, seed: int = 1,
           fixtures: Path = DEFAULT_FIXTURES) -> Path:
    """The export folder for these parameters: reused when present, else generated."""
    params = {"size_mb": size_mb, "seed": seed, "version": GENERATOR_VERSION,
              "fixtures": _fixtures_digest(fixtures)}
    folder = OUT / f"fhir-synthea-{size_mb:g}mb-seed{seed}"
    stamp = folder / "params.json"
    if stamp.exists() and json.loads(stamp.read_text()) == params:
        return folder
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    generate(partial, int(size_mb * _MB), seed, fixtures)
    (partial / "params.json").write_text(json.dumps(params, indent=2))
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def _fixtures_digest(fixtures: Path) -> str:
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(fixtures.glob("*.json")):
        digest.update(path.name.encode())
        digest.update(str(path.stat().st_size).encode())
    return digest.hexdigest()


def generate(folder: Path, target_bytes: int, seed: int, fixtures: Path) -> dict[str, int]:
    """Write the export; returns the resource count per type."""
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"prm-bench-fhir/{seed}")
    shared = load_shared(fixtures, namespace)
    templates = load_templates(fixtures, shared)
    keep = frozenset(shared.new_ids.values())
    if not templates:
        raise SystemExit(f"no Synthea patient bundles in {fixtures}")
    folder.mkdir(parents=True)
    out = _Output(folder)
    try:
        for resource in shared.resources:
            out.write(resource["resourceType"], orjson.dumps(resource))
        for clone, template in _clones(templates):
            _write_clone(out, template, clone, namespace, keep)
            if out.bytes >= target_bytes:
                break
    finally:
        out.close()
    _write_manifest(folder, out.counts)
    return out.counts


def _clones(templates: list[Template]) -> Iterator[tuple[int, Template]]:
    clone = 0
    while True:
        for template in templates:
            yield clone, template
            clone += 1


class _Output:
    """One open ndjson file per resource type; counts lines and bytes as it goes."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.files: dict[str, IO[bytes]] = {}
        self.counts: dict[str, int] = {}
        self.bytes = 0

    def write(self, resource_type: str, line: bytes) -> None:
        stream = self.files.get(resource_type)
        if stream is None:
            stream = self.files[resource_type] = open(  # noqa: SIM115 - closed in close()
                self.folder / f"{resource_type}.ndjson", "wb")
        stream.write(line)
        stream.write(b"\n")
        self.counts[resource_type] = self.counts.get(resource_type, 0) + 1
        self.bytes += len(line) + 1

    def close(self) -> None:
        for stream in self.files.values():
            stream.close()


def _write_manifest(folder: Path, counts: dict[str, int]) -> None:
    manifest = {
        "transactionTime": TRANSACTION_TIME,
        "request": EXPORT_REQUEST,
        "requiresAccessToken": False,
        "output": [{"type": name, "url": f"{name}.ndjson", "count": count}
                   for name, count in sorted(counts.items())],
        "error": [],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


# --- loading the sample -------------------------------------------------------------------


def _bundles(fixtures: Path) -> list[tuple[Path, list[dict[str, Any]]]]:
    bundles = []
    for path in sorted(fixtures.glob("*.json")):
        document = orjson.loads(path.read_bytes())
        if document.get("resourceType") == "Bundle":
            bundles.append((path, document.get("entry") or []))
    return bundles


def load_shared(fixtures: Path, namespace: uuid.UUID) -> Shared:
    """Every Organization and Practitioner of the sample, once (by id), with new ids."""
    shared = Shared()
    for _path, entries in _bundles(fixtures):
        for entry in entries:
            resource = entry.get("resource") or {}
            kind, original = resource.get("resourceType"), resource.get("id")
            if kind not in SHARED_TYPES or not original or original in shared.new_ids:
                continue
            new_id = str(uuid.uuid5(namespace, f"shared/{original}"))
            shared.new_ids[original], shared.types[original] = new_id, kind
            for identifier in resource.get("identifier") or ():
                shared.by_identifier[
                    f"{kind}|{identifier.get('system', '')}|{identifier.get('value', '')}"
                ] = new_id
            shared.resources.append(_with_meta({**resource, "id": new_id}))
    return shared


def load_templates(fixtures: Path, shared: Shared) -> list[Template]:
    """The patient bundles, references rewritten, as compact JSON lines."""
    templates = []
    for path, entries in _bundles(fixtures):
        resources = [e["resource"] for e in entries if isinstance(e.get("resource"), dict)]
        patients = [i for i, r in enumerate(resources) if r.get("resourceType") == "Patient"]
        if len(patients) != 1:
            continue  # the hospital and practitioner bundles
        local = {e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}"
                 for e in entries if e.get("fullUrl") and isinstance(e.get("resource"), dict)}
        lines, patient_index = [], 0
        for resource in resources:
            kind = resource["resourceType"]
            if kind in SHARED_TYPES:
                continue  # written once from the shared set
            if kind == "Patient":
                patient_index = len(lines)
            rewritten = _with_meta(_rewrite(resource, local, shared))
            lines.append((kind, orjson.dumps(rewritten).decode()))
        templates.append(Template(path.stem, lines, patient_index))
    return templates


def _with_meta(resource: dict[str, Any]) -> dict[str, Any]:
    meta = {**(resource.get("meta") or {}), "versionId": "1", "lastUpdated": LAST_UPDATED}
    return {**resource, "meta": meta}


def _rewrite(value: Any, local: dict[str, str], shared: Shared) -> Any:
    """A copy of ``value`` with every Reference.reference turned into ``Type/id``."""
    if isinstance(value, list):
        return [_rewrite(item, local, shared) for item in value]
    if not isinstance(value, dict):
        return value
    result = {key: _rewrite(item, local, shared) for key, item in value.items()}
    reference = result.get("reference")
    if isinstance(reference, str) and not reference.startswith("#"):
        target = _resolve(reference, local, shared)
        if target is not None:
            result["reference"] = target
        else:
            # Conditional or unknown: a Reference must keep some content, so keep a display.
            del result["reference"]
            result.setdefault("display", reference)
    return result


def _resolve(reference: str, local: dict[str, str], shared: Shared) -> str | None:
    if reference.startswith("urn:uuid:"):
        target = local.get(reference)
        if target is None:
            return None
        kind, original = target.split("/", 1)
        return f"{kind}/{shared.new_ids.get(original, original)}"
    if "?" in reference:
        return _conditional(reference, shared)
    kind, _, original = reference.rpartition("/")
    return f"{kind}/{shared.new_ids.get(original, original)}" if kind else None


def _conditional(reference: str, shared: Shared) -> str | None:
    """``Practitioner?identifier=system|value`` → ``Practitioner/<id>`` when known."""
    kind, _, query = reference.partition("?")
    for part in query.split("&"):
        name, _, wanted = part.partition("=")
        if name == "identifier" and "|" in wanted:
            system, _, value = wanted.partition("|")
            found = shared.by_identifier.get(f"{kind}|{system}|{value}")
            if found:
                return f"{kind}/{found}"
    return None


# --- cloning ----------------------------------------------------------------------------


def _write_clone(out: _Output, template: Template, clone: int, namespace: uuid.UUID,
                 keep: frozenset[str]) -> None:
    # Every uuid in a template is one of the patient's own, except the shared ones
    # (already their new ids, in ``keep``): give it a fresh one.
    fresh: dict[str, str] = {}

    def new_id(match: re.Match[str]) -> str:
        original = match[0]
        if original in keep:
            return original
        if original not in fresh:
            fresh[original] = str(uuid.uuid5(namespace, f"{clone}/{original}"))
        return fresh[original]

    for index, (kind, text) in enumerate(template.lines):
        line = _UUID.sub(new_id, text)
        if index == template.patient_index:
            line = _new_identity(line, clone)
        out.write(kind, line.encode())


def _new_identity(text: str, clone: int) -> str:
    """Fresh SSN, driver's licence and passport numbers, so no two clones share them."""
    patient = orjson.loads(text)
    stream = hashlib.blake2b(f"{clone}/{patient['id']}".encode(), digest_size=32).hexdigest()
    for identifier in patient.get("identifier") or ():
        value = identifier.get("value")
        if isinstance(value, str) and not _UUID.fullmatch(value):
            identifier["value"] = _redigit(value, stream)
    return orjson.dumps(patient).decode()


def _redigit(value: str, stream: str) -> str:
    digits = iter(str(int(stream, 16)))
    return "".join(next(digits) if char.isdigit() else char for char in value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=DEFAULT_SIZE_MB)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    args = parser.parse_args()
    folder = ensure(args.size_mb, args.seed, args.fixtures)
    manifest = json.loads((folder / "manifest.json").read_text())
    total = sum(entry["count"] for entry in manifest["output"])
    size = sum(p.stat().st_size for p in folder.glob("*.ndjson"))
    print(f"{folder.name}: {size / _MB:.1f} MB, {total:,} resources")
    for entry in manifest["output"]:
        print(f"  {entry['type']:<22} {entry['count']:>9,}")


if __name__ == "__main__":
    main()
