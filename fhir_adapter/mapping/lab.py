"""Laboratory Observation → LabResultRecord, laboratory DiagnosticReport → LabReportRecord.

(Only laboratory ones reach here: :func:`fhir_adapter.mapping.cheap_skip` turns the others
away before validation.)

Observation:
- code → test_code (first coding's code) and test_name (text, display or code);
- value[x] → value text and unit: Quantity "value unit" (with its comparator, "<0.5"),
  string, CodeableConcept text, boolean, integer, Ratio ("1:64", or "5 mg/1 mL"), Range
  ("3.5–5.0 mmol/L"), dateTime, time; without a value, dataAbsentReason's text; with
  neither (a panel that only lists hasMember) → ``[]``;
- referenceRange[0] → "low–high unit" ("≥ low", "≤ high" when one bound is missing),
  else its text;
- interpretation per ``INTERPRETATIONS`` (v3 ObservationInterpretation); without one, a
  numeric value outside a numeric range is high or low, inside it normal;
- status final / amended / corrected: released at ``issued`` (else the effective time);
  preliminary / registered / unknown: not released; cancelled / entered-in-error →
  DeletedRecord.

DiagnosticReport: status, issued, and the results it lists (as "Type/id"); cancelled /
entered-in-error → DeletedRecord.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation

from fhir_adapter.mapping.common import (
    Context,
    concept_text,
    first_code,
    key_from_model,
    mapper_of,
    optional_ref,
    required_ref,
    to_utc,
)
from prm.ingest.records import LabReportRecord, LabResultRecord

INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
# v3 ObservationInterpretation code → PRM Interpretation.
INTERPRETATIONS = {
    "N": "normal",
    "H": "high", "L": "low",
    "HH": "critical_high", "HU": "critical_high",
    "LL": "critical_low", "LU": "critical_low",
    "A": "abnormal", "AA": "critical_abnormal",
}
RELEASED_STATUSES = frozenset({"final", "amended", "corrected"})
WITHDRAWN_STATUSES = frozenset({"cancelled", "entered-in-error"})


@mapper_of(Observation, withdrawn=WITHDRAWN_STATUSES)
def map_observation(observation: Observation, ctx: Context) -> list[LabResultRecord]:
    patient_ref = required_ref(ctx, "subject", observation.subject, "Patient")
    value, unit, number = _value(observation)
    if not value:
        return []
    reference_range = observation.referenceRange[0] if observation.referenceRange else None
    effective_at = to_utc(observation.effectiveDateTime or observation.effectiveInstant
                          or (observation.effectivePeriod.start
                              if observation.effectivePeriod else None))
    released = observation.status in RELEASED_STATUSES
    return [LabResultRecord(
        key=key_from_model(observation, ctx.config),
        patient_ref=patient_ref,
        test_name=concept_text(observation.code),
        test_code=first_code(observation.code),
        value=value,
        unit=unit,
        reference_range=_range_text(reference_range) if reference_range else "",
        interpretation=(_coded_interpretation(observation.interpretation or ())
                        or _derived_interpretation(number, unit, reference_range)),
        status=observation.status,
        effective_at=effective_at,
        released_at=(to_utc(observation.issued) or effective_at) if released else None,
    )]


def _value(observation: Observation) -> tuple[str, str, Decimal | None]:
    """(value text, unit, number to compare with the range — None when not a plain number)."""
    if (quantity := observation.valueQuantity) is not None:
        number = None if quantity.comparator else quantity.value
        return _quantity_number(quantity), quantity.unit or quantity.code or "", number
    if observation.valueInteger is not None:
        return str(observation.valueInteger), "", Decimal(observation.valueInteger)
    if observation.valueString is not None:
        return observation.valueString, "", None
    if observation.valueCodeableConcept is not None:
        return concept_text(observation.valueCodeableConcept), "", None
    if observation.valueBoolean is not None:
        return ("true" if observation.valueBoolean else "false"), "", None
    if (ratio := observation.valueRatio) is not None:
        return _ratio_text(ratio), "", None
    if (value_range := observation.valueRange) is not None:
        return _range_text(value_range), "", None
    if observation.valueDateTime is not None:
        return str(observation.valueDateTime), "", None
    if observation.valueTime is not None:
        return str(observation.valueTime), "", None
    return concept_text(observation.dataAbsentReason), "", None


def _number(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def _quantity_number(quantity: Any) -> str:
    return f"{quantity.comparator or ''}{_number(quantity.value)}"


def _quantity_text(quantity: Any) -> str:
    return f"{_quantity_number(quantity)} {quantity.unit or quantity.code or ''}".strip()


def _ratio_text(ratio: Any) -> str:
    numerator, denominator = ratio.numerator, ratio.denominator
    if numerator is None or denominator is None:
        return _quantity_text(numerator or denominator) if (numerator or denominator) else ""
    if not (numerator.unit or numerator.code or denominator.unit or denominator.code):
        return f"{_quantity_number(numerator)}:{_quantity_number(denominator)}"  # a titre
    return f"{_quantity_text(numerator)}/{_quantity_text(denominator)}"


def _range_text(value_range: Any) -> str:
    """A Range or an ObservationReferenceRange: "low–high unit", "≥ low unit",
    "≤ high unit", else its text (reference ranges only)."""
    low, high = value_range.low, value_range.high
    unit = _range_unit(value_range)
    if low is not None and low.value is not None and high is not None and high.value is not None:
        text = f"{_number(low.value)}–{_number(high.value)}"
    elif low is not None and low.value is not None:
        text = f"≥ {_number(low.value)}"
    elif high is not None and high.value is not None:
        text = f"≤ {_number(high.value)}"
    else:
        return getattr(value_range, "text", None) or ""
    return f"{text} {unit}".strip()


def _range_unit(value_range: Any) -> str:
    for bound in (value_range.low, value_range.high):
        if bound is not None and (bound.unit or bound.code):
            return bound.unit or bound.code
    return ""


def _coded_interpretation(concepts: Any) -> str | None:
    for concept in concepts:
        for coding in concept.coding or ():
            if coding.system in (None, INTERPRETATION_SYSTEM) and coding.code in INTERPRETATIONS:
                return INTERPRETATIONS[coding.code]
    return None


def _derived_interpretation(number: Decimal | None, unit: str, reference_range: Any) -> str:
    """high / low / normal from a numeric value and a numeric range in the same unit (or
    without one); "normal" when they cannot be compared — the record's default."""
    if number is None or reference_range is None:
        return "normal"
    range_unit = _range_unit(reference_range)
    if unit and range_unit and unit != range_unit:
        return "normal"
    low, high = reference_range.low, reference_range.high
    if high is not None and high.value is not None and number > high.value:
        return "high"
    if low is not None and low.value is not None and number < low.value:
        return "low"
    return "normal"


@mapper_of(DiagnosticReport, withdrawn=WITHDRAWN_STATUSES)
def map_diagnostic_report(report: DiagnosticReport, ctx: Context) -> list[LabReportRecord]:
    results = (optional_ref(result, ctx.refs) for result in report.result or ())
    return [LabReportRecord(
        key=key_from_model(report, ctx.config),
        patient_ref=required_ref(ctx, "subject", report.subject, "Patient"),
        status=report.status,
        issued_at=to_utc(report.issued),
        result_refs=tuple(ref for ref in results if ref),
    )]


MAPPERS = {
    "Observation": map_observation,
    "DiagnosticReport": map_diagnostic_report,
}
