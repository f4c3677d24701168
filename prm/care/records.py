"""Encounters, medication orders and dispenses, lab results: written by the FHIR ingest
(prm.ingest.care), read by the follow-up rules; staff act on a lab result here."""

from __future__ import annotations

from sqlmodel import Session

from prm.audit import service as audit
from prm.audit.service import Actor
from prm.models.audit import AuditAction
from prm.models.care import LabResult
from prm.models.types import utcnow


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
