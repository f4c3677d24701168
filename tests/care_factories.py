"""Typed factories for care records: real rows with sensible defaults, any field
overridable by keyword. Each commits, like ``tests.factories.make_patient``.

Appointments are inserted as rows rather than booked through the desk, because tests
need slots in the past (no-shows, lapsed returns) that the desk rightly refuses; tests
that are about booking call ``prm.care.appointments.book`` themselves.
"""

from __future__ import annotations

import importlib.util
import itertools
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session, delete

from prm.models.care import (
    Appointment,
    AppointmentStatus,
    Clinic,
    Clinician,
    DispenseStatus,
    Encounter,
    EncounterClass,
    Interpretation,
    LabResult,
    MedicationDispense,
    MedicationOrder,
)
from prm.models.integration import SegmentRule
from prm.models.message import MessageRule, MessageTemplate
from prm.models.patient import Patient
from prm.models.types import utcnow
from prm.models.worklist import FollowUpRule, ItemStatus, Priority, RuleSetting, WorklistItem

_sequence = itertools.count(1)


def _saved(session: Session, row):
    session.add(row)
    session.commit()
    return row


def make_clinic(session: Session, **overrides) -> Clinic:
    n = next(_sequence)
    values = {"code": f"CLINIC{n}", "name_th": f"คลินิก {n}", "name_en": f"Clinic {n}"}
    return _saved(session, Clinic(**{**values, **overrides}))


def make_clinician(session: Session, *, clinic: Clinic | None = None, **overrides
                   ) -> Clinician:
    n = next(_sequence)
    values = {"name_th": f"นพ. ทดสอบ {n}", "name_en": f"Dr Test {n}",
              "clinic_id": clinic.id if clinic else None}
    return _saved(session, Clinician(**{**values, **overrides}))


def make_appointment(session: Session, *, patient: Patient, clinic: Clinic | None = None,
                     starts_at: datetime | None = None,
                     status: AppointmentStatus = AppointmentStatus.booked,
                     **overrides) -> Appointment:
    """An appointment row (tomorrow, booked, in a new clinic unless given)."""
    clinic = clinic or make_clinic(session)
    values = {"patient_id": patient.id, "clinic_id": clinic.id,
              "starts_at": starts_at or utcnow() + timedelta(days=1), "status": status}
    return _saved(session, Appointment(**{**values, **overrides}))


def make_encounter(session: Session, *, patient: Patient,
                   encounter_class: EncounterClass = EncounterClass.outpatient,
                   started_at: datetime | None = None, **overrides) -> Encounter:
    values = {"encounter_class": encounter_class,
              "started_at": started_at or utcnow() - timedelta(days=1)}
    return _saved(session, Encounter(patient_id=patient.id, **{**values, **overrides}))


def make_discharge(session: Session, *, patient: Patient, discharged_at: datetime,
                   **overrides) -> Encounter:
    """An inpatient stay of four days that ended at ``discharged_at``."""
    values = {"started_at": discharged_at - timedelta(days=4), "discharged_at": discharged_at,
              "discharge_disposition": "home"}
    return make_encounter(session, patient=patient, encounter_class=EncounterClass.inpatient,
                          **{**values, **overrides})


def make_medication_order(session: Session, *, patient: Patient,
                          ordered_at: datetime | None = None, **overrides) -> MedicationOrder:
    """An active 30-day order with refills; next pickup is due when the supply runs out
    unless ``next_pickup_due`` is given."""
    values = {"medication": "Metformin 500 mg", "instructions": "1 tab twice daily",
              "ordered_at": ordered_at or utcnow(), "supply_days": 30,
              "refills_remaining": 3}
    values = {**values, **overrides}
    values.setdefault("next_pickup_due",
                      (values["ordered_at"] + timedelta(days=values["supply_days"])).date())
    return _saved(session, MedicationOrder(patient_id=patient.id, **values))


def make_dispense(session: Session, *, order: MedicationOrder,
                  prepared_at: datetime | None = None,
                  status: DispenseStatus = DispenseStatus.prepared) -> MedicationDispense:
    """A dispense prepared at the pharmacy (and waiting, unless ``status`` says otherwise)."""
    return _saved(session, MedicationDispense(
        order_id=order.id, patient_id=order.patient_id, status=status,
        prepared_at=prepared_at or utcnow()))


def collect(session: Session, dispense: MedicationDispense, *, at: datetime) -> None:
    """The pharmacy's records say the patient collected: the dispense handed over and the
    order's next pickup a supply later, as the FHIR ingest writes them."""
    order = session.get(MedicationOrder, dispense.order_id)
    dispense.status, dispense.handed_over_at = DispenseStatus.handed_over, at
    order.next_pickup_due = at.date() + timedelta(days=order.supply_days)
    session.add_all([dispense, order])
    session.commit()


def make_lab_result(session: Session, *, patient: Patient,
                    interpretation: Interpretation = Interpretation.high,
                    released_at: datetime | None = None, **overrides) -> LabResult:
    """A final, released, unacknowledged result (HbA1c high by default)."""
    values = {"test_code": "4548-4", "test_name": "HbA1c", "value": "8.1", "unit": "%",
              "reference_range": "4.0-6.0", "interpretation": interpretation,
              "status": "final", "released_at": released_at or utcnow()}
    return _saved(session, LabResult(patient_id=patient.id, **{**values, **overrides}))


def make_worklist_item(session: Session, *, patient: Patient,
                       rule: FollowUpRule = FollowUpRule.no_show,
                       due_at: datetime | None = None, **overrides) -> WorklistItem:
    """An open item as a rule would have made it, with a cause nobody else uses."""
    n = next(_sequence)
    values = {"rule": rule, "cause_key": f"test:{n}", "cause_id": n, "patient_id": patient.id,
              "segment_code": patient.segment_code, "priority": Priority.normal,
              "due_at": due_at or utcnow(), "status": ItemStatus.open}
    return _saved(session, WorklistItem(**{**values, **overrides}))


def _migration(name: str):
    path = Path(__file__).parent.parent / "alembic" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_prm_migration_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RULE_DEFAULTS = list(_migration("0002_care_and_worklists").RULE_DEFAULTS)
SEGMENT_RULE_DEFAULTS = list(_migration("0003_hospital_records_integration")
                             .DEFAULT_SEGMENT_RULES)
_MESSAGING = _migration("0009_sms_messaging")
MESSAGE_RULE_DEFAULTS = list(_MESSAGING.MESSAGE_RULE_DEFAULTS)
TEMPLATE_DEFAULTS = list(_MESSAGING.TEMPLATE_DEFAULTS)


def reset_rule_settings(session: Session) -> None:
    """Put ``rule_setting`` back to exactly what the migration seeds.

    Needed on PostgreSQL: tests/conftest.py empties every table but alembic_version and
    segment after each test, which takes the seeded rule settings with it (and keeping
    them would leak one test's tuning into the next).
    """
    session.exec(delete(RuleSetting))
    for rule, threshold in RULE_DEFAULTS:
        session.add(RuleSetting(rule=rule, enabled=True, threshold=threshold, segments=[]))
    # Likewise the payer → segment rules the integration migration seeds.
    session.exec(delete(SegmentRule))
    for index, (kind, pattern, segment, note) in enumerate(SEGMENT_RULE_DEFAULTS):
        session.add(SegmentRule(position=(index + 1) * 10, kind=kind, pattern=pattern,
                                segment_code=segment, note=note, active=True))
    # And the messaging rules and templates (migration 0009).
    session.exec(delete(MessageTemplate))
    session.exec(delete(MessageRule))
    for code, offsets in MESSAGE_RULE_DEFAULTS:
        session.add(MessageRule(code=code, enabled=True, offsets_hours=offsets))
    for rule, variant, thai, english in TEMPLATE_DEFAULTS:
        for language, body in (("th", thai), ("en", english)):
            session.add(MessageTemplate(rule=rule, language=language, variant=variant,
                                        body=body))
    session.commit()
