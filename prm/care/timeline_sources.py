"""Care records on the patient timeline, read where they live (nothing stored twice).

Each source is a query and how its rows read; ``prm.timeline_registry`` registers them."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Select, bindparam
from sqlmodel import col, select

from prm.care import labels
from prm.config import get_settings
from prm.formatting import format_datetime
from prm.i18n import _, current_language
from prm.models.care import (
    Appointment,
    Clinic,
    Encounter,
    EncounterClass,
    LabResult,
    MedicationDispense,
    MedicationOrder,
)
from prm.timeline import TimelineItem


def _newest_first(query: Select, column, paged: bool) -> Select:
    """Newest first, at most ``limit``; only rows before ``before`` when paging."""
    if paged:
        query = query.where(column < bindparam("before"))
    return query.order_by(col(column).desc()).limit(bindparam("limit"))


@cache
def _labels_in(language: str) -> dict[str, dict[str, str]]:
    # The label dicts depend on the language alone (catalogs are read once); the caller
    # passes the current language, which the label functions read themselves.
    return {"status": labels.appointment_status_labels(),
            "class": labels.encounter_class_labels(),
            "meaning": labels.interpretation_labels(),
            "dispense": labels.dispense_status_labels(),
            "disposition": labels.discharge_disposition_labels()}


def _labels(kind: str) -> dict[str, str]:
    return _labels_in(current_language.get())[kind]


# Each source selects only the columns its items show, with a statement built once per
# shape (see ``timeline.TimelineSource``).


@cache
def appointments_query(paged: bool) -> Select:
    query = (select(Appointment.id, Appointment.starts_at, Appointment.status,
                    Appointment.reason, Appointment.cancel_reason, Clinic.name_th,
                    Clinic.name_en)
             .join(Clinic, col(Clinic.id) == Appointment.clinic_id)
             .where(Appointment.patient_id == bindparam("patient_id")))
    return _newest_first(query, Appointment.starts_at, paged)


def appointment_items(rows: list) -> list[TimelineItem]:
    status = _labels("status")
    thai = current_language.get() == "th"
    return [TimelineItem(
        occurred_at=starts_at, icon="▦", group="care",
        title=_("Appointment, %(clinic)s: %(status)s",
                clinic=name_th if thai and name_th else name_en,
                status=status.get(state, state)),
        body=" · ".join(filter(None, [reason, cancel_reason])),
        link=f"/appointments/{appointment_id}",
    ) for appointment_id, starts_at, state, reason, cancel_reason, name_th, name_en in rows]


@cache
def encounters_query(paged: bool) -> Select:
    query = (select(Encounter.started_at, Encounter.encounter_class, Encounter.discharged_at,
                    Encounter.discharge_disposition)
             .where(Encounter.patient_id == bindparam("patient_id")))
    return _newest_first(query, Encounter.started_at, paged)


def encounter_items(rows: list) -> list[TimelineItem]:
    kinds, dispositions = _labels("class"), _labels("disposition")
    items = []
    for started_at, encounter_class, discharged_at, disposition in rows:
        title = kinds.get(encounter_class, encounter_class)
        if encounter_class == EncounterClass.inpatient and discharged_at:
            title = _("Admission, discharged %(when)s",
                      when=format_datetime(discharged_at, get_settings().tz))
        items.append(TimelineItem(occurred_at=started_at, icon="✚", group="care",
                                  title=title,
                                  body=dispositions.get(disposition.lower(), disposition)))
    return items


@cache
def labs_query(paged: bool) -> Select:
    query = (select(LabResult.released_at, LabResult.test_name, LabResult.value,
                    LabResult.unit, LabResult.interpretation, LabResult.reference_range)
             .where(LabResult.patient_id == bindparam("patient_id"),
                    col(LabResult.released_at).is_not(None)))
    return _newest_first(query, LabResult.released_at, paged)


def lab_items(rows: list) -> list[TimelineItem]:
    meaning = _labels("meaning")
    return [TimelineItem(
        occurred_at=released_at, icon="⚗", group="labs",
        title=_("Lab result: %(test)s %(value)s %(unit)s (%(meaning)s)", test=test_name,
                value=value, unit=unit, meaning=meaning.get(interpretation, "")),
        body=_("Reference %(range)s", range=reference_range) if reference_range else "",
    ) for released_at, test_name, value, unit, interpretation, reference_range in rows]


@cache
def dispenses_query(paged: bool) -> Select:
    query = (select(MedicationDispense.prepared_at, MedicationDispense.handed_over_at,
                    MedicationDispense.status, MedicationOrder.medication)
             .join(MedicationOrder, col(MedicationOrder.id) == MedicationDispense.order_id)
             .where(MedicationDispense.patient_id == bindparam("patient_id")))
    return _newest_first(query, MedicationDispense.prepared_at, paged)


def dispense_items(rows: list) -> list[TimelineItem]:
    status = _labels("dispense")
    return [TimelineItem(
        occurred_at=handed_over_at or prepared_at, icon="℞", group="medicines",
        title=_("Medicines %(name)s: %(status)s", name=medication,
                status=status.get(state, state)),
    ) for prepared_at, handed_over_at, state, medication in rows]
