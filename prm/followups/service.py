"""Working the follow-up lists: claiming, attempts, snooze, close (what is in each
queue: prm.followups.queues).

A claim is one conditional UPDATE, so when two staff click "claim" on the same item at
the same moment exactly one wins, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from prm import timeline
from prm.audit import service as audit
from prm.audit.service import Actor
from prm.auth.service import StaffMember
from prm.care import appointments as appointment_desk
from prm.care import records
from prm.config import get_settings
from prm.errors import Conflict, NotFound, ValidationFailed
from prm.followups import labels, queues
from prm.formatting import format_datetime
from prm.i18n import _
from prm.models.audit import AuditAction
from prm.models.care import Appointment, LabResult
from prm.models.patient import Patient
from prm.models.staff import User
from prm.models.types import utcnow
from prm.models.worklist import (
    AttemptOutcome,
    FollowUpRule,
    ItemStatus,
    Priority,
    RuleSetting,
    WorklistAttempt,
    WorklistItem,
)

# A claim nobody acted on for this long may be taken over by someone else.
CLAIM_TIMEOUT = timedelta(hours=2)
CLOSING_OUTCOMES = {
    AttemptOutcome.reached, AttemptOutcome.agreed_to_visit, AttemptOutcome.rebooked,
    AttemptOutcome.refused, AttemptOutcome.moved_elsewhere, AttemptOutcome.deceased,
}
# Outcomes that mean the patient now knows about their abnormal result.
INFORMED_OUTCOMES = {AttemptOutcome.reached, AttemptOutcome.agreed_to_visit,
                     AttemptOutcome.rebooked}
# Outcomes after which the item is held back for the rule's retry_minutes, so that a
# colleague does not call again a minute later. A wrong number too: the next try should
# be on another number, after someone has looked for one, not the same number at once.
RETRY_OUTCOMES = {AttemptOutcome.no_answer, AttemptOutcome.wrong_number}
DEFAULT_RETRY = timedelta(minutes=120)  # a rule without a setting row


def attempt_title(data: dict) -> str:
    """How a follow-up attempt reads on the timeline (kind ``followup_attempt``)."""
    rule = labels.rule_labels().get(data.get("rule", ""), "")
    outcome = labels.outcome_labels().get(data.get("outcome", ""), "")
    return _("Follow-up call (%(rule)s): %(outcome)s", rule=rule, outcome=outcome)


def get_item(session: Session, item_id: int) -> WorklistItem:
    item = session.get(WorklistItem, item_id)
    if item is None:
        raise NotFound(_("No such worklist item."))
    return item


def open_item(session: Session, item_id: int, *, actor: Actor) -> WorklistItem:
    """Load an item for its outcome form, which shows the patient's phone and the cause
    (a lab value, a missed pickup): audited like any record view. The caller commits."""
    item = get_item(session, item_id)
    audit.record(session, actor=actor, action=AuditAction.view, entity_type="worklist_item",
                 entity_id=item.id, patient_id=item.patient_id)
    return item


def claim(session: Session, *, item: WorklistItem, user: StaffMember, now: datetime | None = None,
          from_list: bool = False) -> WorklistItem:
    """Take the item. ``from_list``: only if the queues would show it now (not held back
    after a call), so a list loaded before a colleague's call cannot start another one;
    working the item from its own page (a patient who calls back) may. Raises Conflict
    when someone else holds it, it is closed, or (from the list) it is held back."""
    now = now or utcnow()
    result = session.execute(
        update(WorklistItem)
        .where(WorklistItem.id == item.id, WorklistItem.status != ItemStatus.closed,
               *([queues.due_now(now)] if from_list else []),
               or_(col(WorklistItem.claimed_by_user_id).is_(None),
                   WorklistItem.claimed_by_user_id == user.id,
                   WorklistItem.claimed_at < now - CLAIM_TIMEOUT))
        .values(claimed_by_user_id=user.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    session.refresh(item)
    if result.rowcount != 1:
        raise Conflict(_claim_refusal(session, item, now))
    return item


def _claim_refusal(session: Session, item: WorklistItem, now: datetime) -> str:
    if item.status == ItemStatus.closed:
        return _("This item was closed in the meantime.")
    if (back := queues.back_at(item, now)) is not None:
        return _("Someone tried this call just now: it is back on the list at %(when)s.",
                 when=format_datetime(back, get_settings().tz))
    holder = session.get(User, item.claimed_by_user_id) if item.claimed_by_user_id else None
    name = (holder.full_name or holder.username) if holder else _("someone else")
    return _("%(name)s is already working on this item.", name=name)


def take(session: Session, *, item: WorklistItem, user: StaffMember, actor: Actor
         ) -> WorklistItem:
    """Staff claim an item from the list: ``claim``, audited, since the answer shows the
    patient's row again (name, HN, phone). Raises Conflict as ``claim`` does."""
    claim(session, item=item, user=user, from_list=True)
    _audit_claim(session, item=item, actor=actor, detail="claimed")
    return item


def hand_back(session: Session, *, item: WorklistItem, user: StaffMember, actor: Actor) -> None:
    """Staff give an item back to the list: ``release``, audited like ``take``."""
    release(session, item=item, user=user)
    _audit_claim(session, item=item, actor=actor, detail="released")


def _audit_claim(session: Session, *, item: WorklistItem, actor: Actor, detail: str) -> None:
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="worklist_item",
                 entity_id=item.id, patient_id=item.patient_id, detail=detail)


def release(session: Session, *, item: WorklistItem, user: StaffMember) -> None:
    if item.claimed_by_user_id == user.id:
        item.claimed_by_user_id = None
        item.claimed_at = None
        session.add(item)
        session.flush()


@dataclass
class Rebooking:
    clinic_id: int | None
    starts_at: datetime | None
    clinician_id: int | None = None


def record_attempt(
    session: Session, *, item: WorklistItem, user: StaffMember, actor: Actor, outcome: str,
    note: str = "", rebooking: Rebooking | None = None, call_back_at: datetime | None = None,
    now: datetime | None = None,
) -> WorklistAttempt:
    """Record one contact attempt and do what its outcome means.

    rebooked → books the new appointment (errors name the field) and closes the item;
    call_back_later → needs a time, snoozes until then; no answer / wrong number → held
    back (snoozed) for the rule's ``retry_minutes``, then back for the next try; other
    final outcomes close the item. Raises ValidationFailed, Conflict (someone else holds
    the item).
    """
    now = now or utcnow()
    outcome = _valid_outcome(outcome, rebooking, call_back_at, now)
    claim(session, item=item, user=user, now=now)
    patient = session.get(Patient, item.patient_id)
    new_appointment = _rebook(session, patient, item, rebooking, actor) \
        if outcome == AttemptOutcome.rebooked else None
    attempt = WorklistAttempt(
        item_id=item.id, patient_id=item.patient_id, attempted_at=now, outcome=outcome,
        note=note.strip(), call_back_at=call_back_at, staff_user_id=user.id,
        new_appointment_id=new_appointment.id if new_appointment else None,
    )
    session.add(attempt)
    session.flush()
    _apply_outcome(session, item, patient, outcome, call_back_at, actor, now)
    timeline.record(session, patient=patient, kind="followup_attempt", actor=actor,
                    data={"rule": item.rule, "outcome": outcome}, body=attempt.note,
                    occurred_at=now, ref_type="worklist_attempt", ref_id=attempt.id)
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="worklist_item",
                 entity_id=item.id, patient_id=item.patient_id, detail=outcome)
    return attempt


def _valid_outcome(outcome, rebooking, call_back_at, now) -> AttemptOutcome:
    if outcome not in AttemptOutcome.__members__:
        message = _("Choose what happened.")
        raise ValidationFailed(message, field_errors={"outcome": message})
    if outcome == AttemptOutcome.call_back_later and (call_back_at is None or
                                                      call_back_at <= now):
        message = _("Give a time in the future to call back.")
        raise ValidationFailed(message, field_errors={"call_back_at": message})
    if outcome == AttemptOutcome.rebooked and rebooking is None:
        message = _("Choose the clinic and time of the new appointment.")
        raise ValidationFailed(message, field_errors={"starts_at": message})
    return AttemptOutcome(outcome)


def _rebook(session, patient, item, rebooking: Rebooking, actor) -> Appointment:
    follow_up_of = item.cause_id if item.rule == FollowUpRule.discharge_appointment else None
    return appointment_desk.book(
        session, patient=patient, clinic_id=rebooking.clinic_id,
        starts_at=rebooking.starts_at, clinician_id=rebooking.clinician_id, actor=actor,
        reason=labels.rule_labels().get(item.rule, ""), booked_via="worklist",
        follow_up_of_encounter_id=follow_up_of,
    )


def _apply_outcome(session, item, patient, outcome, call_back_at, actor, now) -> None:
    if item.rule == FollowUpRule.abnormal_lab and outcome in INFORMED_OUTCOMES:
        lab = session.get(LabResult, item.cause_id)
        if lab is not None:
            records.acknowledge_lab(session, result=lab, actor=actor)
    if outcome == AttemptOutcome.deceased:
        _record_death(session, patient, now)
    if outcome in CLOSING_OUTCOMES:
        _close_item(item, outcome.value, now)
    elif outcome == AttemptOutcome.call_back_later:
        item.status, item.snoozed_until = ItemStatus.snoozed, call_back_at
        item.claimed_by_user_id = item.claimed_at = None
    else:  # no answer, wrong number: back for the next person to try, after a while
        item.status, item.snoozed_until = ItemStatus.snoozed, now + retry_interval(
            session, rule=item.rule)
        item.claimed_by_user_id = item.claimed_at = None
    session.add(item)
    session.flush()


def retry_interval(session: Session, *, rule: str) -> timedelta:
    """How long an item of ``rule`` stays off the lists after no answer (/admin/rules)."""
    setting = session.get(RuleSetting, rule)
    return timedelta(minutes=setting.retry_minutes) if setting else DEFAULT_RETRY


def _close_item(item: WorklistItem, reason: str, now: datetime) -> None:
    item.status, item.closed_at, item.close_reason = ItemStatus.closed, now, reason
    item.claimed_by_user_id = None


def _record_death(session: Session, patient: Patient, now: datetime) -> None:
    """A relative told us: no more calls to this patient from any list."""
    patient.deceased, patient.deceased_at = True, patient.deceased_at or now
    session.add(patient)
    session.execute(
        update(WorklistItem)
        .where(WorklistItem.patient_id == patient.id,
               col(WorklistItem.status).in_([ItemStatus.open, ItemStatus.snoozed]))
        .values(status=ItemStatus.closed, closed_at=now, close_reason="deceased",
                claimed_by_user_id=None)
        .execution_options(synchronize_session=False))


def snooze(session: Session, *, item: WorklistItem, user: StaffMember, until: datetime | None,
           actor: Actor, now: datetime | None = None) -> None:
    now = now or utcnow()
    if until is None or until <= now:
        message = _("Give a time in the future.")
        raise ValidationFailed(message, field_errors={"snooze_until": message})
    claim(session, item=item, user=user, now=now)
    item.status, item.snoozed_until = ItemStatus.snoozed, until
    item.claimed_by_user_id = item.claimed_at = None
    session.add(item)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="worklist_item",
                 entity_id=item.id, patient_id=item.patient_id, detail="snoozed")


def close(session: Session, *, item: WorklistItem, user: StaffMember, actor: Actor,
          now: datetime | None = None) -> None:
    now = now or utcnow()
    claim(session, item=item, user=user, now=now)
    _close_item(item, "closed_by_staff", now)
    session.add(item)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="worklist_item",
                 entity_id=item.id, patient_id=item.patient_id, detail="closed")


def attempts(session: Session, *, item: WorklistItem) -> list[WorklistAttempt]:
    return list(session.exec(select(WorklistAttempt).where(WorklistAttempt.item_id == item.id)
                             .order_by(col(WorklistAttempt.attempted_at).desc())))


def open_items_for_patient(session: Session, *, patient: Patient) -> list[WorklistItem]:
    return list(session.exec(
        select(WorklistItem).where(WorklistItem.patient_id == patient.id,
                                   col(WorklistItem.status).in_([ItemStatus.open,
                                                                 ItemStatus.snoozed]))
        .order_by(col(WorklistItem.priority))))


def rule_settings(session: Session) -> list[RuleSetting]:
    order = [rule.value for rule in FollowUpRule]
    settings = session.exec(select(RuleSetting)).all()
    return sorted(settings, key=lambda s: order.index(s.rule) if s.rule in order else 99)


def update_rule_setting(session: Session, *, rule: str, enabled: bool, threshold: int,
                        segments: list[str], known_segments: set[str], actor: Actor,
                        retry_minutes: int | None = None) -> RuleSetting:
    """Save one rule's settings; ``retry_minutes`` None keeps the stored interval."""
    setting = session.get(RuleSetting, rule)
    if setting is None:
        raise NotFound(_("No such rule."))
    setting.enabled = enabled
    setting.threshold = threshold
    if retry_minutes is not None:
        setting.retry_minutes = retry_minutes
    setting.segments = [s for s in segments if s in known_segments]
    session.add(setting)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="rule_setting",
                 entity_id=rule, detail=f"enabled={enabled} threshold={threshold} "
                                        f"retry_minutes={setting.retry_minutes}")
    return setting


def priority_choices() -> list[tuple[str, str]]:
    return [(p.value, labels.priority_labels()[p]) for p in Priority]
