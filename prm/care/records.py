"""Encounters, medication orders and dispenses, lab results: recorded by hand or by the
FHIR adapter, and acted on by the follow-up rules."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from prm.audit import service as audit
from prm.audit.service import Actor
from prm.errors import Conflict, NotFound
from prm.i18n import _
from prm.models.audit import AuditAction
from prm.models.care import (
    DispenseStatus,
    Encounter,
    LabResult,
    MedicationDispense,
    MedicationOrder,
)
from prm.models.patient import Patient
from prm.models.types import utcnow


def add_encounter(session: Session, *, patient: Patient, encounter: Encounter) -> Encounter:
    encounter.patient_id = patient.id
    session.add(encounter)
    session.flush()
    return encounter


def add_medication_order(session: Session, *, patient: Patient, order: MedicationOrder
                         ) -> MedicationOrder:
    order.patient_id = patient.id
    if order.next_pickup_due is None:
        order.next_pickup_due = (order.ordered_at + timedelta(days=order.supply_days)).date()
    session.add(order)
    session.flush()
    return order


def prepare_dispense(session: Session, *, order: MedicationOrder,
                     prepared_at: datetime | None = None) -> MedicationDispense:
    dispense = MedicationDispense(order_id=order.id, patient_id=order.patient_id,
                                  status=DispenseStatus.prepared,
                                  prepared_at=prepared_at or utcnow())
    session.add(dispense)
    session.flush()
    return dispense


def hand_over(session: Session, *, dispense: MedicationDispense, actor: Actor,
              at: datetime | None = None) -> MedicationDispense:
    """The patient collected their medicines: the order's next pickup moves on a supply."""
    if dispense.status != DispenseStatus.prepared:
        raise Conflict(_("This dispense is already %(status)s.", status=dispense.status))
    at = at or utcnow()
    dispense.status = DispenseStatus.handed_over
    dispense.handed_over_at = at
    order = session.get(MedicationOrder, dispense.order_id)
    if order is not None:
        _advance_order(order, at)
        session.add(order)
    session.add(dispense)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="dispense",
                 entity_id=dispense.id, patient_id=dispense.patient_id, detail="handed over")
    return dispense


def _advance_order(order: MedicationOrder, handed_over_at: datetime) -> None:
    if order.refills_remaining > 0:
        order.refills_remaining -= 1
        order.next_pickup_due = (handed_over_at + timedelta(days=order.supply_days)).date()
    else:
        order.active = False


def add_lab_result(session: Session, *, patient: Patient, result: LabResult) -> LabResult:
    result.patient_id = patient.id
    session.add(result)
    session.flush()
    return result


def acknowledge_lab(session: Session, *, result: LabResult, actor: Actor) -> LabResult:
    """Staff told the patient (or their doctor acted): the result needs no more calls."""
    if result.acknowledged_at is None:
        result.acknowledged_at = utcnow()
        result.acknowledged_by_user_id = actor.user_id
        session.add(result)
        session.flush()
        audit.record(session, actor=actor, action=AuditAction.update, entity_type="lab_result",
                     entity_id=result.id, patient_id=result.patient_id,
                     detail="acknowledged")
    return result


def get_lab_result(session: Session, result_id: int) -> LabResult:
    result = session.get(LabResult, result_id)
    if result is None:
        raise NotFound(_("No such lab result."))
    return result


def recent_labs(session: Session, *, patient: Patient, limit: int = 10) -> list[LabResult]:
    return list(session.exec(
        select(LabResult).where(LabResult.patient_id == patient.id)
        .order_by(col(LabResult.released_at).desc()).limit(limit)
    ))


def active_orders(session: Session, *, patient: Patient) -> list[MedicationOrder]:
    return list(session.exec(
        select(MedicationOrder).where(MedicationOrder.patient_id == patient.id,
                                      MedicationOrder.active == True)  # noqa: E712
        .order_by(col(MedicationOrder.next_pickup_due))
    ))
