"""What ``prm fhir import`` reads: Bundle files, ndjson files and bulk-export
directories (with ``manifest.json``), turned into an ordered list of inputs.

Bulk files are read in an order that lets most references resolve on arrival
(organizations and patients before what refers to them); anything else still works,
only with more records waiting a while.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# Resource types in the order their files are imported; unknown types go last.
TYPE_ORDER = (
    "Organization", "Practitioner", "Patient", "Coverage", "Encounter", "Appointment",
    "MedicationRequest", "MedicationDispense", "Observation", "DiagnosticReport",
    "ExplanationOfBenefit", "Claim",
)


class SourceError(Exception):
    """An input cannot be read at all (missing file, unreadable manifest)."""


@dataclass(frozen=True)
class InputFile:
    path: Path
    kind: str  # "ndjson" | "bundle" | "deleted"
    resource_type: str = ""  # from the manifest, when known

    @property
    def file_key(self) -> str:
        """Path, size and modification time: a rewritten file is read again."""
        stat = self.path.stat()
        return f"{self.path.resolve()}:{stat.st_size}:{int(stat.st_mtime)}"[-600:]


def collect(paths: list[str | Path]) -> list[InputFile]:
    inputs: list[InputFile] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise SourceError(f"{path}: no such file or directory")
        if path.is_dir():
            inputs.extend(_directory(path))
        else:
            inputs.append(_file(path))
    return inputs


def _file(path: Path, resource_type: str = "") -> InputFile:
    name = path.name.lower()
    if name.endswith((".ndjson", ".ndjson.gz", ".jsonl")):
        return InputFile(path, "ndjson", resource_type or _type_from_name(path))
    if name.endswith(".json"):
        return InputFile(path, "bundle")
    raise SourceError(f"{path}: not a .json Bundle or an .ndjson file")


def _directory(path: Path) -> list[InputFile]:
    manifest = path / "manifest.json"
    if manifest.exists():
        return _from_manifest(path, manifest)
    files = sorted(p for p in path.iterdir() if p.is_file()
                   and p.name.lower().endswith((".ndjson", ".ndjson.gz", ".jsonl", ".json")))
    return _ordered([_file(p) for p in files])


def _from_manifest(folder: Path, manifest_path: Path) -> list[InputFile]:
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as error:
        raise SourceError(f"{manifest_path}: cannot read the manifest ({error})") from error
    inputs = []
    for entry in manifest.get("output", []):
        inputs.append(InputFile(_local(folder, entry["url"]), "ndjson", entry.get("type", "")))
    deleted = [InputFile(_local(folder, e["url"]), "deleted", e.get("type", ""))
               for e in manifest.get("deleted", [])]
    return _ordered(inputs) + deleted


def _local(folder: Path, url: str) -> Path:
    """Manifest URLs are file names relative to the export folder after download."""
    path = folder / Path(url.split("?")[0]).name
    if not path.exists():
        raise SourceError(f"{path}: listed in manifest.json but missing")
    return path


def _type_from_name(path: Path) -> str:
    stem = path.name.split(".")[0]
    return stem.split("-")[0] if stem.split("-")[0][:1].isupper() else ""


def _ordered(inputs: list[InputFile]) -> list[InputFile]:
    def rank(item: InputFile) -> tuple[int, str]:
        position = (TYPE_ORDER.index(item.resource_type)
                    if item.resource_type in TYPE_ORDER else len(TYPE_ORDER))
        return (0 if item.kind == "bundle" else 1, position, str(item.path))

    return sorted(inputs, key=rank)
