"""MedicationRequest → MedicationOrderRecord, MedicationDispense → MedicationDispenseRecord.

- MedicationRequest: medicationCodeableConcept text (else medicationReference display) →
  medication (neither → MappingError); authoredOn (else validityPeriod start) →
  ordered_at; status active / on-hold → active, any other → inactive, entered-in-error →
  DeletedRecord; dosageInstruction[0] text (else patientInstruction) → instructions;
  dispenseRequest.expectedSupplyDuration in days (d, wk, mo, h, a — UCUM or words) →
  supply_days; numberOfRepeatsAllowed → refills; validityPeriod → valid_from/valid_to.
- MedicationDispense: status per ``DISPENSE_STATUSES`` (entered-in-error → DeletedRecord;
  ``unknown`` gives ``[]``: PRM cannot tell whether the medicine left the pharmacy);
  whenPrepared, whenHandedOver; authorizingPrescription[0] → order_ref; daysSupply (days
  unless its unit says otherwise) → days_supply; subject → the patient.
"""

from __future__ import annotations

from fhir.resources.R4B.medicationdispense import MedicationDispense
from fhir.resources.R4B.medicationrequest import MedicationRequest

from fhir_adapter.mapping.common import (
    Context,
    MappingError,
    concept_text,
    duration_days,
    key_from_model,
    mapper_of,
    optional_ref,
    required_ref,
    to_date,
    to_utc,
)
from prm.ingest.records import MedicationDispenseRecord, MedicationOrderRecord

ACTIVE_ORDER_STATUSES = frozenset({"active", "on-hold"})

# FHIR MedicationDispense.status → PRM DispenseStatus.
DISPENSE_STATUSES = {
    "preparation": "prepared", "in-progress": "prepared", "on-hold": "prepared",
    "completed": "handed_over",
    "cancelled": "cancelled", "stopped": "cancelled", "declined": "cancelled",
}


@mapper_of(MedicationRequest)
def map_medication_request(request: MedicationRequest, ctx: Context) -> list[MedicationOrderRecord]:
    supply = request.dispenseRequest
    validity = supply.validityPeriod if supply else None
    ordered_at = to_utc(request.authoredOn or (validity.start if validity else None))
    if ordered_at is None:
        raise MappingError(f"{ctx.label}: authoredOn is missing")
    expected = supply.expectedSupplyDuration if supply else None
    return [MedicationOrderRecord(
        key=key_from_model(request, ctx.config),
        patient_ref=required_ref(ctx, "subject", request.subject, "Patient"),
        medication=_medication_name(request, ctx),
        ordered_at=ordered_at,
        active=request.status in ACTIVE_ORDER_STATUSES,
        instructions=_instructions(request),
        supply_days=duration_days(expected.value, expected.code, expected.unit)
        if expected else None,
        refills=(supply.numberOfRepeatsAllowed or 0) if supply else 0,
        valid_from=to_date(validity.start) if validity else None,
        valid_to=to_date(validity.end) if validity else None,
    )]


def _medication_name(request: MedicationRequest, ctx: Context) -> str:
    name = concept_text(request.medicationCodeableConcept)
    if not name and request.medicationReference is not None:
        name = request.medicationReference.display or ""
    if not name:
        raise MappingError(f"{ctx.label}: the medication has no name (no "
                           "medicationCodeableConcept text or medicationReference display)")
    return name


def _instructions(request: MedicationRequest) -> str:
    dosage = request.dosageInstruction[0] if request.dosageInstruction else None
    return (dosage.text or dosage.patientInstruction or "") if dosage else ""


@mapper_of(MedicationDispense)
def map_medication_dispense(
    dispense: MedicationDispense, ctx: Context,
) -> list[MedicationDispenseRecord]:
    if dispense.status == "unknown":
        return []
    status = DISPENSE_STATUSES.get(dispense.status)
    if status is None:
        raise MappingError(f"{ctx.label}: status '{dispense.status}' is not a "
                           "MedicationDispense status")
    days = dispense.daysSupply
    prescriptions = dispense.authorizingPrescription or ()
    return [MedicationDispenseRecord(
        key=key_from_model(dispense, ctx.config),
        patient_ref=required_ref(ctx, "subject", dispense.subject, "Patient"),
        status=status,
        order_ref=optional_ref(prescriptions[0], ctx.refs) if prescriptions else None,
        prepared_at=to_utc(dispense.whenPrepared),
        handed_over_at=to_utc(dispense.whenHandedOver),
        days_supply=duration_days(days.value, days.code, days.unit, "d") if days else None,
    )]


MAPPERS = {
    "MedicationRequest": map_medication_request,
    "MedicationDispense": map_medication_dispense,
}
