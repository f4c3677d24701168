"""Coverage, and the payer a Claim or ExplanationOfBenefit names → CoverageRecord.

PRM decides a patient's payer segment from these records through the admin's mapping
rules, so the mapper only carries the codes over, never interprets them:

- Coverage: status active → active (entered-in-error → DeletedRecord); beneficiary → the
  patient; type codings as ``"system|code"`` plus each class as ``"<class type code>|<value>"``
  (``"plan|UCS"``) → codes; payor identifiers (``"system|value"``) and the first payor
  display name; subscriberId, else the member-number (``MB``) identifier, else the first
  identifier → member_id; period → valid_from / valid_to.
- Claim / ExplanationOfBenefit (origin ``"claim"`` / ``"eob"``: PRM uses them only for a
  patient without any Coverage): the focal insurance (else the first); when it points to
  a contained Coverage, that Coverage's codes, payor and period, else the insurance's
  coverage display as the payor name; billablePeriod when the contained Coverage has no
  period. A cancelled claim gives an inactive record, an entered-in-error one a
  DeletedRecord. A claim whose insurance names nothing (no display, no contained
  Coverage — e.g. only a reference to a Coverage resource, which is mapped on its own)
  gives ``[]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fhir.resources.R4B.claim import ClaimInsurance
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefitInsurance
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.reference import Reference
from pydantic import BaseModel

from fhir_adapter.mapping.common import (
    V2_0203,
    Context,
    MappingError,
    codes_in,
    concept_tokens,
    first_code,
    key_from_model,
    key_from_raw,
    mapper_of,
    required_ref,
    to_date,
    token,
    validate,
)
from prm.ingest.records import CoverageRecord, DeletedRecord

CLAIM_STATUSES = frozenset({"active", "cancelled", "draft", "entered-in-error"})


@mapper_of(Coverage)
def map_coverage(coverage: Coverage, ctx: Context) -> list[CoverageRecord]:
    return [
        CoverageRecord(
            key=key_from_model(coverage, ctx.config),
            patient_ref=required_ref(ctx, "beneficiary", coverage.beneficiary, "Patient"),
            active=coverage.status == "active",
            origin="coverage",
            **_coverage_details(coverage),
        )
    ]


def _coverage_details(coverage: Coverage) -> dict[str, Any]:
    """The CoverageRecord fields a Coverage describes, wherever it was found."""
    class_codes = [f"{first_code(c.type)}|{c.value}" for c in coverage.class_fhir or () if c.value]
    payors = coverage.payor or ()
    period = coverage.period
    return {
        "codes": tuple(concept_tokens(coverage.type) + class_codes),
        "payor_identifiers": tuple(
            token(p.identifier.system, p.identifier.value)
            for p in payors
            if p.identifier is not None and p.identifier.value
        ),
        "payor_name": next((p.display for p in payors if p.display), ""),
        "member_id": coverage.subscriberId or _member_number(coverage.identifier or ()),
        "valid_from": to_date(period.start) if period else None,
        "valid_to": to_date(period.end) if period else None,
    }


def _member_number(identifiers: Iterable[Any]) -> str:
    identifiers = [i for i in identifiers if i.value]
    for identifier in identifiers:
        if "MB" in codes_in((identifier.type,), V2_0203):
            return identifier.value
    return identifiers[0].value if identifiers else ""


# Claim and ExplanationOfBenefit are validated only in the parts PRM reads — the patient
# Reference, each insurance element, billablePeriod and the contained Coverage — each with
# its own R4B model. Validated whole, an ExplanationOfBenefit goes at about 1,100 a second
# and a Claim at about 3,500 (their items, adjudications and diagnoses are most of the
# work), and a Synthea export has one of each per encounter. The rest of the resource is
# not checked: PRM does not read it.


def map_claim(raw: dict[str, Any], ctx: Context) -> list[CoverageRecord | DeletedRecord]:
    return _map_claim_like(raw, ctx, ClaimInsurance, origin="claim")


def map_explanation_of_benefit(
    raw: dict[str, Any],
    ctx: Context,
) -> list[CoverageRecord | DeletedRecord]:
    return _map_claim_like(raw, ctx, ExplanationOfBenefitInsurance, origin="eob")


def _map_claim_like(
    raw: dict[str, Any],
    ctx: Context,
    insurance_model: type[BaseModel],
    origin: str,
) -> list[CoverageRecord | DeletedRecord]:
    key = key_from_raw(raw, ctx.config)
    status = raw.get("status")
    if not isinstance(status, str) or status not in CLAIM_STATUSES:
        raise MappingError(
            f"{ctx.label}: status must be active, cancelled, draft or entered-in-error"
        )
    if status == "entered-in-error":
        return [DeletedRecord(key)]
    patient_ref = required_ref(ctx, "patient", _part(Reference, raw, "patient", ctx), "Patient")
    insurance = _focal_insurance(raw, insurance_model, ctx)
    billable = _part(Period, raw, "billablePeriod", ctx)
    if insurance is None:
        return []
    contained = _contained_coverage(raw, insurance.coverage.reference, ctx)
    if contained is not None:
        details = _coverage_details(contained)
        active = status != "cancelled" and contained.status == "active"
    elif insurance.coverage.display:
        details = {"payor_name": insurance.coverage.display}
        active = status != "cancelled"
    else:
        return []
    if billable is not None and details.get("valid_from") is None:
        details["valid_from"] = to_date(billable.start)
        details["valid_to"] = to_date(billable.end)
    return [
        CoverageRecord(key=key, patient_ref=patient_ref, active=active, origin=origin, **details)
    ]


def _part(model: type[BaseModel], raw: dict[str, Any], field: str, ctx: Context) -> Any:
    value = raw.get(field)
    return None if value is None else validate(model, value, ctx.label, field)


def _focal_insurance(raw: dict[str, Any], model: type[BaseModel], ctx: Context) -> Any:
    """The insurance used for adjudication (focal), else the first; None when there is none."""
    items = raw.get("insurance") or []
    if not isinstance(items, list):
        raise MappingError(f"{ctx.label}: insurance must be a list")
    insurances = [
        validate(model, item, ctx.label, f"insurance[{index}]") for index, item in enumerate(items)
    ]
    return next((i for i in insurances if i.focal), insurances[0] if insurances else None)


def _contained_coverage(raw: dict[str, Any], reference: str | None, ctx: Context) -> Any:
    if not reference or not reference.startswith("#"):
        return None
    contained = raw.get("contained") or []
    for index, resource in enumerate(contained if isinstance(contained, list) else ()):
        if (
            isinstance(resource, dict)
            and resource.get("id") == reference[1:]
            and resource.get("resourceType") == "Coverage"
        ):
            return validate(Coverage, resource, ctx.label, f"contained[{index}]")
    raise MappingError(f"{ctx.label}: insurance coverage '{reference}' is not a contained Coverage")


MAPPERS = {
    "Coverage": map_coverage,
    "Claim": map_claim,
    "ExplanationOfBenefit": map_explanation_of_benefit,
}
