"""Care records on the patient timeline, read where they live (nothing stored twice)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from prm import timeline
from prm.care import labels
from prm.config import get_settings
from prm.i18n import _
from prm.models.care import (
    Appointment,
    Clinic,
    Encounter,
    EncounterClass,
    LabResult,
    MedicationDispense,
    MedicationOrder,
)
from prm.models.patient import Patient
from prm.timeline import TimelineItem
from prm.web.formatting import format_datetime


def _before(query, column, before: datetime | None):
    return query.where(column < before) if before else query


def appointment_items(session: Session, patient: Patient, before, limit) -> list[TimelineItem]:
    query = (select(Appointment, Clinic.name_th, Clinic.name_en)
             .join(Clinic, Clinic.id == Appointment.clinic_id)
             .where(Appointment.patient_id == patient.id))
    query = _before(query, Appointment.starts_at, before)
    rows = session.exec(query.order_by(col(Appointment.starts_at).desc()).limit(limit))
    status = labels.appointment_status_labels()
    return [TimelineItem(
        occurred_at=a.starts_at, icon="▦", group="care",
        title=_("Appointment, %(clinic)s: %(status)s", clinic=_pick(th, en),
                status=status.get(a.status, a.status)),
        body=" · ".join(filter(None, [a.reason, a.cancel_reason])),
        link=f"/appointments/{a.id}",
    ) for a, th, en in rows]


def encounter_items(session: Session, patient: Patient, before, limit) -> list[TimelineItem]:
    query = _before(select(Encounter).where(Encounter.patient_id == patient.id),
                    Encounter.started_at, before)
    kinds = labels.encounter_class_labels()
    items = []
    for e in session.exec(query.order_by(col(Encounter.started_at).desc()).limit(limit)):
        title = kinds.get(e.encounter_class, e.encounter_class)
        if e.encounter_class == EncounterClass.inpatient and e.discharged_at:
            title = _("Admission, discharged %(when)s",
                      when=format_datetime(e.discharged_at, get_settings().tz))
        items.append(TimelineItem(occurred_at=e.started_at, icon="✚", group="care",
                                  title=title, body=e.discharge_disposition))
    return items


def lab_items(session: Session, patient: Patient, before, limit) -> list[TimelineItem]:
    query = select(LabResult).where(LabResult.patient_id == patient.id,
                                    col(LabResult.released_at).is_not(None))
    query = _before(query, LabResult.released_at, before)
    meaning = labels.interpretation_labels()
    return [TimelineItem(
        occurred_at=r.released_at, icon="⚗", group="labs",
        title=_("Lab result: %(test)s %(value)s %(unit)s (%(meaning)s)", test=r.test_name,
                value=r.value, unit=r.unit, meaning=meaning.get(r.interpretation, "")),
        body=_("Reference %(range)s", range=r.reference_range) if r.reference_range else "",
    ) for r in session.exec(query.order_by(col(LabResult.released_at).desc()).limit(limit))]


def dispense_items(session: Session, patient: Patient, before, limit) -> list[TimelineItem]:
    query = (select(MedicationDispense, MedicationOrder.medication)
             .join(MedicationOrder, MedicationOrder.id == MedicationDispense.order_id)
             .where(MedicationDispense.patient_id == patient.id))
    query = _before(query, MedicationDispense.prepared_at, before)
    status = labels.dispense_status_labels()
    return [TimelineItem(
        occurred_at=d.handed_over_at or d.prepared_at, icon="℞", group="medicines",
        title=_("Medicines %(name)s: %(status)s", name=medication,
                status=status.get(d.status, d.status)),
    ) for d, medication in session.exec(
        query.order_by(col(MedicationDispense.prepared_at).desc()).limit(limit))]


def _pick(thai: str, english: str) -> str:
    from prm.i18n import current_language

    return thai if current_language.get() == "th" and thai else english


timeline.register_group("care", lambda: _("Visits & appointments"))
timeline.register_group("labs", lambda: _("Lab results"))
timeline.register_group("medicines", lambda: _("Medicines"))


def _visits(session, patient, before, limit):
    merged = appointment_items(session, patient, before, limit) + \
        encounter_items(session, patient, before, limit)
    return sorted(merged, key=lambda item: item.occurred_at, reverse=True)[:limit]


timeline.register_source("care", _visits)
timeline.register_source("labs", lab_items)
timeline.register_source("medicines", dispense_items)
