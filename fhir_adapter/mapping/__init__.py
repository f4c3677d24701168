"""FHIR R4 resources → PRM's plain ingest records.

Public API:

- :class:`MappingConfig`, :class:`MappingError`;
- :func:`cheap_skip` — a dict-lookup check, before validation, that a resource is one
  PRM does not use (and why);
- :func:`map_resource` — validate with the ``fhir.resources`` R4B model and map;
- :func:`source_key`, :func:`normalise_reference`.

One module per resource family holds the rules (``patient``, ``coverage``, ``care``,
``medication``, ``lab``); each exposes ``MAPPERS``, resource type → mapper, gathered here
into one dispatch table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fhir_adapter.mapping import care, coverage, lab, medication, patient
from fhir_adapter.mapping.common import (
    Context,
    MappingConfig,
    MappingError,
    key_from_model,
    key_from_raw,
    label_of,
    normalise_reference,
)
from prm.ingest.records import IngestRecord, SourceKey

__all__ = [
    "MappingConfig", "MappingError", "cheap_skip", "map_resource", "normalise_reference",
    "source_key",
]

Mapper = Callable[[dict[str, Any], Context], list[IngestRecord]]

_MAPPERS: dict[str, Mapper] = {
    **patient.MAPPERS, **coverage.MAPPERS, **care.MAPPERS, **medication.MAPPERS,
    **lab.MAPPERS,
}

LAB_OBSERVATION_CATEGORIES = frozenset({"laboratory"})  # observation-category
LAB_REPORT_CATEGORIES = frozenset({
    # v2-0074 diagnostic service sections that are laboratories: laboratory, blood gases,
    # blood bank, cytogenetics, chemistry, cytopathology, genetics, hematology,
    # immunology, microbiology, mycobacteriology, mycology, outside lab, surgical
    # pathology, serology, toxicology, urinalysis, virology.
    "LAB", "BG", "BLB", "CG", "CH", "CP", "GE", "HM", "IMM", "MB", "MCB", "MYC", "OSL", "SP",
    "SR", "TX", "URN", "VR",
    # LOINC: Laboratory, Pathology.
    "LP29693-6", "LP7839-6",
})


def cheap_skip(raw: Mapping[str, Any]) -> str | None:
    """Why PRM does not use this raw resource, or None when it should be mapped.

    Dict lookups only — the bulk import calls it on every line before validating. Skipped:
    every resource type without a mapper (Condition, Procedure, Immunization, …), an
    Observation without a ``laboratory`` category (vital signs, surveys, social history,
    imaging…) and a DiagnosticReport without a laboratory category. A resource too
    malformed to tell (no resourceType, a category that is not a list) is not skipped, so
    that :func:`map_resource` reports it.
    """
    resource_type = raw.get("resourceType")
    if not isinstance(resource_type, str):
        return None
    if resource_type not in _MAPPERS:
        return f"{resource_type} is not used by PRM"
    if resource_type == "Observation":
        return _category_skip(raw, LAB_OBSERVATION_CATEGORIES, "a laboratory result")
    if resource_type == "DiagnosticReport":
        return _category_skip(raw, LAB_REPORT_CATEGORIES, "a laboratory report")
    return None


def _category_skip(raw: Mapping[str, Any], wanted: frozenset[str], what: str) -> str | None:
    categories = raw.get("category")
    if categories is None:
        return f"{raw['resourceType']} without a category is not {what}"
    if not isinstance(categories, list):
        return None
    seen = ""
    for category in categories:
        codings = category.get("coding") if isinstance(category, dict) else None
        for coding in codings if isinstance(codings, list) else ():
            code = coding.get("code") if isinstance(coding, dict) else None
            if isinstance(code, str):
                if code in wanted:
                    return None
                seen = seen or code
    return f"{raw['resourceType']} category {seen or '(uncoded)'} is not {what}"


def map_resource(
    raw: dict[str, Any], config: MappingConfig, refs: Mapping[str, str] | None = None,
) -> list[IngestRecord]:
    """Validate ``raw`` with its R4B model and map it to PRM records.

    ``refs`` maps a transaction Bundle's fullUrls (``urn:uuid:…``) to ``"Type/id"``.

    Returns ``[]`` when the resource is valid but there is nothing for PRM to keep: a
    type or category :func:`cheap_skip` turns away (checked here too, without
    validating), a laboratory Observation without a value (a panel listing its members),
    a Claim/ExplanationOfBenefit whose insurance names no payer, a MedicationDispense with
    status ``unknown``, a proposed or cancelled Appointment without a time, a planned or
    cancelled Encounter without a start. Resources marked entered-in-error (and cancelled
    lab results and reports) map to a DeletedRecord.

    Raises :class:`MappingError` when the resource is not valid FHIR R4 or PRM cannot
    use it (no id, no resolvable patient, an unknown status or encounter class…).
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("resourceType"), str):
        raise MappingError("not a FHIR resource: resourceType is missing")
    if cheap_skip(raw) is not None:
        return []
    ctx = Context(config=config, refs=refs or {}, label=label_of(raw))
    return _MAPPERS[raw["resourceType"]](raw, ctx)


def source_key(raw_or_model: Any, config: MappingConfig) -> SourceKey:
    """(server, type, id, meta.versionId, meta.lastUpdated as aware UTC) of a raw resource
    dict or a validated model; MappingError when it has no id or an unreadable meta."""
    if isinstance(raw_or_model, Mapping):
        return key_from_raw(raw_or_model, config)
    return key_from_model(raw_or_model, config)
