"""The appointments desk: book, confirm, check in, no-show, cancel, reschedule.

Every change writes an AppointmentChange row (the history) in the same transaction.
A clinician's slot holds one patient; the database enforces it too, so two clerks
booking the same slot at once cannot both succeed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, insert, literal, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from prm.audit import service as audit
from prm.audit.service import Actor
from prm.errors import Conflict, NotFound, ValidationFailed
from prm.forms import column_limit
from prm.i18n import _
from prm.models.audit import AuditAction
from prm.models.care import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    AppointmentChange,
    AppointmentStatus,
    Clinic,
    Clinician,
)
from prm.models.patient import Patient
from prm.models.types import UTCDateTime, utcnow

REASON_LIMIT = column_limit(Appointment, "reason")
# Statuses whose booking holds the clinician's time: cancelled and no-show slots are free
# again (the unique index on a clinician's slot says the same).
SLOT_HOLDING_STATUSES = (*ACTIVE_APPOINTMENT_STATUSES, AppointmentStatus.arrived,
                         AppointmentStatus.fulfilled)
# The longest booking the desk takes: one that started this long before a time cannot
# reach it, so the search for clashes looks no further back.
LONGEST_BOOKING_MINUTES = 480


class HistoryReason(StrEnum):
    """The reasons the desk writes into an appointment's history itself (staff type the
    others). Stored as these texts, as they always were; pages show their words
    (``prm.care.labels.history_reason``)."""

    rescheduled = "rescheduled"
    no_check_in = "no check-in (automatic)"


# Which status may follow which; anything else is refused with a clear message.
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    # Awaiting confirmation: the patient may still come, or not, like a booked one.
    AppointmentStatus.proposed: {"booked", "confirmed", "arrived", "cancelled", "noshow"},
    AppointmentStatus.booked: {"confirmed", "arrived", "cancelled", "noshow"},
    AppointmentStatus.confirmed: {"arrived", "cancelled", "noshow", "booked"},
    AppointmentStatus.arrived: {"fulfilled", "cancelled"},
    AppointmentStatus.noshow: {"arrived"},  # came late after all
    AppointmentStatus.fulfilled: set(),
    AppointmentStatus.cancelled: set(),
}


def time_refusal(appointment: Appointment, to_status: str, *, now: datetime,
                 tz: ZoneInfo) -> str:
    """Why the clock does not allow ``to_status`` yet (or any more), or "" when it does.

    A patient arrives on the day of the appointment, in the hospital's time zone, and not
    on another; a no-show is only known once the slot is over. The desk offers only what
    this allows, and ``change_status`` refuses the rest."""
    day = appointment.starts_at.astimezone(tz).date()
    if to_status == AppointmentStatus.arrived and day != now.astimezone(tz).date():
        return _("A patient can be checked in only on the day of the appointment.")
    slot_end = appointment.starts_at + timedelta(minutes=appointment.minutes)
    if to_status == AppointmentStatus.noshow and now < slot_end:
        return _("A no-show can be recorded only after the appointment's time is over.")
    return ""


def allowed_changes(appointment: Appointment, *, now: datetime, tz: ZoneInfo) -> set[str]:
    """The statuses ``appointment`` may move to now: the transitions the clock allows."""
    return {to for to in ALLOWED_TRANSITIONS[appointment.status]
            if not time_refusal(appointment, to, now=now, tz=tz)}


def get_appointment(session: Session, appointment_id: int) -> Appointment:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound(_("No such appointment."))
    return appointment


def open_appointment(session: Session, appointment_id: int, *, actor: Actor) -> Appointment:
    """Load an appointment for display and write the audit row every record view needs
    (the caller commits)."""
    appointment = get_appointment(session, appointment_id)
    audit.record(session, actor=actor, action=AuditAction.view, entity_type="appointment",
                 entity_id=appointment.id, patient_id=appointment.patient_id)
    return appointment


def record_day_shown(session: Session, *, day: date, clinic_id: int, page: int,
                     patient_ids: list[int], actor: Actor) -> None:
    """Audit a page of a clinic's day (names and HNs of the patients booked): one row per
    patient shown, with the day, clinic and page; an empty page writes nothing. The
    caller commits."""
    if patient_ids:
        audit.record_shown(session, actor=actor, action=AuditAction.listing,
                           entity_type="appointment_day", patient_ids=patient_ids,
                           day=day.isoformat(), clinic=clinic_id, page=page)


def record_booking_form(session: Session, *, patient: Patient, actor: Actor) -> None:
    """The booking form for a patient shows who they are: audited as a view of them.
    The caller commits."""
    audit.record(session, actor=actor, action=AuditAction.view, entity_type="booking_form",
                 entity_id=patient.id, patient_id=patient.id)


def book(
    session: Session, *, patient: Patient, clinic_id: int | None, starts_at: datetime | None,
    actor: Actor, clinician_id: int | None = None, minutes: int = 15, reason: str = "",
    follow_up_of_encounter_id: int | None = None, booked_via: str = "desk",
    status: AppointmentStatus = AppointmentStatus.booked,
) -> Appointment:
    """Book a slot. Raises ValidationFailed (missing/invalid fields) or Conflict (taken)."""
    _validate_booking(session, clinic_id, clinician_id, starts_at, minutes)
    _refuse_too_long(reason=reason)
    _refuse_double_booking(session, clinician_id, starts_at, minutes, exclude_id=None)
    appointment = Appointment(
        patient_id=patient.id, clinic_id=clinic_id, clinician_id=clinician_id,
        starts_at=starts_at, minutes=minutes, status=status, reason=reason.strip(),
        follow_up_of_encounter_id=follow_up_of_encounter_id, booked_via=booked_via,
        created_by_user_id=actor.user_id,
    )
    session.add(appointment)
    _flush_slot(session)
    _history(session, appointment, "", status, None, starts_at, "", actor)
    audit.record(session, actor=actor, action=AuditAction.create, entity_type="appointment",
                 entity_id=appointment.id, patient_id=patient.id)
    return appointment


def _validate_booking(session, clinic_id, clinician_id, starts_at, minutes) -> None:
    errors = {}
    if not clinic_id or session.get(Clinic, clinic_id) is None:
        errors["clinic_id"] = _("Choose a clinic.")
    if clinician_id:
        clinician = session.get(Clinician, clinician_id)
        if clinician is None or not clinician.active:
            errors["clinician_id"] = _("Choose one of the options.")
    if starts_at is None:
        errors["starts_at"] = _("Choose a date and time.")
    elif starts_at < utcnow() - timedelta(days=1):
        errors["starts_at"] = _("That time is in the past.")
    if not 5 <= minutes <= LONGEST_BOOKING_MINUTES:
        errors["minutes"] = _("Between 5 and 480 minutes.")
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)


def _refuse_too_long(**texts: str) -> None:
    """A reason longer than its column is refused, never cut (forms check it first; this
    guards the other callers)."""
    errors = {name: _("At most %(n)s characters.", n=REASON_LIMIT)
              for name, text in texts.items() if len(text.strip()) > REASON_LIMIT}
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)


def held_times(session, *, clinician_id: int, starts: datetime, ends: datetime,
                exclude_id: int | None = None) -> list[tuple[datetime, datetime]]:
    """(start, end) of the clinician's bookings that hold time within [starts, ends):
    one query, for a booking's clash check or a whole day's (or fortnight's) slots."""
    rows = session.exec(
        select(Appointment.id, Appointment.starts_at, Appointment.minutes).where(
            Appointment.clinician_id == clinician_id,
            col(Appointment.status).in_(SLOT_HOLDING_STATUSES),
            Appointment.starts_at < ends,
            Appointment.starts_at > starts - timedelta(minutes=LONGEST_BOOKING_MINUTES),
        )
    ).all()
    held = [(start, start + timedelta(minutes=minutes)) for row_id, start, minutes in rows
            if row_id != exclude_id]
    return [(start, end) for start, end in held if end > starts]


def clashes(starts_at: datetime, minutes: int, held: list[tuple[datetime, datetime]]) -> bool:
    """The clash rule, the only one: a booking clashes when it overlaps a held time (one
    that ends as it starts, or starts as it ends, does not)."""
    ends_at = starts_at + timedelta(minutes=minutes)
    return any(start < ends_at and end > starts_at for start, end in held)


def _refuse_double_booking(session, clinician_id, starts_at, minutes, exclude_id) -> None:
    """Refuse an overlapping slot of the same clinician (a booking without a clinician
    holds nobody's time)."""
    if not clinician_id:
        return
    held = held_times(session, clinician_id=clinician_id, starts=starts_at,
                       ends=starts_at + timedelta(minutes=minutes), exclude_id=exclude_id)
    if clashes(starts_at, minutes, held):
        message = _("This clinician already has a patient at that time. Choose another "
                    "time or clinician.")
        raise Conflict(message, field_errors={"starts_at": message})


def _flush_slot(session: Session) -> None:
    """Flush; a unique-slot violation (a booking that raced ours) becomes a Conflict."""
    try:
        session.flush()
    except IntegrityError as error:
        session.rollback()
        message = _("Someone booked this slot a moment ago. Choose another time.")
        raise Conflict(message, field_errors={"starts_at": message}) from error


def _history(session, appointment, from_status, to_status, from_start, to_start, reason,
             actor: Actor) -> None:
    session.add(AppointmentChange(
        appointment_id=appointment.id, from_status=from_status, to_status=to_status,
        from_starts_at=from_start, to_starts_at=to_start, reason=reason.strip(),
        actor_user_id=actor.user_id,
    ))
    session.flush()


def change_status(
    session: Session, *, appointment: Appointment, to_status: str, actor: Actor, tz: ZoneInfo,
    reason: str = "", now: datetime | None = None,
) -> Appointment:
    """Move along the allowed transitions, when the clock allows them (``time_refusal``).
    Cancelling needs a reason."""
    now = now or utcnow()
    if to_status not in AppointmentStatus.__members__:
        raise ValidationFailed(_("Choose one of the options."))
    if to_status not in ALLOWED_TRANSITIONS[appointment.status]:
        raise Conflict(_("An appointment that is %(status)s cannot become %(to)s.",
                         status=appointment.status, to=to_status))
    refusal = time_refusal(appointment, to_status, now=now, tz=tz)
    if refusal:
        raise Conflict(refusal)
    if to_status == AppointmentStatus.cancelled and not reason.strip():
        message = _("Say why the appointment is cancelled.")
        raise ValidationFailed(message, field_errors={"cancel_reason": message})
    _refuse_too_long(cancel_reason=reason)
    from_status = appointment.status
    appointment.status = AppointmentStatus(to_status)
    if to_status == AppointmentStatus.arrived:
        appointment.checked_in_at = now
    if to_status == AppointmentStatus.cancelled:
        appointment.cancel_reason = reason.strip()
    appointment.updated_at = utcnow()
    session.add(appointment)
    session.flush()
    _history(session, appointment, from_status, to_status, None, None, reason, actor)
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="appointment",
                 entity_id=appointment.id, patient_id=appointment.patient_id,
                 detail=f"{from_status}->{to_status}")
    return appointment


def reschedule(
    session: Session, *, appointment: Appointment, starts_at: datetime | None, actor: Actor,
    clinician_id: int | None = None, reason: str = "",
) -> Appointment:
    """Move to a new time (and optionally clinician); the old time stays in the history."""
    if appointment.status not in ACTIVE_APPOINTMENT_STATUSES and \
            appointment.status != AppointmentStatus.noshow:
        raise Conflict(_("Only an upcoming or missed appointment can be rescheduled."))
    clinician_id = clinician_id or appointment.clinician_id
    _validate_booking(session, appointment.clinic_id, clinician_id, starts_at,
                      appointment.minutes)
    _refuse_too_long(reason=reason)
    _refuse_double_booking(session, clinician_id, starts_at, appointment.minutes,
                           exclude_id=appointment.id)
    from_start, from_status = appointment.starts_at, appointment.status
    appointment.starts_at, appointment.clinician_id = starts_at, clinician_id
    appointment.status = AppointmentStatus.booked
    appointment.updated_at = utcnow()
    session.add(appointment)
    _flush_slot(session)
    _history(session, appointment, from_status, AppointmentStatus.booked, from_start,
             starts_at, reason or HistoryReason.rescheduled, actor)
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="appointment",
                 entity_id=appointment.id, patient_id=appointment.patient_id,
                 detail=HistoryReason.rescheduled)
    return appointment


def history(session: Session, *, appointment: Appointment) -> list[AppointmentChange]:
    return list(session.exec(
        select(AppointmentChange).where(AppointmentChange.appointment_id == appointment.id)
        .order_by(col(AppointmentChange.changed_at), col(AppointmentChange.id))
    ))


def mark_overdue_no_shows(session: Session, *, grace_hours: int, now: datetime | None = None
                          ) -> int:
    """Set-based: appointments still waiting for the patient (awaiting confirmation,
    booked, confirmed) whose slot ended ``grace_hours`` ago with no check-in become
    no-shows, each with a history row. Returns how many."""
    now = now or utcnow()
    cutoff = now - timedelta(hours=grace_hours)
    overdue = and_(col(Appointment.status).in_(ACTIVE_APPOINTMENT_STATUSES),
        Appointment.starts_at < cutoff, Appointment.starts_at > cutoff - timedelta(days=30))
    session.execute(insert(AppointmentChange).from_select(
        ["appointment_id", "changed_at", "from_status", "to_status", "reason"],
        select(Appointment.id, _literal_time(now), Appointment.status, _text("noshow"),
               _text(HistoryReason.no_check_in)).where(overdue),
    ))
    result = session.execute(
        update(Appointment).where(overdue).values(status=AppointmentStatus.noshow,
                                                  updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return result.rowcount or 0


def _literal_time(value: datetime):
    return literal(value, UTCDateTime())


def _text(value: str):
    return literal(value, String())


def clinics(session: Session) -> list[Clinic]:
    return list(session.exec(select(Clinic).where(Clinic.active == True)  # noqa: E712
                             .order_by(Clinic.name_en)))


def clinicians(session: Session, *, clinic_id: int | None = None) -> list[Clinician]:
    query = select(Clinician).where(Clinician.active == True)  # noqa: E712
    if clinic_id:
        query = query.where(Clinician.clinic_id == clinic_id)
    return list(session.exec(query.order_by(Clinician.name_en)))
