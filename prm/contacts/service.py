"""Logging a contact with a patient: calls in and out, walk-ins, LINE messages."""

from __future__ import annotations

from sqlmodel import Session

from prm import timeline
from prm.audit import service as audit
from prm.audit.service import Actor
from prm.contacts import labels
from prm.errors import ValidationFailed
from prm.i18n import _
from prm.models.audit import AuditAction
from prm.models.contact import ContactChannel, ContactLog, ContactOutcome, ContactReason
from prm.models.patient import Patient


def _contact_title(data: dict) -> str:
    channel = labels.channel_labels().get(data.get("channel", ""), data.get("channel", ""))
    reason = labels.reason_labels().get(data.get("reason", ""), "")
    outcome = labels.outcome_labels().get(data.get("outcome", ""), "")
    return f"{channel} · {reason} → {outcome}"


timeline.register_group("contacts", lambda: _("Contacts"))
timeline.register_kind("contact", group="contacts", icon="☎", title=_contact_title)


def log_contact(
    session: Session, *, patient: Patient, channel: str, reason: str, outcome: str,
    note: str = "", actor: Actor,
) -> ContactLog:
    """Record a contact and put it on the timeline. Raises ValidationFailed."""
    errors = {}
    for name, value, enum in (("channel", channel, ContactChannel),
                              ("reason", reason, ContactReason),
                              ("outcome", outcome, ContactOutcome)):
        if value not in enum.__members__:
            errors[name] = _("Choose one of the options.")
    if len(note) > 4000:
        errors["note"] = _("Too long.")
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    contact = ContactLog(
        patient_id=patient.id, channel=ContactChannel(channel), reason=ContactReason(reason),
        outcome=ContactOutcome(outcome), note=note.strip(), staff_user_id=actor.user_id,
    )
    session.add(contact)
    session.flush()
    timeline.record(
        session, patient=patient, kind="contact", actor=actor, body=contact.note,
        data={"channel": channel, "reason": reason, "outcome": outcome},
        occurred_at=contact.occurred_at, ref_type="contact", ref_id=contact.id,
    )
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="contact",
                 entity_id=contact.id, patient_id=patient.id)
    return contact
