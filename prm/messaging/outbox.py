"""The outbox: every SMS PRM sends is first a row here.

A message is planned in the transaction of the change that caused it (a booking, a
follow-up item, a patient's reply, a nurse pressing "send"), so it exists exactly when
that change does. The dispatcher sends due rows later; nothing here calls a provider.
Rule messages are planned set-based by the planner (one INSERT … SELECT per rule); this
module puts in the single ones.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from prm.models.message import MessageStatus, OutboundMessage
from prm.models.patient import Patient
from prm.models.types import utcnow


def enqueue(session: Session, *, patient: Patient, rule: str, send_at: datetime | None = None,
            body: str = "", subject_type: str = "", subject_id: int | None = None,
            clinic_id: int | None = None, worklist_item_id: int | None = None,
            expects_answer: bool = False, actor_id: int | None = None) -> OutboundMessage:
    """A message for one patient, due at ``send_at`` (now by default). ``body`` is the
    text when it is already written (staff messages, answers to a reply); empty, the
    rule's template is rendered when it is sent. Flushes; the caller commits."""
    message = OutboundMessage(
        patient_id=patient.id, rule=rule, status=MessageStatus.planned,
        send_at=send_at or utcnow(), body=body, subject_type=subject_type,
        subject_id=subject_id, clinic_id=clinic_id, worklist_item_id=worklist_item_id,
        segment_code=patient.segment_code, language=patient.preferred_language,
        expects_answer=expects_answer, created_by_user_id=actor_id,
    )
    session.add(message)
    session.flush()
    return message
