"""What is behind each follow-up item, in words staff can act on: "Creatinine 9.10 mg/dL,
critically high", the medicine not collected and since when, the clinic and day missed.

STAFF-FACING ONLY. These texts name tests, values and medicines: they are for the person
about to call, on the worklist and the item page, and must never be what goes into an SMS
or anything else a patient's phone shows (DESIGN §3: a lab reminder says "please contact
the clinic"). Patient messages have their own templates.

Read a page at a time: one query per kind of cause on the page, whatever its length.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from prm.care import labels as care_labels
from prm.followups import labels
from prm.formatting import format_date, format_datetime
from prm.i18n import _, current_language
from prm.models.care import (
    Appointment,
    Clinic,
    Encounter,
    LabResult,
    MedicationDispense,
    MedicationOrder,
)
from prm.models.worklist import FollowUpRule, WorklistItem

Describe = Callable[[Session, list[WorklistItem], ZoneInfo], dict[int, str]]


def describe(session: Session, *, items: Iterable[WorklistItem], tz: ZoneInfo
             ) -> dict[int, str]:
    """Item id → what is behind it; the rule's general reason when the cause is gone."""
    by_kind: dict[str, list[WorklistItem]] = defaultdict(list)
    for item in items:
        by_kind[_kind(item)].append(item)
    reasons = labels.rule_reasons()
    texts = {item.id: reasons.get(item.rule, "") for group in by_kind.values()
             for item in group}
    for kind, group in by_kind.items():
        if kind in READERS:
            texts.update({k: v for k, v in READERS[kind](session, group, tz).items() if v})
    return texts


def _kind(item: WorklistItem) -> str:
    if item.rule == FollowUpRule.missed_pickup:
        return "dispense" if item.cause_key.startswith("medication_dispense:") else "order"
    return item.rule


def _clinic_name(name_th: str | None, name_en: str | None) -> str:
    return (name_th if current_language.get() == "th" else name_en) or name_en or ""


def _labs(session: Session, items: list[WorklistItem], tz: ZoneInfo) -> dict[int, str]:
    results = {lab.id: lab for lab in session.exec(
        select(LabResult).where(col(LabResult.id).in_({i.cause_id for i in items})))}
    meanings = care_labels.interpretation_labels()
    texts = {}
    for item in items:
        if lab := results.get(item.cause_id):
            value = " ".join(part for part in (lab.value, lab.unit) if part)
            texts[item.id] = _("%(test)s %(value)s, %(meaning)s (normal %(range)s)",
                               test=lab.test_name, value=value,
                               meaning=meanings.get(lab.interpretation, "").lower(),
                               range=lab.reference_range or "—")
    return texts


def _orders(session: Session, items: list[WorklistItem], tz: ZoneInfo) -> dict[int, str]:
    orders = {order.id: order for order in session.exec(
        select(MedicationOrder).where(col(MedicationOrder.id).in_({i.cause_id for i in items})))}
    # The item's key keeps the pickup date it was opened for.
    return {item.id: _("%(medicine)s not collected; pickup was due %(day)s",
                       medicine=orders[item.cause_id].medication,
                       day=format_date(orders[item.cause_id].next_pickup_due))
            for item in items if item.cause_id in orders}


def _dispenses(session: Session, items: list[WorklistItem], tz: ZoneInfo) -> dict[int, str]:
    rows = session.exec(
        select(MedicationDispense.id, MedicationOrder.medication, MedicationDispense.prepared_at)
        .join(MedicationOrder, MedicationOrder.id == MedicationDispense.order_id)
        .where(col(MedicationDispense.id).in_({i.cause_id for i in items}))).all()
    found = {dispense_id: (medicine, prepared) for dispense_id, medicine, prepared in rows}
    return {item.id: _("%(medicine)s ready at the pharmacy since %(day)s",
                       medicine=found[item.cause_id][0],
                       day=format_date(found[item.cause_id][1], tz))
            for item in items if item.cause_id in found}


def _no_shows(session: Session, items: list[WorklistItem], tz: ZoneInfo) -> dict[int, str]:
    rows = session.exec(
        select(Appointment.id, Appointment.starts_at, Clinic.name_th, Clinic.name_en)
        .join(Clinic, Clinic.id == Appointment.clinic_id)
        .where(col(Appointment.id).in_({i.cause_id for i in items}))).all()
    found = {appointment_id: _("Did not come to %(clinic)s on %(when)s",
                               clinic=_clinic_name(name_th, name_en),
                               when=format_datetime(starts_at, tz))
             for appointment_id, starts_at, name_th, name_en in rows}
    return {item.id: found[item.cause_id] for item in items if item.cause_id in found}


def _discharges(session: Session, items: list[WorklistItem], tz: ZoneInfo) -> dict[int, str]:
    rows = session.exec(
        select(Encounter.id, Encounter.discharged_at, Clinic.name_th, Clinic.name_en)
        .join(Clinic, Clinic.id == Encounter.clinic_id, isouter=True)
        .where(col(Encounter.id).in_({i.cause_id for i in items}))).all()
    found = {encounter_id: (discharged_at, _clinic_name(name_th, name_en))
             for encounter_id, discharged_at, name_th, name_en in rows if discharged_at}
    texts = {}
    for item in items:
        if item.cause_id not in found:
            continue
        when, ward = found[item.cause_id]
        where = _(" from %(ward)s", ward=ward) if ward else ""
        if item.rule == FollowUpRule.discharge_call:
            texts[item.id] = _("Discharged%(where)s %(when)s: ask how they are",
                               where=where, when=format_datetime(when, tz))
        else:
            texts[item.id] = _("Discharged%(where)s %(when)s with no follow-up appointment",
                               where=where, when=format_datetime(when, tz))
    return texts


def _lapsed(session: Session, items: list[WorklistItem], tz: ZoneInfo) -> dict[int, str]:
    # cause_id is the patient: their last visit is what the rule measured from.
    last = dict(session.exec(
        select(Encounter.patient_id, func.max(Encounter.started_at))
        .where(col(Encounter.patient_id).in_({i.cause_id for i in items}))
        .group_by(Encounter.patient_id)).all())
    return {item.id: _("Last visit %(day)s, no appointment ahead",
                       day=format_date(last[item.cause_id], tz))
            for item in items if last.get(item.cause_id)}


READERS: dict[str, Describe] = {
    FollowUpRule.abnormal_lab: _labs,
    "order": _orders,
    "dispense": _dispenses,
    FollowUpRule.no_show: _no_shows,
    FollowUpRule.discharge_call: _discharges,
    FollowUpRule.discharge_appointment: _discharges,
    FollowUpRule.lapsed_return: _lapsed,
}
