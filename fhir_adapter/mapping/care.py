"""Organization, Practitioner, Appointment and Encounter → PRM care records.

- Organization: name, identifiers as ``"system|value"``.
- Practitioner: the best Thai-script name → name_th, the best other name → name_en, each
  written "title given family".
- Appointment: the first participant whose actor is a Patient is the patient (none → a
  MappingError), the first Practitioner actor the clinician (optional), an Organization
  actor where a source lists one the place (R4 has no other field for it); status per
  ``APPOINTMENT_STATUSES``, entered-in-error → DeletedRecord; start, and minutes from
  start–end, else minutesDuration, else 15; serviceType (else specialty) → clinic;
  reasonCode (else description) → reason; cancelationReason → cancel_reason. A proposed
  or cancelled appointment without a start time gives ``[]``: there is no slot to show.
- Encounter: class per ``ENCOUNTER_CLASSES`` (an unknown class is a MappingError);
  period start/end; hospitalization.dischargeDisposition → discharge_disposition; status
  finished / cancelled, entered-in-error → DeletedRecord; serviceType (else the first
  type) → clinic; serviceProvider → organization_ref. A planned or cancelled encounter
  without a start gives ``[]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.practitioner import Practitioner

from fhir_adapter.mapping.common import (
    Context,
    MappingError,
    best_names,
    concept_text,
    first_code,
    key_from_model,
    mapper_of,
    minutes_between,
    optional_ref,
    reference_type,
    required_ref,
    to_utc,
    token,
    validate,
)
from prm.ingest.records import (
    AppointmentRecord,
    ClinicRef,
    EncounterRecord,
    OrganizationRecord,
    PractitionerRecord,
)

# FHIR Appointment.status → PRM AppointmentStatus.
APPOINTMENT_STATUSES = {
    "proposed": "proposed", "pending": "proposed", "waitlist": "proposed",
    "booked": "booked",
    "arrived": "arrived", "checked-in": "arrived",
    "fulfilled": "fulfilled",
    "cancelled": "cancelled",
    "noshow": "noshow",
}
DEFAULT_APPOINTMENT_MINUTES = 15

# v3 ActCode encounter class → PRM EncounterClass.
ENCOUNTER_CLASSES = {
    "AMB": "outpatient", "VR": "outpatient", "HH": "outpatient", "OBSENC": "outpatient",
    "FLD": "outpatient",  # field: seen away from the hospital, e.g. at an accident site
    "EMER": "emergency",
    "IMP": "inpatient", "ACUTE": "inpatient", "NONAC": "inpatient", "PRENC": "inpatient",
    "SS": "inpatient",  # short stay: admitted for a planned stay, usually under 24 hours
}


def map_organization(raw: dict[str, Any], ctx: Context) -> list[OrganizationRecord]:
    organization = validate(Organization, raw, ctx.label)
    return [OrganizationRecord(
        key=key_from_model(organization, ctx.config),
        name=organization.name or "",
        identifiers=tuple(token(i.system, i.value) for i in organization.identifier or ()
                          if i.value),
    )]


def map_practitioner(raw: dict[str, Any], ctx: Context) -> list[PractitionerRecord]:
    practitioner = validate(Practitioner, raw, ctx.label)
    thai, other = best_names(practitioner.name or ())
    return [PractitionerRecord(
        key=key_from_model(practitioner, ctx.config),
        name_en=other.full if other else "",
        name_th=thai.full if thai else "",
    )]


@mapper_of(Appointment)
def map_appointment(appointment: Appointment, ctx: Context) -> list[AppointmentRecord]:
    status = APPOINTMENT_STATUSES.get(appointment.status)
    if status is None:
        raise MappingError(f"{ctx.label}: status '{appointment.status}' is not an "
                           "Appointment status")
    participants = appointment.participant or ()
    patient = _first_actor(participants, "Patient", ctx)
    if patient is None:
        raise MappingError(f"{ctx.label}: no participant is a Patient")
    patient_ref = required_ref(ctx, "participant.actor", patient, "Patient")
    if appointment.start is None:
        if status in ("proposed", "cancelled"):
            return []
        raise MappingError(f"{ctx.label}: start is missing (only a proposed or cancelled "
                           "appointment may have no time)")
    minutes = (minutes_between(appointment.start, appointment.end)
               or appointment.minutesDuration or DEFAULT_APPOINTMENT_MINUTES)
    reason = next((concept_text(c) for c in appointment.reasonCode or ()), "")
    return [AppointmentRecord(
        key=key_from_model(appointment, ctx.config),
        patient_ref=patient_ref,
        starts_at=to_utc(appointment.start),
        minutes=minutes,
        status=status,
        practitioner_ref=optional_ref(_first_actor(participants, "Practitioner", ctx),
                                      ctx.refs),
        clinic=_clinic(appointment.serviceType or appointment.specialty or ()),
        organization_ref=optional_ref(_first_actor(participants, "Organization", ctx),
                                      ctx.refs),
        reason=reason or appointment.description or "",
        cancel_reason=concept_text(appointment.cancelationReason) if status == "cancelled"
        else "",
    )]


def _first_actor(participants: Iterable[Any], resource_type: str, ctx: Context) -> Any:
    for participant in participants:
        if reference_type(participant.actor, ctx.refs) == resource_type:
            return participant.actor
    return None


@mapper_of(Encounter)
def map_encounter(encounter: Encounter, ctx: Context) -> list[EncounterRecord]:
    code = encounter.class_fhir.code
    encounter_class = ENCOUNTER_CLASSES.get(code or "")
    if encounter_class is None:
        raise MappingError(f"{ctx.label}: class '{code}' is not one PRM knows "
                           f"({', '.join(ENCOUNTER_CLASSES)})")
    patient_ref = required_ref(ctx, "subject", encounter.subject, "Patient")
    period = encounter.period
    if period is None or period.start is None:
        if encounter.status in ("planned", "cancelled"):
            return []
        raise MappingError(f"{ctx.label}: period.start is missing")
    hospitalization = encounter.hospitalization
    return [EncounterRecord(
        key=key_from_model(encounter, ctx.config),
        patient_ref=patient_ref,
        encounter_class=encounter_class,
        started_at=to_utc(period.start),
        ended_at=to_utc(period.end),
        discharge_disposition=concept_text(hospitalization.dischargeDisposition)
        if hospitalization else "",
        finished=encounter.status == "finished",
        cancelled=encounter.status == "cancelled",
        clinic=_clinic((encounter.serviceType,) if encounter.serviceType
                       else encounter.type or ()),
        organization_ref=optional_ref(encounter.serviceProvider, ctx.refs),
    )]


def _clinic(concepts: Iterable[Any]) -> ClinicRef | None:
    """The first service concept with a code or a text, as (code, name); a text-only one
    uses its text as the code too."""
    for concept in concepts:
        name = concept_text(concept)
        if code := first_code(concept) or name:
            return ClinicRef(code=code, name=name)
    return None


MAPPERS = {
    "Organization": map_organization,
    "Practitioner": map_practitioner,
    "Appointment": map_appointment,
    "Encounter": map_encounter,
}
